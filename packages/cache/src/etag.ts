// Entity tags (RFC 9110 §8.8.3): parsing, strong and weak comparison, tags made from body
// bytes, and the per-coding tag that keeps gzip and identity from sharing a strong ETag.

import { createHash } from 'node:crypto'

/** A parsed entity tag. */
export interface EntityTag {
  readonly weak: boolean
  /** The opaque-tag including its quotes. */
  readonly opaque: string
}

function isEtagc(c: number): boolean {
  // etagc = %x21 / %x23-7E / obs-text
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff)
}

/** Parses one entity tag (`"x"` or `W/"x"`), or undefined when it is not one. */
export function parseEtag(value: string): EntityTag | undefined {
  const s = value.trim()
  const weak = s.startsWith('W/')
  const start = weak ? 2 : 0
  if (s.length < start + 2 || s.charCodeAt(start) !== 34 || s.charCodeAt(s.length - 1) !== 34)
    return undefined
  for (let i = start + 1; i < s.length - 1; i++) if (!isEtagc(s.charCodeAt(i))) return undefined
  return { weak, opaque: s.slice(start) }
}

/**
 * Parses an If-Match / If-None-Match list: `'*'` for the wildcard, else the valid tags in
 * order. Members that are not entity tags are skipped, never fatal.
 */
export function parseEtagList(value: string | string[] | undefined): '*' | EntityTag[] | undefined {
  if (value === undefined) return undefined
  const joined = typeof value === 'string' ? value : value.join(',')
  const out: EntityTag[] = []
  let i = 0
  const n = joined.length
  let sawStar = false
  while (i < n) {
    const c = joined.charCodeAt(i)
    if (c === 32 || c === 9 || c === 44) {
      i++
      continue
    }
    if (c === 42 /* * */) {
      sawStar = true
      i++
      continue
    }
    let start = i
    if (c === 87 /* W */ && joined.charCodeAt(i + 1) === 47 /* / */) i += 2
    if (joined.charCodeAt(i) === 34) {
      const close = joined.indexOf('"', i + 1)
      if (close === -1) break
      const tag = parseEtag(joined.slice(start, close + 1))
      if (tag !== undefined) out.push(tag)
      i = close + 1
      continue
    }
    // Not a tag: skip to the next comma.
    start = joined.indexOf(',', i)
    i = start === -1 ? n : start + 1
  }
  if (sawStar && out.length === 0) return '*'
  return out
}

/** Strong comparison: both tags strong and their opaque-tags equal. */
export function strongMatch(a: string | EntityTag, b: string | EntityTag): boolean {
  const x = typeof a === 'string' ? parseEtag(a) : a
  const y = typeof b === 'string' ? parseEtag(b) : b
  return x !== undefined && y !== undefined && !x.weak && !y.weak && x.opaque === y.opaque
}

/** Weak comparison: opaque-tags equal, whatever the W/ prefixes. */
export function weakMatch(a: string | EntityTag, b: string | EntityTag): boolean {
  const x = typeof a === 'string' ? parseEtag(a) : a
  const y = typeof b === 'string' ? parseEtag(b) : b
  return x !== undefined && y !== undefined && x.opaque === y.opaque
}

/** Options of {@link etag}. */
export interface EtagOptions {
  /** Make a weak tag (`W/"…"`). @defaultValue false */
  weak?: boolean
}

/**
 * A strong ETag computed from the representation's bytes: a SHA-1 of the body, base64url,
 * prefixed with the length in hex, so equal tags mean byte-identical bodies.
 */
export function etag(body: Uint8Array | string, options: EtagOptions = {}): string {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const hash = createHash('sha1').update(bytes).digest('base64url').slice(0, 27)
  const tag = `"${bytes.byteLength.toString(16)}-${hash}"`
  return options.weak === true ? `W/${tag}` : tag
}

/**
 * The ETag of a content-coded representation derived from the identity tag: the coding
 * is appended inside the quotes (`"abc"` + gzip → `"abc-gzip"`), so gzip and identity never
 * share a tag. It stays strong unless `weak` is set: set it when the encoder's output is
 * not byte-for-byte reproducible (another zlib level or version). Identity returns the tag.
 */
export function encodedEtag(tag: string, coding: string, options: EtagOptions = {}): string {
  const c = coding.trim().toLowerCase()
  if (c === '' || c === 'identity') return tag
  const parsed = parseEtag(tag)
  if (parsed === undefined) return tag
  const opaque = `${parsed.opaque.slice(0, -1)}-${c}"`
  return parsed.weak || options.weak === true ? `W/${opaque}` : opaque
}
