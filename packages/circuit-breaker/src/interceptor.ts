// The undici interceptor: one breaker per key (the origin by default); I/O errors and the
// configured statuses count as failures; an open circuit fails the request through the
// handler's onResponseError, never by throwing out of dispatch.
import type { Dispatcher } from 'undici'
import {
  type CircuitBreakerGroup,
  type CircuitBreakerGroupOptions,
  configOfGroup,
  groupFromConfig,
  resolveGroupOptions,
} from './breaker-group.js'
import type { CircuitPermit } from './circuit-breaker.js'
import { CircuitBreakerError, invalidOption } from './errors.js'
import { BREAKER_OPTION_KEYS, type BreakerConfig, isPlainObject } from './options.js'

type DispatchOptions = Dispatcher.DispatchOptions
type DispatchHandler = Dispatcher.DispatchHandler
type DispatchController = Dispatcher.DispatchController
type Dispatch = Dispatcher.Dispatch

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerInterceptorOptions extends CircuitBreakerGroupOptions {
  /**
   * Picks the breaker for a request: per origin, per target, per route. Returning undefined
   * sends the request past every breaker.
   * @defaultValue the request's origin
   */
  key?: (options: DispatchOptions) => string | undefined
  /**
   * Use this group of breakers (shared with a balancer, say) instead of making one; breaker
   * options must then be given to the group, not here.
   */
  breakers?: CircuitBreakerGroup
}

/** An undici interceptor that also exposes the breakers it uses. */
export interface CircuitBreakerInterceptor {
  (dispatch: Dispatch): Dispatch
  /** The keyed breakers behind this interceptor: `breakers.isAvailable(key)`, `breakers.get(key).state`. */
  readonly breakers: CircuitBreakerGroup
}

const DEFAULT_STATUS_CODES: readonly number[] = [500, 502, 503, 504]
const NO_CODES: ReadonlySet<number> = new Set()
const INTERCEPTOR_KEYS: ReadonlySet<string> = new Set(['maxBreakers', 'key', 'breakers'])

/**
 * Errors that say nothing about the target's health: the caller's own mistakes, a client
 * that was closed, a body over the caller's size limit, and another breaker's rejection.
 */
const NOT_TARGET_FAILURES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_ABORTED',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'X_ERR_CIRCUIT_OPEN',
])

function isTargetFailure(error: unknown, ignore: ((error: unknown) => boolean) | null): boolean {
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; name?: unknown }
    if (typeof e.code === 'string' && NOT_TARGET_FAILURES.has(e.code)) return false
    if (e.name === 'AbortError') return false
  }
  return ignore === null || !ignore(error)
}

function originKey(options: DispatchOptions): string {
  const origin = options.origin
  if (typeof origin === 'string') return origin
  // A Client or Pool dispatches without an origin: it has one target, so one breaker.
  return origin === undefined || origin === null ? '' : origin.origin
}

/** The controller handed to a handler whose request was never started. */
class RejectedController implements DispatchController {
  rawHeaders = null
  rawTrailers = null
  get aborted(): boolean {
    return false
  }
  get paused(): boolean {
    return false
  }
  get reason(): Error | null {
    return null
  }
  abort(): void {}
  pause(): void {}
  resume(): void {}
}

/**
 * Wraps the caller's handler to see how the request ends, and stands in as the controller
 * the caller's handler sees, so an abort from above (the caller cancelling) is told apart
 * from a failure below (the target or an attempt time-out).
 */
class BreakerHandler implements DispatchHandler, DispatchController {
  readonly #handler: DispatchHandler
  readonly #permit: CircuitPermit
  readonly #codes: ReadonlySet<number>
  readonly #ignore: ((error: unknown) => boolean) | null
  readonly #now: (() => number) | null
  readonly #slowMs: number
  readonly #startedAt: number
  #durationMs = 0
  #status = 0
  #settled = false
  #callerAborted = false
  #controller: DispatchController | null = null

  constructor(handler: DispatchHandler, permit: CircuitPermit, config: BreakerConfig) {
    this.#handler = handler
    this.#permit = permit
    this.#codes = config.statusCodes ?? NO_CODES
    this.#ignore = config.ignoreError
    this.#slowMs = config.slowCallThreshold
    // The clock is read only when slow calls are counted.
    this.#now = config.slowCallThreshold === Number.POSITIVE_INFINITY ? null : config.now
    this.#startedAt = this.#now === null ? 0 : this.#now()
  }

  // --- the controller the caller's handler sees ---------------------------------------

  get aborted(): boolean {
    return this.#controller?.aborted ?? this.#callerAborted
  }
  get paused(): boolean {
    return this.#controller?.paused ?? false
  }
  get reason(): Error | null {
    return this.#controller?.reason ?? null
  }
  get rawHeaders(): NonNullable<DispatchController['rawHeaders']> | null {
    return this.#controller?.rawHeaders ?? null
  }
  get rawTrailers(): NonNullable<DispatchController['rawTrailers']> | null {
    return this.#controller?.rawTrailers ?? null
  }
  abort(reason: Error): void {
    this.#callerAborted = true
    this.#controller?.abort(reason)
  }
  pause(): void {
    this.#controller?.pause()
  }
  resume(): void {
    this.#controller?.resume()
  }

  // --- the handler undici calls --------------------------------------------------------

  onRequestStart(controller: DispatchController, context: unknown): void {
    this.#controller = controller
    this.#handler.onRequestStart?.(this, context)
  }

  onRequestUpgrade(
    controller: DispatchController,
    statusCode: number,
    headers: Parameters<NonNullable<DispatchHandler['onRequestUpgrade']>>[2],
    socket: Parameters<NonNullable<DispatchHandler['onRequestUpgrade']>>[3],
  ): void {
    this.#controller = controller
    this.#measure()
    this.#settle(this.#codes.has(statusCode) ? FAILURE : SUCCESS)
    this.#handler.onRequestUpgrade?.(this, statusCode, headers, socket)
  }

  onResponseStart(
    controller: DispatchController,
    statusCode: number,
    headers: Parameters<NonNullable<DispatchHandler['onResponseStart']>>[2],
    statusMessage?: string,
  ): void {
    this.#controller = controller
    // 1xx heads come before the final one and decide nothing.
    if (statusCode >= 200 && this.#status === 0) {
      this.#status = statusCode
      this.#measure()
      // A failing status or a slow head is known now; a good one waits for the body to end.
      if (this.#codes.has(statusCode) || this.#durationMs > this.#slowMs) this.#settle(FAILURE)
    }
    this.#handler.onResponseStart?.(this, statusCode, headers, statusMessage)
  }

  onResponseData(_controller: DispatchController, chunk: Buffer): void {
    this.#handler.onResponseData?.(this, chunk)
  }

  onResponseEnd(
    _controller: DispatchController,
    trailers: Parameters<NonNullable<DispatchHandler['onResponseEnd']>>[1],
  ): void {
    if (!this.#settled) {
      this.#settled = true
      this.#permit.success(this.#durationMs)
    }
    this.#handler.onResponseEnd?.(this, trailers)
  }

  onResponseError(_controller: DispatchController, error: Error): void {
    if (!this.#settled) {
      this.#settled = true
      if (this.#callerAborted || !isTargetFailure(error, this.#ignore)) this.#permit.release()
      else this.#permit.failure()
    }
    this.#handler.onResponseError?.(this, error)
  }

  /** Time to the response head: what a slow target costs, whatever the body's size. */
  #measure(): void {
    if (this.#now !== null) this.#durationMs = this.#now() - this.#startedAt
  }

  #settle(verdict: number): void {
    if (this.#settled) return
    this.#settled = true
    if (verdict === FAILURE) this.#permit.failure()
    else this.#permit.success(this.#durationMs)
  }
}

const SUCCESS = 0
const FAILURE = 1

/**
 * An undici interceptor with one circuit breaker per key (the origin by default). Compose it
 * with `agent.compose(circuitBreaker(options))`; throws `X_ERR_CIRCUIT_INVALID_OPTION` for a bad option.
 */
export function circuitBreaker(options?: CircuitBreakerInterceptorOptions): CircuitBreakerInterceptor {
  if (options === undefined) options = {}
  if (!isPlainObject(options)) throw invalidOption('options', 'must be a plain object')
  const keyOf = options.key ?? originKey
  if (typeof keyOf !== 'function') throw invalidOption('key', 'must be a function')

  let group: CircuitBreakerGroup
  if (options.breakers !== undefined) {
    const given = options.breakers
    if (configOfGroup(given) === undefined) {
      throw invalidOption('breakers', 'must be a group from createCircuitBreakers()')
    }
    for (const key of Object.keys(options)) {
      if (BREAKER_OPTION_KEYS.has(key) || key === 'maxBreakers') {
        throw invalidOption(key, 'give breaker options to the group passed as `breakers`, not here')
      }
    }
    for (const key of Object.keys(options)) {
      if (!INTERCEPTOR_KEYS.has(key)) throw invalidOption(key, 'unknown option')
    }
    group = given as CircuitBreakerGroup
  } else {
    const { config, maxBreakers } = resolveGroupOptions(options, DEFAULT_STATUS_CODES, INTERCEPTOR_KEYS)
    group = groupFromConfig(config, maxBreakers)
  }
  const breakers = group
  const config = configOfGroup(group)!

  const interceptor = (dispatch: Dispatch): Dispatch =>
    function circuitBreakerDispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
      let permit: CircuitPermit | CircuitBreakerError
      try {
        const key = keyOf(opts)
        if (key === undefined) return dispatch(opts, handler)
        permit = breakers.get(key).tryAcquire()
      } catch (error) {
        // A throwing key function or a bad key fails this request, not the process.
        handler.onResponseError?.(new RejectedController(), error as Error)
        return true
      }
      if (permit instanceof CircuitBreakerError) {
        handler.onResponseError?.(new RejectedController(), permit)
        return true
      }
      const wrapped = new BreakerHandler(handler, permit, config)
      try {
        return dispatch(opts, wrapped)
      } catch (error) {
        permit.release()
        throw error
      }
    }
  Object.defineProperty(interceptor, 'breakers', { value: breakers, enumerable: true })
  return interceptor as CircuitBreakerInterceptor
}
