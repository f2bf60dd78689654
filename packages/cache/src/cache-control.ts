// The Cache-Control response value a server sends, built from named options and checked
// for contradictions once (at route set-up), so the per-response cost is a string copy.

import { MAX_DELTA_SECONDS } from './directives.js'
import { CacheError } from './errors.js'
import { isToken } from './headers.js'

/** Response directives by name (RFC 9111 §5.2.2, RFC 8246 immutable, RFC 5861 stale-*). Times in seconds. */
export interface CacheControlOptions {
  maxAge?: number
  sMaxAge?: number
  /** `true`, or the field names a cache must not send without revalidating. */
  noCache?: boolean | readonly string[]
  noStore?: boolean
  /** `true`, or the field names a shared cache must not store. */
  private?: boolean | readonly string[]
  public?: boolean
  mustRevalidate?: boolean
  proxyRevalidate?: boolean
  mustUnderstand?: boolean
  noTransform?: boolean
  immutable?: boolean
  staleWhileRevalidate?: number
  staleIfError?: number
}

const KNOWN = new Set([
  'maxAge',
  'sMaxAge',
  'noCache',
  'noStore',
  'private',
  'public',
  'mustRevalidate',
  'proxyRevalidate',
  'mustUnderstand',
  'noTransform',
  'immutable',
  'staleWhileRevalidate',
  'staleIfError',
])

function invalid(option: string, message: string): never {
  throw new CacheError('X_ERR_CACHE_INVALID_DIRECTIVES', message, { option })
}

function seconds(o: CacheControlOptions, name: keyof CacheControlOptions): number | undefined {
  const v = o[name]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELTA_SECONDS) {
    invalid(name, `${name} must be an integer number of seconds in [0, 2^31]`)
  }
  return v
}

function flag(o: CacheControlOptions, name: keyof CacheControlOptions): boolean {
  const v = o[name]
  if (v === undefined || v === false) return false
  if (v === true) return true
  return invalid(name, `${name} must be a boolean`)
}

function fields(o: CacheControlOptions, name: 'noCache' | 'private'): true | string[] | false {
  const v = o[name]
  if (v === undefined || v === false) return false
  if (v === true) return true
  if (!Array.isArray(v) || v.length === 0)
    return invalid(name, `${name} must be a boolean or a non-empty list of field names`)
  const out: string[] = []
  for (const f of v) {
    if (typeof f !== 'string' || !isToken(f)) invalid(name, `${name} lists an invalid field name`)
    out.push(f.toLowerCase())
  }
  return out
}

/**
 * Builds a Cache-Control value. Throws X_ERR_CACHE_INVALID_DIRECTIVES for unknown options,
 * bad numbers, and contradictions: public with private, no-store with anything that
 * implies storing, must-understand without no-store, an empty result.
 */
export function cacheControl(options: CacheControlOptions): string {
  if (typeof options !== 'object' || options === null) invalid('options', 'options must be an object')
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) invalid(k, `unknown Cache-Control option ${k}`)
  const maxAge = seconds(options, 'maxAge')
  const sMaxAge = seconds(options, 'sMaxAge')
  const swr = seconds(options, 'staleWhileRevalidate')
  const sie = seconds(options, 'staleIfError')
  const noCache = fields(options, 'noCache')
  const priv = fields(options, 'private')
  const pub = flag(options, 'public')
  const noStore = flag(options, 'noStore')
  const mustRevalidate = flag(options, 'mustRevalidate')
  const proxyRevalidate = flag(options, 'proxyRevalidate')
  const mustUnderstand = flag(options, 'mustUnderstand')
  const noTransform = flag(options, 'noTransform')
  const immutable = flag(options, 'immutable')

  if (pub && priv !== false) invalid('public', 'public and private contradict each other')
  if (noStore) {
    const storing: Array<[string, boolean]> = [
      ['public', pub],
      ['maxAge', maxAge !== undefined],
      ['sMaxAge', sMaxAge !== undefined],
      ['immutable', immutable],
      ['staleWhileRevalidate', swr !== undefined],
      ['staleIfError', sie !== undefined],
    ]
    for (const [name, set] of storing) if (set) invalid(name, `no-store contradicts ${name}`)
  }
  if (mustUnderstand && !noStore)
    invalid('mustUnderstand', 'must-understand needs no-store as its fallback (RFC 9111 §5.2.2.3)')
  if (sMaxAge !== undefined && priv === true)
    invalid('sMaxAge', 's-maxage is for shared caches, which private forbids')
  if (proxyRevalidate && priv === true)
    invalid('proxyRevalidate', 'proxy-revalidate is for shared caches, which private forbids')

  const parts: string[] = []
  if (pub) parts.push('public')
  if (priv === true) parts.push('private')
  else if (priv !== false) parts.push(`private="${priv.join(', ')}"`)
  if (noCache === true) parts.push('no-cache')
  else if (noCache !== false) parts.push(`no-cache="${noCache.join(', ')}"`)
  if (noStore) parts.push('no-store')
  if (maxAge !== undefined) parts.push(`max-age=${maxAge}`)
  if (sMaxAge !== undefined) parts.push(`s-maxage=${sMaxAge}`)
  if (mustRevalidate) parts.push('must-revalidate')
  if (proxyRevalidate) parts.push('proxy-revalidate')
  if (mustUnderstand) parts.push('must-understand')
  if (noTransform) parts.push('no-transform')
  if (immutable) parts.push('immutable')
  if (swr !== undefined) parts.push(`stale-while-revalidate=${swr}`)
  if (sie !== undefined) parts.push(`stale-if-error=${sie}`)
  if (parts.length === 0) invalid('options', 'no directive was set')
  return parts.join(', ')
}
