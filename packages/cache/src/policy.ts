// RFC 9111 decisions over plain data: may a response be stored (§3, §3.5), how long is it
// fresh (§4.2.1-2), how old is it (§4.2.3), how a 304 updates it (§3.2, §4.3.4).
// No I/O and no clock of its own: the interceptor passes times in.

import { type CacheControlDirectives, parseCacheControl, parseDeltaSeconds } from './directives.js'
import { fieldValue, normaliseVaryValue, splitList } from './headers.js'
import { formatHttpDate, parseHttpDate } from './http-date.js'
import type { CacheValue } from './store.js'
import { targetedDirectives } from './targeted.js'

/** Which responses are stored: Ballerina's default (Cache-Control and a validator) or all RFC 9111 allows. */
export type CachePolicy = 'CACHE_CONTROL_AND_VALIDATORS' | 'RFC_9111'

/** The settings the decisions depend on. */
export interface PolicyConfig {
  shared: boolean
  policy: CachePolicy
  heuristicFraction: number
  maxHeuristicMs: number
  retainStaleMs: number
  /** Targeted cache-control fields this cache obeys, lower-case (RFC 9213). */
  targets: readonly string[]
}

/**
 * The directives that govern a response for this cache: those of the first valid targeted
 * field, which then displaces Cache-Control and Expires (RFC 9213 §2.1), else Cache-Control.
 */
export function responseDirectives(
  headers: Headers,
  config: PolicyConfig,
): { cc: CacheControlDirectives; targeted: boolean } {
  if (config.targets.length > 0) {
    const t = targetedDirectives(headers, config.targets)
    if (t !== undefined) return { cc: t, targeted: true }
  }
  return { cc: parseCacheControl(headers['cache-control']), targeted: false }
}

/** RFC 9110 §15.1: status codes heuristically cacheable by default. */
export const HEURISTIC_STATUS = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

/** Final status codes whose caching rules this cache implements (for must-understand). 206 is not one: ranges pass through. */
const UNDERSTOOD_STATUS = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504,
])

// RFC 9110 §7.6.1 hop-by-hop fields, never stored (RFC 9111 §3.1); Age is recomputed. The
// Proxy-Authenticate family belongs to the proxy a cache forwards through, which is not part
// of the cache key (RFC 9111 §3.1), so those are not stored either.
const NOT_STORED = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'age',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
])
// RFC 9111 §3.2: a 304 never updates these.
const NOT_UPDATED = new Set([...NOT_STORED, 'content-length'])

type Headers = Record<string, string | string[] | undefined>

/** First member of the Age field (RFC 9111 §5.1: a list keeps its first member; invalid is ignored), in seconds. */
export function parseAge(value: string | string[] | undefined): number {
  if (value === undefined) return 0
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined) return 0
  const comma = first.indexOf(',')
  const member = (comma === -1 ? first : first.slice(0, comma)).trim()
  return parseDeltaSeconds(member) ?? 0
}

function singleDate(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined
  return parseHttpDate(Array.isArray(value) ? value[0] : value)
}

/** True when the response carries a validator (a usable ETag or a valid Last-Modified). */
export function hasValidator(headers: Headers): boolean {
  const tag = fieldValue(headers.etag)
  if (tag !== undefined && tag.trim().length >= 2) return true
  return singleDate(headers['last-modified']) !== undefined
}

/**
 * Freshness lifetime in milliseconds (RFC 9111 §4.2.1): s-maxage (shared only), max-age,
 * Expires − Date, else a heuristic from Last-Modified for heuristically cacheable status
 * codes or `public` responses (§4.2.2). Invalid Expires (such as "0") is already expired.
 */
export function freshnessLifetime(
  status: number,
  headers: Headers,
  cc: CacheControlDirectives,
  config: PolicyConfig,
  responseTime: number,
  ignoreExpires = false,
): number {
  if (config.shared && cc['s-maxage'] !== undefined) return cc['s-maxage'] * 1000
  if (cc['max-age'] !== undefined) return cc['max-age'] * 1000
  const date = singleDate(headers.date) ?? responseTime
  const expiresField = ignoreExpires ? undefined : headers.expires
  if (expiresField !== undefined) {
    // Two Expires lines: the response is treated as stale (RFC 9111 §4.2.1).
    if (Array.isArray(expiresField) && expiresField.length !== 1) return 0
    const expires = singleDate(expiresField)
    return expires === undefined ? 0 : Math.max(0, expires - date)
  }
  if (HEURISTIC_STATUS.has(status) || cc.public === true) {
    const lm = singleDate(headers['last-modified'])
    if (lm !== undefined && lm < date) {
      return Math.min(config.maxHeuristicMs, Math.floor((date - lm) * config.heuristicFraction))
    }
  }
  return 0
}

/**
 * When the response was generated, on our clock: response_time − corrected_initial_age,
 * with corrected_age_value = age_value + response_delay (RFC 9111 §4.2.3). The current
 * age at time t is then t − cachedAt.
 */
export function generatedAt(headers: Headers, requestTime: number, responseTime: number): number {
  const date = singleDate(headers.date)
  const apparentAge = date === undefined ? 0 : Math.max(0, responseTime - date)
  const responseDelay = Math.max(0, responseTime - requestTime)
  const correctedAgeValue = parseAge(headers.age) * 1000 + responseDelay
  return responseTime - Math.max(apparentAge, correctedAgeValue)
}

/** Why a response is or is not stored: a value to store, or the reason it is not. */
export type StoreDecision = { kind: 'store'; value: CacheValue } | { kind: 'skip'; reason: string }

function skip(reason: string): StoreDecision {
  return { kind: 'skip', reason }
}

/**
 * Decides whether a response to a GET may be stored (RFC 9111 §3, §3.5, §4.1) under the
 * configured policy, and builds the stored value: hop-by-hop fields and a shared cache's
 * `private="…"` fields removed, Date added when missing (RFC 9110 §6.6.1), Vary'd request
 * values normalised.
 */
export function decideStore(
  config: PolicyConfig,
  reqHeaders: Headers,
  reqCc: CacheControlDirectives,
  status: number,
  statusMessage: string,
  resHeaders: Headers,
  requestTime: number,
  responseTime: number,
): StoreDecision {
  if (reqCc['no-store'] === true) return skip('request no-store')
  if (status < 200 || status === 206 || status === 304) return skip('status not storable')
  const { cc, targeted } = responseDirectives(resHeaders, config)
  if (cc['must-understand'] === true) {
    if (!UNDERSTOOD_STATUS.has(status)) return skip('must-understand: status not understood')
    // §5.2.2.3: a cache that understands the status ignores no-store.
  } else if (cc['no-store'] === true) return skip('no-store')
  const shared = config.shared
  if (shared && cc.private === true) return skip('private')
  if (shared && reqHeaders.authorization !== undefined) {
    if (cc.public !== true && cc['s-maxage'] === undefined && cc['must-revalidate'] !== true) {
      return skip('authorization')
    }
  }
  const explicit =
    cc.public === true ||
    (!shared && cc.private !== undefined) ||
    (!targeted && resHeaders.expires !== undefined) ||
    cc['max-age'] !== undefined ||
    (shared && cc['s-maxage'] !== undefined)
  if (!explicit && !HEURISTIC_STATUS.has(status))
    return skip('no explicit freshness and status not heuristically cacheable')
  const validator = hasValidator(resHeaders)
  if (config.policy === 'CACHE_CONTROL_AND_VALIDATORS') {
    if (!targeted && resHeaders['cache-control'] === undefined) return skip('policy: no Cache-Control')
    if (!validator) return skip('policy: no validator')
  }
  // Vary (§4.1): '*' never matches, so storing is pointless.
  let vary: Record<string, string | null> | undefined
  const varyField = fieldValue(resHeaders.vary)
  if (varyField !== undefined) {
    for (const raw of splitList(varyField)) {
      const name = raw.toLowerCase()
      if (name === '*') return skip('vary *')
      vary ??= {}
      vary[name] = normaliseVaryValue(name, reqHeaders[name])
    }
  }
  const lifetime = freshnessLifetime(status, resHeaders, cc, config, responseTime, targeted)
  const cachedAt = generatedAt(resHeaders, requestTime, responseTime)
  const staleAt = cachedAt + lifetime
  let keep = 0
  if (validator) keep = config.retainStaleMs
  const swr = cc['stale-while-revalidate']
  const sie = cc['stale-if-error']
  if (swr !== undefined) keep = Math.max(keep, swr * 1000)
  if (sie !== undefined) keep = Math.max(keep, sie * 1000)
  const deleteAt = staleAt + keep
  if (deleteAt <= responseTime) return skip('already stale and nothing can use it')

  const headers: Record<string, string | string[]> = {}
  const connection = fieldValue(resHeaders.connection)
  const listed = connection === undefined ? undefined : new Set(splitList(connection.toLowerCase()))
  const privateFields = shared && Array.isArray(cc.private) ? new Set(cc.private) : undefined
  for (const name in resHeaders) {
    const v = resHeaders[name]
    if (v === undefined || NOT_STORED.has(name) || listed?.has(name) || privateFields?.has(name)) continue
    headers[name] = v
  }
  if (headers.date === undefined || singleDate(headers.date) === undefined)
    headers.date = formatHttpDate(responseTime)
  const value: CacheValue = {
    statusCode: status,
    statusMessage,
    headers,
    cacheControlDirectives: cc,
    cachedAt,
    staleAt,
    deleteAt,
  }
  if (vary !== undefined) value.vary = vary
  const tag = fieldValue(resHeaders.etag)
  if (tag !== undefined) value.etag = tag.trim()
  return { kind: 'store', value }
}

/**
 * The stored response updated by a 304 (RFC 9111 §3.2, §4.3.4): every field the 304
 * carries replaces the stored one, except hop-by-hop fields and Content-Length; freshness
 * and age are recomputed from the merged fields and the 304's timing.
 */
export function freshen(
  config: PolicyConfig,
  stored: CacheValue,
  notModified: Headers,
  requestTime: number,
  responseTime: number,
): CacheValue {
  const headers: Record<string, string | string[]> = { ...stored.headers }
  const connection = fieldValue(notModified.connection)
  const listed = connection === undefined ? undefined : new Set(splitList(connection.toLowerCase()))
  for (const name in notModified) {
    const v = notModified[name]
    if (v === undefined || NOT_UPDATED.has(name) || listed?.has(name)) continue
    headers[name] = v
  }
  const { cc, targeted } = responseDirectives(headers, config)
  if (config.shared && Array.isArray(cc.private)) for (const f of cc.private) delete headers[f]
  // Age and Date describe the 304, not the stored response.
  const timing: Headers = { date: notModified.date, age: notModified.age }
  if (singleDate(headers.date) === undefined || notModified.date === undefined)
    headers.date = formatHttpDate(responseTime)
  const lifetime = freshnessLifetime(stored.statusCode, headers, cc, config, responseTime, targeted)
  const cachedAt = generatedAt(timing, requestTime, responseTime)
  const staleAt = cachedAt + lifetime
  let keep = hasValidator(headers) ? config.retainStaleMs : 0
  if (cc['stale-while-revalidate'] !== undefined) keep = Math.max(keep, cc['stale-while-revalidate'] * 1000)
  if (cc['stale-if-error'] !== undefined) keep = Math.max(keep, cc['stale-if-error'] * 1000)
  const value: CacheValue = {
    statusCode: stored.statusCode,
    statusMessage: stored.statusMessage,
    headers,
    cacheControlDirectives: cc,
    cachedAt,
    staleAt,
    deleteAt: Math.max(staleAt + keep, responseTime + 1),
  }
  if (stored.vary !== undefined) value.vary = stored.vary
  const tag = fieldValue(headers.etag)
  if (tag !== undefined) value.etag = tag.trim()
  return value
}

/** True when the response (or its stored copy) forbids serving it stale (must-revalidate, and for shared caches proxy-revalidate / s-maxage). */
export function forbidsStale(cc: CacheControlDirectives, shared: boolean): boolean {
  return (
    cc['must-revalidate'] === true ||
    (shared && (cc['proxy-revalidate'] === true || cc['s-maxage'] !== undefined))
  )
}
