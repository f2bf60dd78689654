// Media types: the Content-Type check behind `consumes` (415) and the Accept negotiation
// behind `produces` (406, RFC 9110 §12.5.1). Patterns are compiled at attach time.

import { configError } from '../errors.js'

/** The essence (`type/subtype`, lower-case) and charset of a Content-Type header. */
export interface MediaType {
  readonly essence: string
  readonly charset: string | undefined
}

/** Parses a Content-Type value; undefined when it is not `type/subtype`. */
export function parseContentType(value: string): MediaType | undefined {
  const semi = value.indexOf(';')
  const essence = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  const slash = essence.indexOf('/')
  if (slash <= 0 || slash === essence.length - 1 || essence.indexOf('/', slash + 1) !== -1) return undefined
  let charset: string | undefined
  if (semi !== -1) {
    for (const param of value.slice(semi + 1).split(';')) {
      const eq = param.indexOf('=')
      if (eq === -1) continue
      if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue
      let v = param.slice(eq + 1).trim()
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1)
      charset = v.toLowerCase()
    }
  }
  return { essence, charset }
}

/** A compiled `consumes` list: true when a request media type essence is accepted. */
export type MediaMatcher = (essence: string) => boolean

function checkPattern(p: unknown, where: string): string {
  if (typeof p !== 'string')
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: media types are strings`)
  const m = p.trim().toLowerCase()
  const slash = m.indexOf('/')
  if (slash <= 0 || slash === m.length - 1 || m.includes(';') || m.includes(' ')) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: ${JSON.stringify(p)} is not a media type`)
  }
  return m
}

/** Compiles a `consumes` list (`application/json`, `text/*`, `*\/*`, `application/*+json`). */
export function compileMatcher(patterns: readonly unknown[], where: string): MediaMatcher {
  const exact = new Set<string>()
  const prefixes: string[] = []
  const suffixes: string[] = []
  let any = false
  for (const raw of patterns) {
    const p = checkPattern(raw, where)
    if (p === '*/*') any = true
    else if (p.endsWith('/*')) prefixes.push(p.slice(0, -1))
    else if (p.includes('/*+')) suffixes.push(p.slice(p.indexOf('/*+') + 2))
    else exact.add(p)
  }
  return (essence) => {
    if (any || exact.has(essence)) return true
    for (const pre of prefixes) if (essence.startsWith(pre)) return true
    for (const suf of suffixes) if (essence.endsWith(suf)) return true
    return false
  }
}

/** Validates and normalises a `produces` list. */
export function compileProduces(list: readonly unknown[], where: string): readonly string[] {
  if (list.length === 0) throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: produces is empty`)
  return list.map((p) => {
    const m = checkPattern(p, where)
    if (m.includes('*')) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: produces lists concrete types, got ${m}`)
    }
    return m
  })
}

interface Range {
  readonly type: string
  readonly subtype: string
  readonly q: number
}

function parseAccept(header: string): Range[] {
  const out: Range[] = []
  for (const part of header.split(',')) {
    const pieces = part.split(';')
    const mt = pieces[0]!.trim().toLowerCase()
    const slash = mt.indexOf('/')
    if (slash <= 0 || slash === mt.length - 1) continue
    let q = 1
    for (let i = 1; i < pieces.length; i++) {
      const p = pieces[i]!.trim()
      if (p.length > 2 && (p.charCodeAt(0) | 32) === 113 /* q */ && p.charCodeAt(1) === 61 /* = */) {
        const v = Number(p.slice(2))
        q = Number.isFinite(v) && v >= 0 && v <= 1 ? v : 0
      }
    }
    out.push({ type: mt.slice(0, slash), subtype: mt.slice(slash + 1), q })
  }
  return out
}

/**
 * The member of `produces` the `Accept` header prefers (the most specific matching range
 * gives each type its q; ties go to the earlier member), or undefined when none is acceptable.
 */
export function negotiate(accept: string, produces: readonly string[]): string | undefined {
  const ranges = parseAccept(accept)
  if (ranges.length === 0) return produces[0]
  let best: string | undefined
  let bestQ = 0
  for (const candidate of produces) {
    const slash = candidate.indexOf('/')
    const type = candidate.slice(0, slash)
    const subtype = candidate.slice(slash + 1)
    let specificity = -1
    let q = 0
    for (const r of ranges) {
      let s: number
      if (r.type === type && r.subtype === subtype) s = 2
      else if (r.type === type && r.subtype === '*') s = 1
      else if (r.type === '*' && r.subtype === '*') s = 0
      else continue
      if (s > specificity) {
        specificity = s
        q = r.q
      }
    }
    if (q > bestQ) {
      best = candidate
      bestQ = q
    }
  }
  return best
}
