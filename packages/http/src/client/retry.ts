// Retries on undici's RetryHandler, with the policy its ready-made interceptor lacks: jitter,
// Retry-After honoured (seconds or HTTP-date) or refused explicitly when longer than
// maxWaitInterval, the last response returned (never thrown) when retries end, and a retry
// wait that an abort or the deadline cancels at once.
import { PREVIOUS_TARGETS, type RetryBudget } from '@x/client-pool'
import { RetryHandler } from 'undici'
import { isStreamBody } from './internal/body.js'
import { publishRetry, publishRetryBudgetExhausted, publishRetryRefused } from './internal/diagnostics.js'
import {
  type Controller,
  type Dispatch,
  type DispatchOptions,
  ForwardingHandler,
  type Handler,
  type Interceptor,
  type ResponseHeaders,
} from './internal/handler.js'
import { RETRY_GATE } from './internal/symbols.js'
import { invalidOption, type ResolvedRetry, type RetryConfig, resolveRetry } from './options.js'

// Failures before any byte of the request reached the server: safe to retry for any method.
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
])

// Failures after the request may have reached the server: retried for `methods` only.
const MAYBE_SENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_SESSION_ERROR',
])

function errorClass(err: Error): 'never-sent' | 'maybe-sent' | null {
  let e: unknown = err
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') {
      if (NEVER_SENT.has(code)) return 'never-sent'
      if (MAYBE_SENT.has(code)) return 'maybe-sent'
    }
    e = (e as { cause?: unknown }).cause
  }
  return null
}

/**
 * A `Retry-After` value in ms from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3);
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (Array.isArray(value)) value = value[0]
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  if (v.length === 0) return undefined
  let digits = true
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c < 48 || c > 57) {
      digits = false
      break
    }
  }
  if (digits) return v.length > 10 ? Number.POSITIVE_INFINITY : Number(v) * 1000
  // Every HTTP-date form starts with a day name; Date.parse alone would read "-5" as a year.
  const first = v.charCodeAt(0) | 0x20
  if (first < 97 || first > 122) return undefined
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

function fire(gate: RetryGate, dispatch: Dispatch, opts: DispatchOptions, handler: Handler): void {
  gate.timer = undefined
  if (gate.done) return
  try {
    dispatch(opts, handler)
  } catch (err) {
    gate.onResponseError(gate, err as Error)
  }
}

/**
 * The dispatch undici's RetryHandler uses for each retry: it waits the delay `decide` chose
 * first. RetryHandler itself would wait inside the decision, holding the failed attempt's
 * connection (its response paused) for as long as a Retry-After asks.
 */
function delayedDispatch(dispatch: Dispatch): Dispatch {
  return (opts: DispatchOptions, handler: Handler): boolean => {
    const gate = (opts as { [RETRY_GATE]?: RetryGate })[RETRY_GATE]
    if (gate === undefined || gate.delay === 0) return dispatch(opts, handler)
    const delay = gate.delay
    gate.delay = 0
    gate.timer = setTimeout(fire, delay, gate, dispatch, opts, handler)
    return true
  }
}

/** Per-request state of the retry step; also the controller the next handler sees. */
class RetryGate extends ForwardingHandler {
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** The wait before the next attempt, set by `decide`, spent by `delayedDispatch`. */
  delay = 0
  delivered = false
  done = false
  previousDelay: number

  constructor(
    handler: Handler,
    readonly policy: ResolvedRetry,
    readonly budget: RetryBudget | null,
  ) {
    super(handler)
    this.previousDelay = policy.interval
  }

  override abort(reason: Error): void {
    if (this.timer !== undefined) {
      // Between attempts nothing runs underneath: end here, and no attempt follows.
      clearTimeout(this.timer)
      this.timer = undefined
      if (!this.done) {
        this.done = true
        this.handler.onResponseError?.(this, reason)
      }
      return
    }
    super.abort(reason)
  }

  override onRequestStart(controller: Controller, context: unknown): void {
    if (this.done) return
    super.onRequestStart(controller, context)
  }

  override onResponseStart(
    c: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    if (this.done) return
    this.delivered = true
    super.onResponseStart(c, statusCode, headers, message)
  }

  override onResponseData(c: Controller, chunk: Buffer): void {
    if (!this.done) super.onResponseData(c, chunk)
  }

  override onResponseEnd(c: Controller, trailers: ResponseHeaders): void {
    if (this.done) return
    this.done = true
    super.onResponseEnd(c, trailers)
  }

  override onResponseError(c: Controller, err: Error): void {
    if (this.done) return
    this.done = true
    super.onResponseError(c, err)
  }
}

interface RetryContext {
  state: { counter: number }
  opts: DispatchOptions & { [RETRY_GATE]?: RetryGate }
}

function backoff(policy: ResolvedRetry, attempt: number, gate: RetryGate): number {
  const cap = policy.maxWaitInterval
  switch (policy.jitter) {
    case 'none':
      return Math.min(cap, policy.interval * policy.backOffFactor ** (attempt - 1))
    case 'decorrelated': {
      const hi = Math.min(cap, gate.previousDelay * 3)
      const d = Math.min(cap, policy.interval + Math.random() * Math.max(0, hi - policy.interval))
      gate.previousDelay = Math.max(policy.interval, d)
      return Math.round(d)
    }
    default:
      return Math.round(
        Math.random() * Math.min(cap, policy.interval * policy.backOffFactor ** (attempt - 1)),
      )
  }
}

/** The decision undici's RetryHandler asks for after each failed attempt. */
function decide(err: Error, context: RetryContext, cb: (err?: Error | null) => void): void {
  const { opts } = context
  const gate = opts[RETRY_GATE]
  if (gate === undefined || gate.done || gate.aborted || gate.delivered) {
    cb(err)
    return
  }
  const policy = gate.policy
  const attempt = context.state.counter
  if (attempt > policy.count) {
    cb(err)
    return
  }
  const method = opts.method
  const failure = err as Error & { code?: string; statusCode?: number; headers?: Record<string, unknown> }
  const url = `${opts.origin ?? ''}${opts.path}`
  let statusCode: number | undefined
  let delay: number | undefined
  if (failure.code === 'UND_ERR_REQ_RETRY' && typeof failure.statusCode === 'number') {
    statusCode = failure.statusCode
    if (!policy.statusCodes.has(statusCode) || !policy.methods.has(method)) {
      cb(err)
      return
    }
    const retryAfter = parseRetryAfter(failure.headers?.['retry-after'], Date.now())
    if (retryAfter !== undefined) {
      if (retryAfter > policy.maxWaitInterval) {
        publishRetryRefused({
          method,
          url,
          statusCode,
          retryAfterMs: retryAfter,
          maxWaitInterval: policy.maxWaitInterval,
        })
        cb(err)
        return
      }
      delay = retryAfter
    }
  } else {
    const kind = errorClass(err)
    if (kind === null || (kind === 'maybe-sent' && !policy.methods.has(method))) {
      cb(err)
      return
    }
  }
  if (gate.budget !== null && !gate.budget.tryWithdraw()) {
    // The budget is spent: retrying now would add load to what may be an outage.
    publishRetryBudgetExhausted({ method, url, attempt, statusCode })
    cb(err)
    return
  }
  if (delay === undefined) delay = backoff(policy, attempt, gate)
  publishRetry({
    method,
    url,
    attempt,
    delayMs: delay,
    statusCode,
    error: statusCode === undefined ? err : undefined,
  })
  gate.delay = delay
  cb(null)
}

/** Options of {@link retry}. */
export interface RetryOptions extends RetryConfig {
  /**
   * Retries draw from this budget (`createRetryBudget()` of `@x/client-pool`, shared with a
   * balancer's failovers); each request deposits into it. None by default.
   */
  budget?: RetryBudget
}

/**
 * An interceptor that retries failed attempts: responses with a status in `statusCodes` and
 * network failures, for `methods` (any method when the request never left), waiting
 * `interval × backOffFactor^n` with jitter, or `Retry-After` up to `maxWaitInterval`. A
 * streamed body that was sent is not replayed, so such a request is not retried. When
 * retries end, the last response is returned as it is.
 */
export function retry(options: RetryOptions = {}): Interceptor {
  const { budget: given, ...config } = options ?? {}
  if (
    given !== undefined &&
    (typeof given !== 'object' ||
      given === null ||
      typeof given.tryWithdraw !== 'function' ||
      typeof given.deposit !== 'function')
  ) {
    throw invalidOption('retryConfig.budget', 'must be a budget from createRetryBudget()')
  }
  const budget = given ?? null
  const policy = resolveRetry(config, 'retryConfig')
  const retryOptions = {
    retry: decide as unknown as NonNullable<RetryHandler.RetryOptions['retry']>,
    throwOnError: false,
    maxRetries: policy.count,
    statusCodes: [...policy.statusCodes],
    methods: [...policy.methods],
  }
  if (policy.count === 0) return (dispatch: Dispatch) => dispatch
  return (dispatch: Dispatch) => {
    const later = delayedDispatch(dispatch)
    return function retryDispatch(opts: DispatchOptions, handler: Handler): boolean {
      if (budget !== null) budget.deposit()
      // A streamed body is consumed by the first attempt: such a request is never retried.
      if (opts.body != null && isStreamBody(opts.body)) return dispatch(opts, handler)
      const gate = new RetryGate(handler, policy, budget)
      // One list for every attempt: a balancer below sends a retry to a target not yet used.
      const first = { ...opts, [PREVIOUS_TARGETS]: [] as string[] }
      const retrying = new RetryHandler(
        { ...first, [RETRY_GATE]: gate, retryOptions } as RetryHandler.RetryOptions & DispatchOptions,
        { dispatch: later, handler: gate },
      )
      return dispatch(first, retrying)
    }
  }
}
