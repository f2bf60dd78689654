// Choosing a target among several, as an undici interceptor: round-robin, least-request
// (power of two choices), ordered failover or a custom rule; failover to the next target;
// passive outlier ejection with a panic threshold; failovers drawn from a retry budget.
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import { ClientPoolError } from './errors.js'
import { BalanceHandler } from './internal/balance-handler.js'
import { type BalanceConfig, BalanceState, TargetState } from './internal/balance-state.js'
import { MAX_TIMER_MS } from './options.js'
import type { RetryBudget } from './retry-budget.js'

type Dispatch = Dispatcher.Dispatch
type DispatchOptions = Dispatcher.DispatchOptions
type Interceptor = Dispatcher.DispatcherComposeInterceptor

/** One target of a {@link balancer}. */
export interface BalancerTargetOptions {
  /** `http(s)://host[:port][/base/path]`: requests go to this origin, their path appended to the base path. */
  url: string | URL
  /**
   * Asked before the target is picked; false skips it (a circuit breaker that is open, say).
   * The balancer never calls a target that says it is unavailable.
   */
  available?: () => boolean
  /** An interceptor applied to this target's requests only (its own circuit breaker, say). */
  interceptor?: Interceptor
}

/** A target as the balancer sees it; what a custom rule chooses from. */
export interface BalancerTarget {
  /** The target's URL, without a trailing slash. */
  readonly url: string
  /** `scheme://host:port` of the target. */
  readonly origin: string
  /** The base path requests are appended to (`''` for none). */
  readonly basePath: string
  /** Its position in `targets`. */
  readonly index: number
  /** Requests sent to it that have not ended. */
  readonly inflight: number
  /** Whether outlier detection has it ejected. */
  readonly ejected: boolean
}

/** The request a target is being picked for. */
export interface BalancerRequest {
  readonly method: string
  /** The path as the caller gave it, before the target's base path is added. */
  readonly path: string
  readonly headers: DispatchOptions['headers']
  /** 0 for the first pick, then 1, 2, ... for each failover. */
  readonly attempt: number
}

/**
 * A custom balancing rule. `targets` holds the targets that may take this request now
 * (available, not ejected unless in panic, not yet tried by it), never empty; return one of
 * them, or undefined to pick none (the request then fails with `X_ERR_POOL_NO_TARGET`).
 */
export interface BalancerRule {
  select(targets: readonly BalancerTarget[], request: BalancerRequest): BalancerTarget | undefined
}

/** How a target is picked: in turn, the less loaded of two random ones, the first in order, or a rule. */
export type BalancerAlgorithm = 'round-robin' | 'least-request' | 'failover' | BalancerRule

/** When a request moves on to another target. */
export interface FailoverOptions {
  /**
   * Response statuses that move the request on to the next target (the response is dropped,
   * unless no target is left: then it is returned).
   * @defaultValue []
   */
  statusCodes?: Iterable<number>
  /**
   * Methods that move on after a failure that may have reached the target (a reset
   * connection, a failover status). Any method moves on when the request never left
   * (connection refused, connect time-out, DNS failure, an open circuit).
   * @defaultValue GET, HEAD, OPTIONS, PUT, DELETE, TRACE
   */
  methods?: Iterable<string>
  /**
   * Wait between a failure and the next target, in ms.
   * @defaultValue 0
   */
  interval?: number
}

/** Passive outlier detection, as Envoy does it. */
export interface OutlierDetectionOptions {
  /**
   * Failures in a row that eject a target.
   * @defaultValue 5
   */
  consecutiveFailures?: number
  /**
   * Ejection time, in ms, multiplied by how many times the target was ejected (the count
   * drops by one for each `baseEjectionTime` spent back in service).
   * @defaultValue 30_000
   */
  baseEjectionTime?: number
  /**
   * The longest ejection, in ms.
   * @defaultValue 300_000
   */
  maxEjectionTime?: number
  /**
   * The most targets ejected at once, as a percentage of all targets (at least one when above 0).
   * @defaultValue 10
   */
  maxEjectionPercent?: number
  /**
   * Response statuses that count as failures; I/O errors always count.
   * @defaultValue [500, 502, 503, 504]
   */
  statusCodes?: Iterable<number>
}

/** Options of {@link balancer}. */
export interface BalancerOptions {
  /** The targets, at least one. */
  targets: ReadonlyArray<BalancerTargetOptions | string | URL>
  /** @defaultValue 'round-robin' */
  algorithm?: BalancerAlgorithm
  /** Move a failed request on to another target; `true` takes the defaults. @defaultValue true */
  failover?: boolean | FailoverOptions
  /** Eject targets that keep failing; `true` takes the defaults. @defaultValue true */
  outlierDetection?: boolean | OutlierDetectionOptions
  /**
   * Percentage of healthy targets (not ejected, available) below which ejection is ignored
   * and load spreads over every available target; 0 never panics.
   * @defaultValue 50
   */
  panicThreshold?: number
  /** Failovers draw from this budget (share it with a retry step); none by default. */
  retryBudget?: RetryBudget
  /**
   * Whether each request dispatched here deposits into `retryBudget`. Set false when a step
   * above (a retry interceptor sharing the budget) deposits for it.
   * @defaultValue true
   */
  depositRequests?: boolean
  /**
   * Requests for which this returns true go straight to the dispatcher below, unbalanced (a
   * redirect that names one server, say).
   */
  bypass?: (options: DispatchOptions) => boolean
  /** The clock for ejections, in ms. @defaultValue `performance.now` */
  now?: () => number
  /** Random numbers in [0, 1) for least-request. @defaultValue `Math.random` */
  random?: () => number
}

/** Statistics of one target, from {@link Balancer.stats}. */
export interface BalancerTargetStats {
  readonly url: string
  readonly inflight: number
  /** Attempts sent to it. */
  readonly requests: number
  /** Attempts that failed (I/O errors and outlier statuses). */
  readonly failures: number
  readonly consecutiveFailures: number
  readonly ejected: boolean
  /** Times it was ejected, less one for each `baseEjectionTime` spent back in service. */
  readonly ejections: number
  /** What its `available()` says now. */
  readonly available: boolean
}

/** The state behind a {@link balancer} interceptor. */
export interface Balancer {
  /** The targets, in the order given. */
  readonly targets: readonly BalancerTarget[]
  /** Whether too few targets are healthy and ejection is being ignored. */
  readonly panicking: boolean
  /** A snapshot of every target. */
  stats(): BalancerTargetStats[]
}

/** An undici interceptor that balances requests over targets, with its state as `.balancer`. */
export interface BalancerInterceptor {
  (dispatch: Dispatch): Dispatch
  readonly balancer: Balancer
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
const KNOWN = new Set([
  'targets',
  'algorithm',
  'failover',
  'outlierDetection',
  'panicThreshold',
  'retryBudget',
  'depositRequests',
  'bypass',
  'now',
  'random',
])
const MAX_TARGETS = 1000

function invalid(option: string, why: string, cause?: unknown): ClientPoolError {
  return new ClientPoolError('X_ERR_POOL_INVALID_OPTION', `${option} ${why}`, {
    option,
    ...(cause === undefined ? {} : { cause }),
  })
}

function plainObject(value: unknown, option: string, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(option, 'must be an object')
  }
  for (const k of Object.keys(value))
    if (!known.includes(k)) throw invalid(`${option}.${k}`, 'is not an option')
  return value as Record<string, unknown>
}

function integer(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, `must be an integer from ${min} to ${max}`)
  }
  return value
}

function percent(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0 && value <= 100)) {
    throw invalid(option, 'must be a number from 0 to 100')
  }
  return value
}

function statuses(value: unknown, option: string, fallback: readonly number[]): ReadonlySet<number> {
  if (value === undefined) return new Set(fallback)
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw invalid(option, 'must be an iterable of status codes')
  }
  const out = new Set<number>()
  for (const code of value as Iterable<unknown>) {
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) {
      throw invalid(option, 'must hold status codes from 100 to 599')
    }
    out.add(code)
    if (out.size > 500) throw invalid(option, 'must hold at most 500 status codes')
  }
  return out
}

function methods(value: unknown, option: string): ReadonlySet<string> {
  if (value === undefined) return new Set(IDEMPOTENT)
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw invalid(option, 'must be an iterable of method names')
  }
  const out = new Set<string>()
  for (const m of value as Iterable<unknown>) {
    if (
      typeof m !== 'string' ||
      m.length === 0 ||
      m.length > 64 ||
      !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m)
    ) {
      throw invalid(option, 'must hold method names')
    }
    out.add(m.toUpperCase())
  }
  return out
}

/** Parses one target; its URL must be `http(s)://host[:port][/path]`. */
function parseTarget(value: unknown, i: number): TargetState {
  const option = `targets[${i}]`
  let raw: unknown = value
  let available: (() => boolean) | null = null
  let interceptor: Interceptor | null = null
  if (typeof value === 'object' && value !== null && !(value instanceof URL)) {
    const o = plainObject(value, option, ['url', 'available', 'interceptor'])
    raw = o.url
    if (o.available !== undefined) {
      if (typeof o.available !== 'function') throw invalid(`${option}.available`, 'must be a function')
      available = o.available as () => boolean
    }
    if (o.interceptor !== undefined) {
      if (typeof o.interceptor !== 'function')
        throw invalid(`${option}.interceptor`, 'must be an interceptor')
      interceptor = o.interceptor as Interceptor
    }
  }
  let url: URL
  try {
    url = new URL(raw as string | URL)
  } catch (cause) {
    throw invalid(`${option}.url`, 'must be an http(s) URL', cause)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid(`${option}.url`, 'must be an http(s) URL')
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw invalid(`${option}.url`, 'must not carry credentials, a query or a fragment')
  }
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '')
  return new TargetState(i, `${url.origin}${basePath}`, url.origin, basePath, available, interceptor)
}

function resolveAlgorithm(value: unknown): BalancerAlgorithm {
  if (value === undefined) return 'round-robin'
  if (value === 'round-robin' || value === 'least-request' || value === 'failover') return value
  if (typeof value === 'object' && value !== null && typeof (value as BalancerRule).select === 'function') {
    return value as BalancerRule
  }
  throw invalid('algorithm', "must be 'round-robin', 'least-request', 'failover' or an object with select()")
}

/** Validates `options` into the balancer's configuration; throws `X_ERR_POOL_INVALID_OPTION`. */
function resolveBalancerOptions(options: unknown): { config: BalanceConfig; targets: TargetState[] } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'must be an object')
  }
  const o = options as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw invalid(k, 'is not an option')
  if (!Array.isArray(o.targets) || o.targets.length === 0 || o.targets.length > MAX_TARGETS) {
    throw invalid('targets', `must be an array of 1 to ${MAX_TARGETS} targets`)
  }
  const targets = (o.targets as unknown[]).map(parseTarget)

  let failover: BalanceConfig['failover'] = null
  if (o.failover === undefined || o.failover === true) {
    failover = { statusCodes: new Set(), methods: new Set(IDEMPOTENT), interval: 0 }
  } else if (o.failover !== false) {
    const f = plainObject(o.failover, 'failover', ['statusCodes', 'methods', 'interval'])
    failover = {
      statusCodes: statuses(f.statusCodes, 'failover.statusCodes', []),
      methods: methods(f.methods, 'failover.methods'),
      interval: integer(f.interval, 'failover.interval', 0, 0, MAX_TIMER_MS),
    }
  }

  let outlier: BalanceConfig['outlier'] = null
  if (o.outlierDetection === undefined || o.outlierDetection === true) {
    outlier = {
      consecutiveFailures: 5,
      baseEjectionTime: 30_000,
      maxEjectionTime: 300_000,
      maxEjectionPercent: 10,
      statusCodes: new Set([500, 502, 503, 504]),
    }
  } else if (o.outlierDetection !== false) {
    const d = plainObject(o.outlierDetection, 'outlierDetection', [
      'consecutiveFailures',
      'baseEjectionTime',
      'maxEjectionTime',
      'maxEjectionPercent',
      'statusCodes',
    ])
    const baseEjectionTime = integer(
      d.baseEjectionTime,
      'outlierDetection.baseEjectionTime',
      30_000,
      1,
      MAX_TIMER_MS,
    )
    const maxEjectionTime = integer(
      d.maxEjectionTime,
      'outlierDetection.maxEjectionTime',
      Math.max(300_000, baseEjectionTime),
      1,
      MAX_TIMER_MS,
    )
    if (maxEjectionTime < baseEjectionTime) {
      throw invalid('outlierDetection.maxEjectionTime', 'must not be less than baseEjectionTime')
    }
    outlier = {
      consecutiveFailures: integer(
        d.consecutiveFailures,
        'outlierDetection.consecutiveFailures',
        5,
        1,
        1_000_000,
      ),
      baseEjectionTime,
      maxEjectionTime,
      maxEjectionPercent: percent(d.maxEjectionPercent, 'outlierDetection.maxEjectionPercent', 10),
      statusCodes: statuses(d.statusCodes, 'outlierDetection.statusCodes', [500, 502, 503, 504]),
    }
  }

  const budget = o.retryBudget
  if (
    budget !== undefined &&
    (typeof budget !== 'object' ||
      budget === null ||
      typeof (budget as RetryBudget).tryWithdraw !== 'function' ||
      typeof (budget as RetryBudget).deposit !== 'function')
  ) {
    throw invalid('retryBudget', 'must be a budget from createRetryBudget()')
  }
  if (o.depositRequests !== undefined && typeof o.depositRequests !== 'boolean') {
    throw invalid('depositRequests', 'must be a boolean')
  }
  if (o.bypass !== undefined && typeof o.bypass !== 'function') throw invalid('bypass', 'must be a function')
  const now = o.now ?? performance.now.bind(performance)
  if (typeof now !== 'function') throw invalid('now', 'must be a function')
  const random = o.random ?? Math.random
  if (typeof random !== 'function') throw invalid('random', 'must be a function')

  return {
    targets,
    config: {
      algorithm: resolveAlgorithm(o.algorithm),
      failover,
      outlier,
      panicThreshold: percent(o.panicThreshold, 'panicThreshold', 50),
      budget: (budget as RetryBudget | undefined) ?? null,
      deposit: o.depositRequests !== false,
      bypass: (o.bypass as ((options: DispatchOptions) => boolean) | undefined) ?? null,
      now: now as () => number,
      random: random as () => number,
    },
  }
}

/**
 * An undici interceptor that sends each request to one of several targets, moving a failed
 * request on to the next, ejecting targets that keep failing, and never calling a target
 * that says it is unavailable. The request's origin is replaced by the target's, its path
 * appended to the target's base path. Throws `X_ERR_POOL_INVALID_OPTION` for a bad option.
 */
export function balancer(options: BalancerOptions): BalancerInterceptor {
  const { config, targets } = resolveBalancerOptions(options)
  const state = new BalanceState(targets, config)
  const interceptor = (dispatch: Dispatch): Dispatch => {
    // Each target's own interceptor (its breaker) wraps the dispatch below this step.
    const dispatches = targets.map((t) => (t.interceptor === null ? dispatch : t.interceptor(dispatch)))
    const bypass = config.bypass
    return function balancerDispatch(opts: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      if (bypass?.(opts)) return dispatch(opts, handler)
      if (config.deposit && config.budget !== null) config.budget.deposit()
      new BalanceHandler(state, dispatches, opts, handler).start()
      return true
    }
  }
  Object.defineProperty(interceptor, 'balancer', { value: state.view, enumerable: true })
  return interceptor as BalancerInterceptor
}
