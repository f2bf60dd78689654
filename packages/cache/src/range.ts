// Byte ranges cut from a stored complete response (RFC 9110 §14): one range per request,
// in any of its three forms. Several ranges, other units and bad syntax are left to the origin.

/** A parsed `Range: bytes=…` with one range: `first-last`, `first-` or `-suffix`. */
export type ByteRange =
  | { readonly kind: 'from'; readonly first: number; readonly last: number | null }
  | { readonly kind: 'suffix'; readonly length: number }

function digitsOnly(s: string): number | null {
  if (s.length === 0 || s.length > 15) return null
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return null
    n = n * 10 + c
  }
  return n
}

/** The single byte range of a `Range` field, or null when it is anything else. */
export function parseRange(value: string | string[] | undefined): ByteRange | null {
  if (typeof value !== 'string') return null
  const v = value.trim()
  const eq = v.indexOf('=')
  if (eq === -1 || v.slice(0, eq).trim().toLowerCase() !== 'bytes') return null
  const spec = v.slice(eq + 1).trim()
  if (spec.includes(',')) return null
  const dash = spec.indexOf('-')
  if (dash === -1) return null
  const a = spec.slice(0, dash).trim()
  const b = spec.slice(dash + 1).trim()
  if (a === '') {
    const length = digitsOnly(b)
    return length === null || length === 0 ? null : { kind: 'suffix', length }
  }
  const first = digitsOnly(a)
  if (first === null) return null
  if (b === '') return { kind: 'from', first, last: null }
  const last = digitsOnly(b)
  return last === null || last < first ? null : { kind: 'from', first, last }
}

/** The inclusive byte offsets `range` selects in a body of `total` bytes; null when unsatisfiable. */
export function resolveRange(range: ByteRange, total: number): { start: number; end: number } | null {
  if (total === 0) return null
  if (range.kind === 'suffix') return { start: Math.max(0, total - range.length), end: total - 1 }
  if (range.first >= total) return null
  return { start: range.first, end: range.last === null ? total - 1 : Math.min(range.last, total - 1) }
}

/** Bytes [start, end) of a body kept as chunks, sharing their memory. */
export function sliceChunks(chunks: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = []
  let offset = 0
  for (const c of chunks) {
    const next = offset + c.length
    if (next > start && offset < end)
      out.push(c.subarray(Math.max(0, start - offset), Math.min(c.length, end - offset)))
    offset = next
    if (offset >= end) break
  }
  return out
}
