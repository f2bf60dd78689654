// Cache-Control parsing for requests and responses (RFC 9111 §5.2): lenient on syntax,
// strict on meaning. Duplicates keep the first occurrence; an invalid delta-seconds makes
// max-age / s-maxage 0 (RFC 9111 §4.2.1 "consider ... invalid freshness information stale").

import { fieldValue, splitList } from './headers.js'

/** Parsed Cache-Control directives, with undici's key names so stored entries interoperate. */
export interface CacheControlDirectives {
  'max-age'?: number
  's-maxage'?: number
  'max-stale'?: number
  'min-fresh'?: number
  'stale-while-revalidate'?: number
  'stale-if-error'?: number
  public?: true
  private?: true | string[]
  'no-store'?: true
  'no-cache'?: true | string[]
  'must-revalidate'?: true
  'proxy-revalidate'?: true
  'must-understand'?: true
  immutable?: true
  'no-transform'?: true
  'only-if-cached'?: true
}

/** RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31. */
export const MAX_DELTA_SECONDS = 2147483648

/** Parses delta-seconds (1*DIGIT); undefined when not one. */
export function parseDeltaSeconds(value: string): number | undefined {
  if (value.length === 0) return undefined
  let n = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    n = n * 10 + c
    if (n > MAX_DELTA_SECONDS) n = MAX_DELTA_SECONDS
  }
  return n
}

function unquote(v: string): string {
  if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1')
  }
  return v
}

function fieldNames(v: string): string[] {
  const out: string[] = []
  for (const m of unquote(v).split(',')) {
    const name = m.trim().toLowerCase()
    if (name.length > 0) out.push(name)
  }
  return out
}

const NUMERIC = new Set(['max-age', 's-maxage', 'min-fresh', 'stale-while-revalidate', 'stale-if-error'])
const FLAGS = new Set([
  'public',
  'no-store',
  'must-revalidate',
  'proxy-revalidate',
  'must-understand',
  'immutable',
  'no-transform',
  'only-if-cached',
])

/**
 * Parses one or more Cache-Control field lines. Unknown directives are ignored. In a
 * response an unreadable max-age / s-maxage means stale; in a request (`request: true`)
 * an unreadable value is ignored.
 */
export function parseCacheControl(
  value: string | string[] | undefined | null,
  request = false,
): CacheControlDirectives {
  const out: CacheControlDirectives = {}
  const joined = fieldValue(value)
  if (joined === undefined) return out
  const d = out as Record<string, unknown>
  for (const member of splitList(joined)) {
    const eq = member.indexOf('=')
    const name = (eq === -1 ? member : member.slice(0, eq)).trim().toLowerCase()
    const arg = eq === -1 ? undefined : member.slice(eq + 1).trim()
    if (name in d) continue
    if (NUMERIC.has(name)) {
      const n = arg === undefined ? undefined : parseDeltaSeconds(unquote(arg))
      // A freshness directive that cannot be read makes the response stale at once;
      // a min-fresh / stale-* that cannot be read is ignored (the safer reading of each).
      if (n !== undefined) d[name] = n
      else if (!request && (name === 'max-age' || name === 's-maxage')) d[name] = 0
    } else if (name === 'max-stale') {
      if (arg === undefined) d[name] = Number.POSITIVE_INFINITY
      else {
        const n = parseDeltaSeconds(unquote(arg))
        if (n !== undefined) d[name] = n
      }
    } else if (name === 'no-cache' || name === 'private') {
      const names = arg === undefined ? [] : fieldNames(arg)
      // An empty qualifier list is read as the unqualified (stricter) directive.
      d[name] = names.length === 0 ? true : names
    } else if (FLAGS.has(name)) {
      d[name] = true
    }
  }
  return out
}
