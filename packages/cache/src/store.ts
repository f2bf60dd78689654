// The store contract: three methods, shaped like undici 7's CacheStore so our stores plug
// into `undici.interceptors.cache` and undici's stores into ours. Vary matching is the
// store's job (it sees the request headers in the key and the varied values in the entry).

import type { Readable, Writable } from 'node:stream'
import type { CacheControlDirectives } from './directives.js'
import { normaliseVaryValue } from './headers.js'

/** What a lookup is keyed on: origin, method and path (with query), plus the request headers for Vary. */
export interface CacheKey {
  origin: string
  method: string
  path: string
  headers?: Record<string, string | string[]>
}

/** A stored response without its body. Times are milliseconds since the epoch. */
export interface CacheValue {
  statusCode: number
  statusMessage: string
  headers: Record<string, string | string[]>
  /** Request field values the response varies on (null: the field was absent). */
  vary?: Record<string, string | string[] | null>
  etag?: string
  cacheControlDirectives?: CacheControlDirectives
  /** When the response was generated, by the origin's clock corrected as RFC 9111 §4.2.3 says. */
  cachedAt: number
  /** When it turns stale. */
  staleAt: number
  /** When no rule can serve it any more: the store may drop it. */
  deleteAt: number
}

/** A stored response with its body, as `get` returns it. */
export interface CacheGetResult extends CacheValue {
  cacheControlDirectives: CacheControlDirectives
  body?:
    | Readable
    | Iterable<Buffer>
    | AsyncIterable<Buffer>
    | Buffer
    | Iterable<string>
    | AsyncIterable<string>
    | string
}

/** The store interface (structurally undici's `CacheStore`). */
export interface CacheStore {
  /** The stored response matching the key's origin, method, path and Vary'd headers. */
  get(key: CacheKey): CacheGetResult | undefined | Promise<CacheGetResult | undefined>
  /** A stream the body is written into; the entry is stored when it finishes. Undefined: not stored. */
  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined
  /** Drops every stored response for the key's origin and path. */
  delete(key: CacheKey): void | Promise<void>
}

/** True when the stored entry's Vary'd values match the request's headers (RFC 9111 §4.1). */
export function varyMatches(
  vary: Record<string, string | string[] | null> | undefined,
  headers: Record<string, string | string[]> | undefined,
): boolean {
  if (vary == null) return true
  for (const name in vary) {
    if (name === '*') return false
    const stored = vary[name]
    const sent = headers?.[name]
    if (stored == null || sent == null) {
      if (stored == null && sent == null) continue
      return false
    }
    if (stored === sent) continue
    if (normaliseVaryValue(name, stored) !== normaliseVaryValue(name, sent)) return false
  }
  return true
}

/** True when two entries are the same variant (same varied fields, equal values). */
export function sameVariant(
  a: Record<string, string | string[] | null> | undefined,
  b: Record<string, string | string[] | null> | undefined,
): boolean {
  const ak = a == null ? [] : Object.keys(a)
  const bk = b == null ? [] : Object.keys(b)
  if (ak.length !== bk.length) return false
  for (const name of ak) {
    if (!(b != null && name in b)) return false
    if (normaliseVaryValue(name, a![name]) !== normaliseVaryValue(name, b[name])) return false
  }
  return true
}

/** Checks the key a store is called with; stores call it before anything else. */
export function isCacheKey(key: unknown): key is CacheKey {
  if (typeof key !== 'object' || key === null) return false
  const k = key as Record<string, unknown>
  return typeof k.origin === 'string' && typeof k.method === 'string' && typeof k.path === 'string'
}

/** Checks the value a store is asked to write. */
export function isCacheValue(value: unknown): value is CacheValue {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.statusCode === 'number' &&
    typeof v.headers === 'object' &&
    v.headers !== null &&
    typeof v.cachedAt === 'number' &&
    typeof v.staleAt === 'number' &&
    typeof v.deleteAt === 'number'
  )
}
