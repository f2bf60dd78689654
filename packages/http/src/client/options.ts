// Client options: types with their defaults, and eager validation. A bad value is a
// ClientError `X_ERR_CLIENT_INVALID_OPTION` naming the option, thrown by the constructor.
import type { CacheOptions, CachePolicy, CacheStore } from '@x/cache'
import { type CircuitBreakerOptions, circuitBreaker, isCircuitBreakerError } from '@x/circuit-breaker'
import {
  createRetryBudget,
  type HttpVersion,
  isClientPoolError,
  type KeepAlivePolicy,
  type ProxyOptions,
  type RetryBudgetOptions,
} from '@x/client-pool'
import type { TraceLog, TraceLogOptions } from '@x/logging'
import type { ClientTlsConfig } from '@x/tls'
import { ClientError } from './errors.js'
import { isFieldValue, isToken } from './internal/headers.js'

/** Node's timers overflow above this (the timer then fires at once), so no time option may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647

/** `AUTO`: Content-Length when the size is known, chunked for streams; `ALWAYS`: chunked; `NEVER`: Content-Length, buffering a stream first. */
export type ChunkingPolicy = 'AUTO' | 'ALWAYS' | 'NEVER'

/**
 * `AUTO`: ask for `br, gzip, deflate` unless the request has its own `Accept-Encoding` (then the
 * body arrives as sent: the proxy case); `ALWAYS`: always ask and decode; `NEVER`: neither.
 */
export type CompressionPolicy = 'AUTO' | 'ALWAYS' | 'NEVER'

/**
 * The Client's `secureSocket`: `@x/tls`'s client configuration (trusted CAs, client
 * certificate, `verifyHostName`, `serverName`, versions, ciphers, CRLs, `certValidation`),
 * without `alpn` and `connectOptions`, which `httpVersion` decides.
 */
export type ClientSecureSocket = Omit<ClientTlsConfig, 'alpn' | 'connectOptions'>

/** How `forward()` treats the `Forwarded` header (RFC 7239), as Ballerina does. */
export type ForwardedPolicy = 'disable' | 'enable' | 'transition'

/** Connection pool settings of a Client (per origin). */
export interface PoolConfig {
  /** @defaultValue Infinity */
  maxActiveConnections?: number
  /** How long a request may wait for a connection (ms). @defaultValue 30000 */
  waitTime?: number
  /** Close a connection idle this long (ms); a server's Keep-Alive hint can only shorten it. @defaultValue 30000 */
  idleTimeout?: number
  /** @defaultValue 100 */
  maxActiveStreamsPerConnection?: number
}

/** Redirect following. */
export interface FollowRedirectsOptions {
  /** @defaultValue false */
  enabled?: boolean
  /** Redirects followed before `X_ERR_CLIENT_TOO_MANY_REDIRECTS`. @defaultValue 5 */
  maxCount?: number
  /** Keep `Authorization`, `Cookie` and `Proxy-Authorization` on a hop to another origin. @defaultValue false */
  allowAuthHeaders?: boolean
  /** Bytes of a streamed request body kept for a 307/308 replay. @defaultValue 1048576 */
  maxReplayBodySize?: number
}

/** Jitter added to retry back-off: `full` picks in [0, backoff], `decorrelated` in [interval, 3 × previous]. */
export type RetryJitter = 'full' | 'decorrelated' | 'none'

/** Retries of failed attempts. */
export interface RetryConfig {
  /** Retries after the first attempt (0 disables retrying). @defaultValue 3 */
  count?: number
  /** Back-off before the first retry (ms). @defaultValue 100 */
  interval?: number
  /** Multiplier of the back-off per retry. @defaultValue 2 */
  backOffFactor?: number
  /** Cap of the back-off, and the longest `Retry-After` honoured (ms); a longer one returns the response. @defaultValue 30000 */
  maxWaitInterval?: number
  /** Response statuses that are retried. @defaultValue [408, 429, 502, 503, 504] */
  statusCodes?: readonly number[]
  /** Methods retried after the request may have reached the server. @defaultValue ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] */
  methods?: readonly string[]
  /** @defaultValue 'full' */
  jitter?: RetryJitter
}

/** Limits on what a response may be. */
export interface ResponseLimits {
  /** Largest response head (bytes). @defaultValue 16384 */
  maxHeaderSize?: number
  /** Largest body delivered to the caller, after decoding (bytes). @defaultValue Infinity */
  maxBodySize?: number
}

/**
 * Circuit breaker settings of a Client (the options of `@x/circuit-breaker`, all optional):
 * `rollingWindow`, `failureThreshold`, `resetTime`, `statusCodes`, `halfOpenRequests`, ...
 */
export type CircuitBreakerConfig = Omit<CircuitBreakerOptions, 'name'>

/** The retry budget shared by retries and failovers: `{ ratio, minPerSecond, window }`. */
export type RetryBudgetConfig = RetryBudgetOptions

/**
 * HTTP caching (RFC 9111, `@x/cache`) with Ballerina's `CacheConfig` names. The other options
 * of `@x/cache`'s `cache()` (`heuristicFraction`, `maxHeuristicAge`, `retainStale`,
 * `collapseRequests`, `collapseTimeout`, `targets`, `now`) pass through unchanged.
 */
export interface CacheConfig
  extends Omit<CacheOptions, 'shared' | 'store' | 'policy' | 'capacity' | 'evictionFactor'> {
  /** Ballerina enables its cache by default; here a `cache` object turns it on, and this can turn it off again. @defaultValue true */
  enabled?: boolean
  /** A shared cache (a gateway or proxy answering many users) rather than a private one. @defaultValue false */
  isShared?: boolean
  /** Entries (variants) the default in-memory store keeps; not with `store`. @defaultValue 1024 */
  capacity?: number
  /** Share of `capacity` the default store drops, least recently used first, when full; not with `store`. @defaultValue 0.2 */
  evictionFactor?: number
  /** Which responses are stored. @defaultValue 'CACHE_CONTROL_AND_VALIDATORS' */
  policy?: CachePolicy
  /** Where responses are kept: a `MemoryStore`, a `RedisStore` from `@x/cache/redis`, or any `CacheStore`. @defaultValue a `MemoryStore` */
  store?: CacheStore
}

/** Options of `new Client(url, options)`. Times are milliseconds. */
export interface ClientOptions {
  /** Overall deadline of a request: redirects, retries and the body included; 0 for none. @defaultValue 60000 */
  timeout?: number
  /** Time to open a connection (TLS and proxy tunnel included). @defaultValue 10000 */
  connectTimeout?: number
  /** Per attempt: from sending the request to the end of the response head. @defaultValue timeout, or 300000 when timeout is 0 */
  headersTimeout?: number
  /** Per attempt: longest pause between two body chunks. @defaultValue timeout, or 300000 when timeout is 0 */
  bodyTimeout?: number
  /** @defaultValue '1.1' */
  httpVersion?: HttpVersion
  /** @defaultValue 'AUTO' */
  keepAlive?: KeepAlivePolicy
  /** @defaultValue 'AUTO' */
  chunking?: ChunkingPolicy
  /** @defaultValue 'AUTO' */
  compression?: CompressionPolicy
  /** Largest decoded body of a compressed response (bytes): a decompression bomb fails with `X_ERR_CLIENT_DECODED_TOO_LARGE`. @defaultValue 33554432 */
  maxDecodedSize?: number
  poolConfig?: PoolConfig
  followRedirects?: FollowRedirectsOptions
  retryConfig?: RetryConfig
  responseLimits?: ResponseLimits
  /** Send every request through an HTTP proxy (CONNECT for https targets). */
  proxy?: ProxyOptions
  /** @defaultValue 'disable' */
  forwarded?: ForwardedPolicy
  /** TLS for https origins, through `@x/tls`'s connector (revocation checks included). @defaultValue Node's trusted roots, host name checked */
  secureSocket?: ClientSecureSocket
  /** Headers sent with every request (a request's own header of the same name replaces one). */
  headers?: Readonly<Record<string, string>>
  /**
   * A circuit breaker for everything the client sends (Ballerina's client-wide breaker); on a
   * `LoadBalanceClient` or `FailoverClient`, the settings of each target's own breaker.
   */
  circuitBreaker?: CircuitBreakerConfig
  /** The budget retries and failovers draw from; `false` for none. @defaultValue `{ ratio: 0.2, minPerSecond: 10, window: 10000 }` */
  retryBudget?: RetryBudgetConfig | false
  /** An RFC 9111 cache between decompression and redirects; off unless given. */
  cache?: CacheConfig
  /**
   * Trace entries for this Client's requests (undici's diagnostics channels, filtered to its
   * own connections): `@x/logging` `traceLog()` options (closed with the Client) or a shared
   * `TraceLog` (left open). @defaultValue none
   */
  traceLog?: TraceLogOptions | TraceLog
}

/** Retry settings after defaults. */
export interface ResolvedRetry {
  readonly count: number
  readonly interval: number
  readonly backOffFactor: number
  readonly maxWaitInterval: number
  readonly statusCodes: ReadonlySet<number>
  readonly methods: ReadonlySet<string>
  readonly jitter: RetryJitter
}

/** Redirect settings after defaults. */
export interface ResolvedRedirects {
  readonly enabled: boolean
  readonly maxCount: number
  readonly allowAuthHeaders: boolean
  readonly maxReplayBodySize: number
}

/** Client options after defaults and validation. */
export interface ResolvedClientOptions {
  readonly timeout: number
  readonly connectTimeout: number
  readonly headersTimeout: number
  readonly bodyTimeout: number
  readonly httpVersion: HttpVersion
  readonly keepAlive: KeepAlivePolicy
  readonly chunking: ChunkingPolicy
  readonly compression: CompressionPolicy
  readonly maxDecodedSize: number
  readonly poolConfig: Readonly<PoolConfig>
  readonly followRedirects: ResolvedRedirects
  readonly retryConfig: ResolvedRetry
  readonly maxHeaderSize: number
  readonly maxBodySize: number
  readonly proxy: ProxyOptions | undefined
  readonly forwarded: ForwardedPolicy
  readonly secureSocket: ClientSecureSocket | undefined
  readonly headers: readonly string[]
  readonly circuitBreaker: Readonly<CircuitBreakerConfig> | undefined
  readonly retryBudget: Readonly<RetryBudgetConfig> | false
  /** The options the cache step is built with (`@x/cache`'s names), or null when caching is off. */
  readonly cache: Readonly<CacheOptions> | null
}

export function invalidOption(option: string, why: string, cause?: unknown): ClientError {
  return new ClientError('X_ERR_CLIENT_INVALID_OPTION', `${option} ${why}`, {
    option,
    ...(cause === undefined ? {} : { cause }),
  })
}

function object(value: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidOption(name, 'must be an object')
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) throw invalidOption(name === 'options' ? k : `${name}.${k}`, 'is not an option')
  }
  return value as Record<string, unknown>
}

function int(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  fallback: number,
  min: number,
  max: number,
  allowInfinity = false,
): number {
  const v = obj[key]
  if (v === undefined) return fallback
  if (allowInfinity && v === Number.POSITIVE_INFINITY) return v
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidOption(
      path,
      `must be an integer from ${min} to ${max}${allowInfinity ? ', or Infinity' : ''}`,
    )
  }
  return v
}

function oneOf<T extends string>(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  values: readonly T[],
  fallback: T,
): T {
  const v = obj[key]
  if (v === undefined) return fallback
  if (!values.includes(v as T))
    throw invalidOption(path, `must be one of ${values.map((x) => `'${x}'`).join(', ')}`)
  return v as T
}

function bool(obj: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
  const v = obj[key]
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw invalidOption(path, 'must be a boolean')
  return v
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']

export function resolveRetry(value: unknown, path = 'retryConfig'): ResolvedRetry {
  const r = object(value, path, [
    'count',
    'interval',
    'backOffFactor',
    'maxWaitInterval',
    'statusCodes',
    'methods',
    'jitter',
  ])
  const backOffFactor = r.backOffFactor === undefined ? 2 : r.backOffFactor
  if (
    typeof backOffFactor !== 'number' ||
    !Number.isFinite(backOffFactor) ||
    backOffFactor < 1 ||
    backOffFactor > 100
  ) {
    throw invalidOption(`${path}.backOffFactor`, 'must be a number from 1 to 100')
  }
  const statusCodes = r.statusCodes === undefined ? [408, 429, 502, 503, 504] : r.statusCodes
  if (
    !Array.isArray(statusCodes) ||
    statusCodes.some((c) => typeof c !== 'number' || !Number.isInteger(c) || c < 300 || c > 599)
  ) {
    throw invalidOption(`${path}.statusCodes`, 'must be an array of statuses from 300 to 599')
  }
  const methods = r.methods === undefined ? IDEMPOTENT : r.methods
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string' || !isToken(m))) {
    throw invalidOption(`${path}.methods`, 'must be an array of method names')
  }
  const interval = int(r, 'interval', `${path}.interval`, 100, 0, MAX_TIMER_MS)
  const maxWaitInterval = int(r, 'maxWaitInterval', `${path}.maxWaitInterval`, 30_000, 0, MAX_TIMER_MS)
  if (maxWaitInterval < interval)
    throw invalidOption(`${path}.maxWaitInterval`, 'must not be less than interval')
  return {
    count: int(r, 'count', `${path}.count`, 3, 0, 100),
    interval,
    backOffFactor,
    maxWaitInterval,
    statusCodes: new Set(statusCodes as number[]),
    methods: new Set((methods as string[]).map((m) => m.toUpperCase())),
    jitter: oneOf(r, 'jitter', `${path}.jitter`, ['full', 'decorrelated', 'none'] as const, 'full'),
  }
}

export function resolveRedirects(value: unknown, path = 'followRedirects'): ResolvedRedirects {
  const r = object(value, path, ['enabled', 'maxCount', 'allowAuthHeaders', 'maxReplayBodySize'])
  return {
    enabled: bool(r, 'enabled', `${path}.enabled`, false),
    maxCount: int(r, 'maxCount', `${path}.maxCount`, 5, 1, 100),
    allowAuthHeaders: bool(r, 'allowAuthHeaders', `${path}.allowAuthHeaders`, false),
    maxReplayBodySize: int(r, 'maxReplayBodySize', `${path}.maxReplayBodySize`, 1_048_576, 0, 2 ** 31 - 1),
  }
}

/** Validates `headers` (a record) and returns them as a flat list. */
export function resolveHeaderRecord(value: unknown, path: string): string[] {
  if (value === undefined) return []
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidOption(path, 'must be an object')
  const out: string[] = []
  for (const [k, v] of Object.entries(value)) {
    if (!isToken(k)) throw invalidOption(`${path}.${k}`, 'is not a valid header name')
    if (typeof v !== 'string' || !isFieldValue(v)) {
      throw invalidOption(`${path}.${k}`, 'must be a string without CR, LF or other control characters')
    }
    const lower = k.toLowerCase()
    if (
      lower === 'transfer-encoding' ||
      lower === 'connection' ||
      lower === 'keep-alive' ||
      lower === 'upgrade' ||
      lower === 'host' ||
      lower === 'content-length' ||
      lower === 'expect'
    ) {
      throw invalidOption(`${path}.${k}`, 'is managed by the client and cannot be a default header')
    }
    out.push(lower, v)
  }
  return out
}

const KNOWN = [
  'timeout',
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'httpVersion',
  'keepAlive',
  'chunking',
  'compression',
  'maxDecodedSize',
  'poolConfig',
  'followRedirects',
  'retryConfig',
  'responseLimits',
  'proxy',
  'forwarded',
  'secureSocket',
  'headers',
  'circuitBreaker',
  'retryBudget',
  'cache',
  'traceLog',
] as const

const CACHE_KNOWN = [
  'enabled',
  'isShared',
  'capacity',
  'evictionFactor',
  'policy',
  'store',
  'heuristicFraction',
  'maxHeuristicAge',
  'retainStale',
  'collapseRequests',
  'collapseTimeout',
  'targets',
  'now',
] as const

/**
 * Ballerina's names to `cache()`'s (`isShared` → `shared`); null when off. Values are checked
 * by `cache()` itself when the chain is built, which still happens in the constructor.
 */
export function resolveCache(value: unknown): Readonly<CacheOptions> | null {
  if (value === undefined) return null
  const c = object(value, 'cache', CACHE_KNOWN)
  if (!bool(c, 'enabled', 'cache.enabled', true)) return null
  const out: Record<string, unknown> = {}
  for (const key of CACHE_KNOWN) {
    if (key === 'enabled' || c[key] === undefined) continue
    out[key === 'isShared' ? 'shared' : key] = c[key]
  }
  return Object.freeze(out) as Readonly<CacheOptions>
}

/** Applies defaults and validates; pool and proxy options are checked again by the pool. */
export function resolveClientOptions(options: ClientOptions | undefined): ResolvedClientOptions {
  const o = object(options, 'options', KNOWN)
  const timeout = int(o, 'timeout', 'timeout', 60_000, 0, MAX_TIMER_MS)
  const attempt = timeout === 0 ? 300_000 : timeout
  const pool = object(o.poolConfig, 'poolConfig', [
    'maxActiveConnections',
    'waitTime',
    'idleTimeout',
    'maxActiveStreamsPerConnection',
  ])
  const limits = object(o.responseLimits, 'responseLimits', ['maxHeaderSize', 'maxBodySize'])
  const retry = o.retryConfig === undefined ? resolveRetry({ count: 0 }) : resolveRetry(o.retryConfig)
  const secureSocket = o.secureSocket
  if (secureSocket !== undefined && (typeof secureSocket !== 'object' || secureSocket === null)) {
    throw invalidOption('secureSocket', 'must be an object')
  }
  for (const key of ['alpn', 'connectOptions']) {
    if ((secureSocket as Record<string, unknown> | undefined)?.[key] !== undefined) {
      throw invalidOption(`secureSocket.${key}`, 'is decided by httpVersion; leave it out')
    }
  }
  return {
    timeout,
    connectTimeout: int(o, 'connectTimeout', 'connectTimeout', 10_000, 1, MAX_TIMER_MS),
    headersTimeout: int(o, 'headersTimeout', 'headersTimeout', attempt, 0, MAX_TIMER_MS),
    bodyTimeout: int(o, 'bodyTimeout', 'bodyTimeout', attempt, 0, MAX_TIMER_MS),
    httpVersion: oneOf(o, 'httpVersion', 'httpVersion', ['1.1', '2'] as const, '1.1'),
    keepAlive: oneOf(o, 'keepAlive', 'keepAlive', ['AUTO', 'ALWAYS', 'NEVER'] as const, 'AUTO'),
    chunking: oneOf(o, 'chunking', 'chunking', ['AUTO', 'ALWAYS', 'NEVER'] as const, 'AUTO'),
    compression: oneOf(o, 'compression', 'compression', ['AUTO', 'ALWAYS', 'NEVER'] as const, 'AUTO'),
    maxDecodedSize: int(o, 'maxDecodedSize', 'maxDecodedSize', 32 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    poolConfig: pool as PoolConfig,
    followRedirects: resolveRedirects(o.followRedirects),
    retryConfig: retry,
    maxHeaderSize: int(limits, 'maxHeaderSize', 'responseLimits.maxHeaderSize', 16_384, 1, 2 ** 31 - 1),
    maxBodySize: int(
      limits,
      'maxBodySize',
      'responseLimits.maxBodySize',
      Number.POSITIVE_INFINITY,
      0,
      Number.MAX_SAFE_INTEGER,
      true,
    ),
    proxy: o.proxy as ProxyOptions | undefined,
    forwarded: oneOf(o, 'forwarded', 'forwarded', ['disable', 'enable', 'transition'] as const, 'disable'),
    secureSocket: secureSocket as ClientSecureSocket | undefined,
    headers: resolveHeaderRecord(o.headers, 'headers'),
    circuitBreaker: resolveCircuitBreaker(o.circuitBreaker, 'circuitBreaker'),
    retryBudget: resolveRetryBudget(o.retryBudget),
    cache: resolveCache(o.cache),
  }
}

/** Maps a leaf package's option error to the Client's, under `path`. */
function rethrowOption(err: unknown, path: string): never {
  if (
    isCircuitBreakerError(err, 'X_ERR_CIRCUIT_INVALID_OPTION') ||
    isClientPoolError(err, 'X_ERR_POOL_INVALID_OPTION')
  ) {
    const option = err.option === undefined || err.option === 'options' ? path : `${path}.${err.option}`
    throw invalidOption(option, `is invalid: ${err.message}`, err)
  }
  throw err
}

/** Validates a circuit breaker configuration now (by building one) and keeps a frozen copy. */
export function resolveCircuitBreaker(
  value: unknown,
  path: string,
): Readonly<CircuitBreakerConfig> | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidOption(path, 'must be an object')
  if ('name' in value)
    throw invalidOption(`${path}.name`, 'is not an option: breakers are named after their target')
  try {
    circuitBreaker(value as CircuitBreakerConfig)
  } catch (err) {
    rethrowOption(err, path)
  }
  return Object.freeze({ ...(value as CircuitBreakerConfig) })
}

/** Validates the retry budget option: `false` turns it off; an object is checked now. */
export function resolveRetryBudget(value: unknown): Readonly<RetryBudgetConfig> | false {
  if (value === false) return false
  if (value === undefined) return Object.freeze({})
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption('retryBudget', 'must be an object or false')
  }
  try {
    createRetryBudget(value as RetryBudgetConfig)
  } catch (err) {
    rethrowOption(err, 'retryBudget')
  }
  return Object.freeze({ ...(value as RetryBudgetConfig) })
}
