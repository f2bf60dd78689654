// Options of a breaker and their eager validation: every option is checked once, at
// construction, and turned into a frozen plain config the hot path reads without checks.
import { performance } from 'node:perf_hooks'
import type { CircuitState } from './errors.js'
import { invalidOption } from './errors.js'
import type { BreakerStore } from './shared-window.js'

/** Why a breaker changed state. */
export type StateChangeReason =
  | 'failure-threshold'
  | 'reset-time-elapsed'
  | 'probe-success'
  | 'probe-failure'
  | 'probe-timeout'
  | 'shared-trip'
  | 'force-open'
  | 'force-close'
  | 'reset'

/** What a `stateChange` listener receives. */
export interface StateChangeEvent {
  /** The breaker's name (its key, for keyed breakers); undefined when it has none. */
  readonly name: string | undefined
  readonly from: CircuitState
  readonly to: CircuitState
  readonly reason: StateChangeReason
  /** When it happened, in the breaker's clock. */
  readonly at: number
  /** When the next probe is allowed (set when `to` is `open` and the breaker is not forced open). */
  readonly nextProbeAt: number | undefined
}

/** How the breaker counts: buckets of `bucketSize` ms over the last `timeWindow` ms. */
export interface RollingWindowOptions {
  /**
   * Length of the window in ms; must be a multiple of `bucketSize`.
   * @defaultValue 60_000
   */
  timeWindow?: number
  /**
   * Length of one bucket in ms; the window slides by one bucket at a time (at most 1000 buckets).
   * @defaultValue 10_000
   */
  bucketSize?: number
  /**
   * Calls the window must hold before the failure rate can trip the breaker.
   * @defaultValue 10
   */
  requestVolumeThreshold?: number
}

/** Growth of the open period on repeated trips (a probe fails again and again). */
export interface BackoffOptions {
  /**
   * Each re-open multiplies the open period by this factor (≥ 1).
   * @defaultValue 2
   */
  factor?: number
  /** The longest open period, in ms (≥ `resetTime`). */
  maxResetTime: number
}

/** Options of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Counting window; see {@link RollingWindowOptions}. */
  rollingWindow?: RollingWindowOptions
  /**
   * Fraction (0 < f ≤ 1) of failed calls in the window at or above which the breaker opens.
   * @defaultValue 0.5
   */
  failureThreshold?: number
  /**
   * How long the breaker stays open before it lets probes through, in ms.
   * @defaultValue 30_000
   */
  resetTime?: number
  /**
   * Probes let through while half-open; every one must succeed to close the breaker.
   * @defaultValue 1
   */
  halfOpenRequests?: number
  /**
   * A probe still unsettled after this many ms counts as failed, so half-open never wedges.
   * @defaultValue 30_000
   */
  halfOpenTimeout?: number
  /** A successful call slower than this many ms counts as a failure (off when unset). */
  slowCallThreshold?: number
  /** Grow the open period on repeated trips (off when unset). */
  backoff?: BackoffOptions
  /**
   * Status codes that make a call's result a failure. `execute()` reads `statusCode` (undici)
   * or `status` (fetch) of the value the function returns; the interceptor reads the response.
   * @defaultValue `[]` for `CircuitBreaker`; `[500, 502, 503, 504]` for `circuitBreaker()`
   */
  statusCodes?: Iterable<number>
  /** Errors for which this returns true count neither as failure nor as success. */
  ignoreError?: (error: unknown) => boolean
  /** Called on every state change, after the state has changed. */
  onStateChange?: (event: StateChangeEvent) => void
  /**
   * Count failures together with breakers of the same name in other processes, through a
   * store (off by default: each breaker counts in its own process). Needs `name`.
   */
  shared?: SharedWindowOptions
  /** Reported in events and errors. */
  name?: string
  /**
   * The clock, in ms. Inject one in tests to drive time without sleeping.
   * @defaultValue `performance.now` (monotonic)
   */
  now?: () => number
}

/** Where and how a breaker counts together with other processes. */
export interface SharedWindowOptions {
  /** The store, for example `new RedisBreakerStore(...)` from `@x/circuit-breaker/redis`. */
  store: BreakerStore
  /** A store round trip slower than this counts as a failure, in ms. @defaultValue 200 */
  timeout?: number
  /** After a store failure, how long the breaker counts alone before it tries the store again, in ms. @defaultValue 1000 */
  retryInterval?: number
}

/** A validated, normalised set of options. */
export interface BreakerConfig {
  readonly timeWindow: number
  readonly bucketSize: number
  readonly buckets: number
  readonly requestVolumeThreshold: number
  readonly failureThreshold: number
  readonly resetTime: number
  readonly halfOpenRequests: number
  readonly halfOpenTimeout: number
  readonly slowCallThreshold: number
  readonly backoffFactor: number
  readonly maxResetTime: number
  readonly statusCodes: ReadonlySet<number> | null
  readonly ignoreError: ((error: unknown) => boolean) | null
  readonly onStateChange: ((event: StateChangeEvent) => void) | null
  readonly name: string | undefined
  readonly now: () => number
  readonly shared: { store: BreakerStore; timeout: number; retryInterval: number } | null
}

export const BREAKER_OPTION_KEYS: ReadonlySet<string> = new Set([
  'rollingWindow',
  'failureThreshold',
  'resetTime',
  'halfOpenRequests',
  'halfOpenTimeout',
  'slowCallThreshold',
  'backoff',
  'statusCodes',
  'ignoreError',
  'onStateChange',
  'name',
  'now',
  'shared',
])

const MAX_BUCKETS = 1000
const MAX_STATUS_CODES = 500
// About 24.8 days: the longest delay Node timers accept, and longer than any sane window.
const MAX_MS = 2_147_483_647

const defaultNow = (): number => performance.now()

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

export function checkKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) throw invalidOption(path === '' ? key : `${path}.${key}`, 'unknown option')
  }
}

export function integer(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(option, `must be an integer from ${min} to ${max}`)
  }
  return value
}

function duration(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_MS) {
    throw invalidOption(option, `must be a number of ms above 0 and at most ${MAX_MS}`)
  }
  return value
}

function fn<T>(value: unknown, option: string): T | null {
  if (value === undefined) return null
  if (typeof value !== 'function') throw invalidOption(option, 'must be a function')
  return value as T
}

/** Reads a set of HTTP status codes (100–599). */
export function statusCodeSet(value: unknown, option: string, fallback: readonly number[]): Set<number> {
  if (value === undefined) return new Set(fallback)
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function' ||
    typeof value === 'string'
  ) {
    throw invalidOption(option, 'must be an iterable of status codes')
  }
  const out = new Set<number>()
  let seen = 0
  for (const code of value as Iterable<unknown>) {
    // Counted per item, not per distinct code, so an endless iterator cannot hang us.
    if (++seen > MAX_STATUS_CODES) throw invalidOption(option, `at most ${MAX_STATUS_CODES} status codes`)
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) {
      throw invalidOption(option, 'each status code must be an integer from 100 to 599')
    }
    out.add(code)
  }
  return out
}

/**
 * Validates breaker options. `extraKeys` are accepted (and left to the caller) so the
 * interceptor and the keyed group can add their own.
 */
export function resolveBreakerOptions(
  options: unknown,
  defaultStatusCodes: readonly number[],
  extraKeys?: ReadonlySet<string>,
): BreakerConfig {
  if (options === undefined) options = {}
  if (!isPlainObject(options)) throw invalidOption('options', 'must be a plain object')
  for (const key of Object.keys(options)) {
    if (!BREAKER_OPTION_KEYS.has(key) && !extraKeys?.has(key)) throw invalidOption(key, 'unknown option')
  }
  const o = options as CircuitBreakerOptions

  let timeWindow = 60_000
  let bucketSize = 10_000
  let requestVolumeThreshold = 10
  if (o.rollingWindow !== undefined) {
    const rw: unknown = o.rollingWindow
    if (!isPlainObject(rw)) throw invalidOption('rollingWindow', 'must be a plain object')
    checkKeys(rw, new Set(['timeWindow', 'bucketSize', 'requestVolumeThreshold']), 'rollingWindow')
    timeWindow = integer(rw['timeWindow'], 'rollingWindow.timeWindow', timeWindow, 1, MAX_MS)
    // With only timeWindow given, default to ten buckets when they divide evenly, else one.
    const fallbackBucket =
      rw['timeWindow'] === undefined ? bucketSize : timeWindow % 10 === 0 ? timeWindow / 10 : timeWindow
    bucketSize = integer(rw['bucketSize'], 'rollingWindow.bucketSize', fallbackBucket, 1, MAX_MS)
    requestVolumeThreshold = integer(
      rw['requestVolumeThreshold'],
      'rollingWindow.requestVolumeThreshold',
      requestVolumeThreshold,
      1,
      Number.MAX_SAFE_INTEGER,
    )
  }
  if (bucketSize > timeWindow) throw invalidOption('rollingWindow.bucketSize', 'must not exceed timeWindow')
  if (timeWindow % bucketSize !== 0) {
    throw invalidOption('rollingWindow.bucketSize', 'must divide timeWindow evenly')
  }
  const buckets = timeWindow / bucketSize
  if (buckets > MAX_BUCKETS) {
    throw invalidOption('rollingWindow.bucketSize', `timeWindow / bucketSize must be at most ${MAX_BUCKETS}`)
  }

  let failureThreshold = 0.5
  if (o.failureThreshold !== undefined) {
    const f: unknown = o.failureThreshold
    if (typeof f !== 'number' || !(f > 0 && f <= 1)) {
      throw invalidOption('failureThreshold', 'must be a fraction above 0 and at most 1')
    }
    failureThreshold = f
  }

  const resetTime = duration(o.resetTime, 'resetTime', 30_000)
  const halfOpenRequests = integer(o.halfOpenRequests, 'halfOpenRequests', 1, 1, 10_000)
  const halfOpenTimeout = duration(o.halfOpenTimeout, 'halfOpenTimeout', 30_000)
  const slowCallThreshold = duration(o.slowCallThreshold, 'slowCallThreshold', Number.POSITIVE_INFINITY)

  let backoffFactor = 1
  let maxResetTime = resetTime
  if (o.backoff !== undefined) {
    const b: unknown = o.backoff
    if (!isPlainObject(b)) throw invalidOption('backoff', 'must be a plain object')
    checkKeys(b, new Set(['factor', 'maxResetTime']), 'backoff')
    const factor = b['factor'] === undefined ? 2 : b['factor']
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1 || factor > 1000) {
      throw invalidOption('backoff.factor', 'must be a number from 1 to 1000')
    }
    if (b['maxResetTime'] === undefined) throw invalidOption('backoff.maxResetTime', 'is required')
    maxResetTime = duration(b['maxResetTime'], 'backoff.maxResetTime', resetTime)
    if (maxResetTime < resetTime) throw invalidOption('backoff.maxResetTime', 'must be at least resetTime')
    backoffFactor = factor
  }

  const codes = statusCodeSet(o.statusCodes, 'statusCodes', defaultStatusCodes)
  const ignoreError = fn<(error: unknown) => boolean>(o.ignoreError, 'ignoreError')
  const onStateChange = fn<(event: StateChangeEvent) => void>(o.onStateChange, 'onStateChange')
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 1024)) {
    throw invalidOption('name', 'must be a string of at most 1024 characters')
  }
  const now = fn<() => number>(o.now, 'now') ?? defaultNow

  let shared: BreakerConfig['shared'] = null
  if (o.shared !== undefined) {
    const s: unknown = o.shared
    if (!isPlainObject(s)) throw invalidOption('shared', 'must be a plain object')
    checkKeys(s, new Set(['store', 'timeout', 'retryInterval']), 'shared')
    const store = s['store'] as BreakerStore | undefined
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof store.add !== 'function' ||
      typeof store.trip !== 'function'
    ) {
      throw invalidOption('shared.store', 'must have add() and trip() functions')
    }
    shared = {
      store,
      timeout: duration(s['timeout'], 'shared.timeout', 200),
      retryInterval: duration(s['retryInterval'], 'shared.retryInterval', 1_000),
    }
  }

  return Object.freeze({
    timeWindow,
    bucketSize,
    buckets,
    requestVolumeThreshold,
    failureThreshold,
    resetTime,
    halfOpenRequests,
    halfOpenTimeout,
    slowCallThreshold,
    backoffFactor,
    maxResetTime,
    statusCodes: codes.size === 0 ? null : codes,
    ignoreError,
    onStateChange,
    name: o.name,
    now,
    shared,
  })
}

/**
 * @internal An already validated config, passed where options go so a keyed group can make
 * breakers without validating its options again for every key.
 */
export class PresetConfig {
  constructor(readonly config: BreakerConfig) {}
}
