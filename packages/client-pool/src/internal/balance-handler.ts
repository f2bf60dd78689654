// One request's passage through the balancer: pick a target, send the attempt there, and on a
// failure move on to another target (after `interval`, within the retry budget) until one
// answers or none is left. It is also the stable controller the caller's handler sees.
import type { Dispatcher } from 'undici'
import { ClientPoolError, type TargetFailure } from '../errors.js'
import type { BalanceState, PickContext, TargetState } from './balance-state.js'
import { publishBudgetExhausted, publishFailover } from './diagnostics.js'

/**
 * A list a retry layer above the balancer may put in a request's dispatch options, the same
 * array on every attempt: the balancer adds the URL of each target it sends an attempt to, and
 * a later attempt goes elsewhere when another target may take it (Envoy's `previous_hosts`).
 */
export const PREVIOUS_TARGETS: unique symbol = Symbol.for('x.client-pool.previous-targets') as never

type Controller = Dispatcher.DispatchController
type Handler = Dispatcher.DispatchHandler
type Dispatch = Dispatcher.Dispatch
type DispatchOptions = Dispatcher.DispatchOptions
type ResponseHeaders = Parameters<NonNullable<Handler['onResponseStart']>>[2]
type RawHeaders = NonNullable<Controller['rawHeaders']> | null

// What a failed attempt says about moving on.
/** The target refused without trying (an open circuit below): move on, whatever the method. */
const REFUSED = 0
/** The request never left (refused, connect time-out, DNS, TLS handshake): move on, any method. */
const NEVER_SENT = 1
/** The request may have reached the target (reset, closed mid-exchange): move on for `methods` only. */
const MAYBE_SENT = 2
/** A failure that is the caller's or this process's (bad arguments, a closed client): stop. */
const LOCAL = 3
/** Anything else: counts against the target, but the request stops here. */
const OTHER = 4

const BY_CODE = new Map<string, number>([
  ['X_ERR_CIRCUIT_OPEN', REFUSED],
  ['ECONNREFUSED', NEVER_SENT],
  ['UND_ERR_CONNECT_TIMEOUT', NEVER_SENT],
  ['ETIMEDOUT', NEVER_SENT],
  ['ENOTFOUND', NEVER_SENT],
  ['EAI_AGAIN', NEVER_SENT],
  ['EHOSTUNREACH', NEVER_SENT],
  ['ENETUNREACH', NEVER_SENT],
  ['EHOSTDOWN', NEVER_SENT],
  ['ENETDOWN', NEVER_SENT],
  ['EADDRNOTAVAIL', NEVER_SENT],
  ['ECONNRESET', MAYBE_SENT],
  ['EPIPE', MAYBE_SENT],
  ['ECONNABORTED', MAYBE_SENT],
  ['UND_ERR_SOCKET', MAYBE_SENT],
  ['UND_ERR_HEADERS_TIMEOUT', MAYBE_SENT],
  ['ERR_HTTP2_STREAM_ERROR', MAYBE_SENT],
  ['ERR_HTTP2_GOAWAY_SESSION', MAYBE_SENT],
  ['ERR_HTTP2_SESSION_ERROR', MAYBE_SENT],
  ['UND_ERR_INVALID_ARG', LOCAL],
  ['UND_ERR_INVALID_RETURN_VALUE', LOCAL],
  ['UND_ERR_ABORTED', LOCAL],
  ['UND_ERR_DESTROYED', LOCAL],
  ['UND_ERR_CLOSED', LOCAL],
  ['UND_ERR_NOT_SUPPORTED', LOCAL],
  ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', LOCAL],
  ['UND_ERR_RES_EXCEEDED_MAX_SIZE', LOCAL],
  ['X_ERR_POOL_CLOSED', LOCAL],
  ['X_ERR_POOL_INVALID_ORIGIN', LOCAL],
  ['X_ERR_POOL_BALANCER_RULE', LOCAL],
])

/** A pool wait time-out is this process's congestion, not the target's fault: another target may have room. */
const WAIT_TIMEOUT = 'X_ERR_POOL_WAIT_TIMEOUT'

function classifyCode(code: string): number | undefined {
  const known = BY_CODE.get(code)
  if (known !== undefined) return known
  if (code.startsWith('HPE_')) return MAYBE_SENT
  // A failed TLS handshake happens before any byte of the request is sent.
  if (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('UNABLE_TO_') ||
    code.includes('CERT')
  ) {
    return NEVER_SENT
  }
  return undefined
}

/** Walks the cause chain for the first code that says what kind of failure this is. */
function classify(err: unknown): number {
  let e: unknown = err
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const x = e as { code?: unknown; name?: unknown; cause?: unknown }
    if (typeof x.code === 'string') {
      if (x.code === WAIT_TIMEOUT) return NEVER_SENT
      const kind = classifyCode(x.code)
      if (kind !== undefined) return kind
    }
    if (x.name === 'AbortError') return LOCAL
    e = x.cause
  }
  return OTHER
}

function isWaitTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === WAIT_TIMEOUT
}

/** Bodies that can be sent again; a stream is consumed by the first attempt. */
function replayable(body: DispatchOptions['body']): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array
}

// A failover response's own body is read and dropped; past this many bytes its connection is
// given up instead, so a hostile 503 cannot stall the request.
const MAX_DISCARD = 64 * 1024

const IDLE = 0
const RUNNING = 1
const DISCARDING = 2
const DELIVERING = 3
const WAITING = 4
const DONE = 5

/**
 * The context each attempt's `onRequestStart` gets: `target` (the target's URL) and `url`
 * (the URL sent), the latter built only when read.
 */
class AttemptContext {
  constructor(
    readonly t: TargetState,
    readonly path: string,
  ) {}
  get target(): string {
    return this.t.url
  }
  get url(): string {
    return `${this.t.origin}${this.t.basePath}${this.path}`
  }
}

function fire(h: BalanceHandler): void {
  h.timer = undefined
  h.next()
}

export class BalanceHandler implements Handler, Controller, PickContext {
  attempt = 0
  tried: TargetState[] | null = null
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  #phase = IDLE
  #current: TargetState | null = null
  #open = false
  #target: Controller | null = null
  #failures: TargetFailure[] | null = null
  #failedAtHead = false
  #discarded = 0
  #skip: Error | null = null
  #started = false
  #paused = false
  #aborted = false
  #reason: Error | null = null

  constructor(
    readonly state: BalanceState,
    readonly dispatches: readonly Dispatch[],
    readonly opts: DispatchOptions,
    readonly handler: Handler,
  ) {}

  // --- the request a custom rule sees ---------------------------------------------------

  get method(): string {
    return this.opts.method
  }

  get path(): string {
    return this.opts.path
  }

  get headers(): DispatchOptions['headers'] {
    return this.opts.headers
  }

  // --- the controller the caller's handler sees -------------------------------------------

  get paused(): boolean {
    return this.#paused
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get reason(): Error | null {
    return this.#reason
  }

  get rawHeaders(): RawHeaders {
    return this.#target?.rawHeaders ?? null
  }

  get rawTrailers(): RawHeaders {
    return this.#target?.rawTrailers ?? null
  }

  pause(): void {
    this.#paused = true
    this.#target?.pause()
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#target?.resume()
  }

  abort(reason: Error): void {
    if (this.#aborted || this.#phase === DONE) return
    this.#aborted = true
    this.#reason = reason
    if (this.#phase === WAITING) {
      // Between attempts nothing runs below: end here, and no attempt follows.
      clearTimeout(this.timer)
      this.timer = undefined
      this.#finish(reason)
      return
    }
    this.#target?.abort(reason)
  }

  // --- the passage ------------------------------------------------------------------------

  start(): void {
    this.next()
  }

  /** Picks the next target and sends the attempt there; ends the request when none is left. */
  next(): void {
    if (this.#phase === DONE) return
    let t: TargetState | undefined
    const previous = (this.opts as { [PREVIOUS_TARGETS]?: string[] })[PREVIOUS_TARGETS]
    try {
      t =
        previous !== undefined && previous.length > 0 && this.tried === null
          ? this.#pickElsewhere(previous)
          : undefined
      if (t === undefined) t = this.state.pick(this)
    } catch (err) {
      this.#finish(err as Error)
      return
    }
    if (t !== undefined && previous !== undefined) previous.push(t.url)
    if (t === undefined) {
      this.#finish(this.tried === null ? this.#noTarget() : this.#exhausted(null))
      return
    }
    this.#current = t
    this.#open = true
    this.#failedAtHead = false
    this.#phase = RUNNING
    t.inflight++
    t.requests++
    const o = this.opts
    const next: DispatchOptions = {
      ...o,
      origin: t.origin,
      path: t.basePath === '' ? o.path : `${t.basePath}${o.path}`,
    }
    try {
      this.dispatches[t.index]!(next, this)
    } catch (err) {
      this.onResponseError(null, err as Error)
    }
  }

  /** A retried request's first pick: a target its earlier attempts did not go to, if one may take it. */
  #pickElsewhere(previous: readonly string[]): TargetState | undefined {
    const avoid: TargetState[] = []
    for (const t of this.state.targets) if (previous.includes(t.url)) avoid.push(t)
    if (avoid.length === 0 || avoid.length === this.state.targets.length) return undefined
    this.tried = avoid
    try {
      return this.state.pick(this)
    } finally {
      // Those targets were not tried by this attempt: failover within it may still reach them.
      this.tried = null
    }
  }

  onRequestStart(controller: Controller, context: unknown): void {
    if (this.#phase === DONE) {
      controller.abort(this.#reason ?? new Error('the request has ended'))
      return
    }
    this.#target = controller
    if (this.#aborted) {
      controller.abort(this.#reason as Error)
      return
    }
    if (this.#paused) controller.pause()
    this.#started = true
    const t = this.#current!
    // The caller learns which target this attempt went to (a redirect is resolved against it).
    this.handler.onRequestStart?.(
      this,
      context === undefined || context === null
        ? new AttemptContext(t, this.opts.path)
        : { ...(context as object), target: t.url, url: `${t.origin}${t.basePath}${this.opts.path}` },
    )
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    socket: Parameters<NonNullable<Handler['onRequestUpgrade']>>[3],
  ): void {
    if (this.#phase === DONE) return
    this.#phase = DONE
    this.#settle()
    this.handler.onRequestUpgrade?.(this, statusCode, headers, socket)
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    if (this.#phase === DONE) return
    const t = this.#current!
    if (statusCode >= 200 && this.#phase === RUNNING) {
      const failover = this.state.config.failover
      if (failover?.statusCodes.has(statusCode) && this.#mayMoveOn(MAYBE_SENT, t)) {
        this.#countFailure(t, statusCode)
        this.#record(t, undefined, statusCode)
        this.#phase = DISCARDING
        this.#discarded = 0
        this.#skip = null
        return
      }
      this.#phase = DELIVERING
      this.#countFailure(t, statusCode)
    }
    this.handler.onResponseStart?.(this, statusCode, headers, message)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#phase === DELIVERING) {
      this.handler.onResponseData?.(this, chunk)
      return
    }
    if (this.#phase !== DISCARDING) return
    this.#discarded += chunk.length
    if (this.#discarded > MAX_DISCARD && this.#skip === null) {
      this.#skip = new Error('failover response body skipped')
      controller.abort(this.#skip)
    }
  }

  onResponseEnd(_controller: Controller, trailers: ResponseHeaders): void {
    if (this.#phase === DISCARDING) {
      this.#settle()
      if (this.#aborted) this.#finish(this.#reason as Error)
      else this.#moveOn()
      return
    }
    if (this.#phase !== DELIVERING) return
    this.#phase = DONE
    const t = this.#current!
    this.#settle()
    if (!this.#failedAtHead) this.state.success(t)
    this.handler.onResponseEnd?.(this, trailers)
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    const phase = this.#phase
    if (phase === DONE || phase === WAITING) return
    const t = this.#current
    this.#settle()
    if (phase === DISCARDING) {
      // The failover response was already counted; whatever ended its body, move on (unless
      // the caller gave up meanwhile).
      if (this.#aborted) this.#finish(this.#reason ?? err)
      else this.#moveOn()
      return
    }
    if (this.#aborted || t === null) {
      this.#finish(err)
      return
    }
    const kind = classify(err)
    if (phase === DELIVERING) {
      // Cut off mid-body: the caller has the head, so nothing moves on; the target is told.
      if (kind !== LOCAL && kind !== REFUSED && !this.#failedAtHead && !isWaitTimeout(err))
        this.state.failure(t)
      this.#phase = DONE
      this.handler.onResponseError?.(this, err)
      return
    }
    if (kind === REFUSED) {
      this.#record(t, err, undefined)
      this.#tried(t)
      this.attempt++
      this.next()
      return
    }
    if (kind !== LOCAL && !isWaitTimeout(err)) this.state.failure(t)
    if (kind === LOCAL || kind === OTHER) {
      this.#finish(err)
      return
    }
    if (this.state.config.failover === null || !replayable(this.opts.body)) {
      this.#finish(err)
      return
    }
    if (!this.state.hasCandidate(this, t)) {
      this.#record(t, err, undefined)
      this.#finish(this.#exhausted(err))
      return
    }
    if (!this.#mayMoveOn(kind, t)) {
      this.#finish(err)
      return
    }
    this.#record(t, err, undefined)
    this.#moveOn()
  }

  /**
   * Whether a failure of `kind` on `t` may move on: failover on, a body that can be sent
   * again, the method allowed, another target to go to, and a retry left in the budget.
   */
  #mayMoveOn(kind: number, t: TargetState): boolean {
    const failover = this.state.config.failover
    if (failover === null || !replayable(this.opts.body)) return false
    if (kind === MAYBE_SENT && !failover.methods.has(this.opts.method)) return false
    if (!this.state.hasCandidate(this, t)) return false
    const budget = this.state.config.budget
    if (budget !== null && !budget.tryWithdraw()) {
      publishBudgetExhausted(t.url, this.opts.method, this.opts.path)
      return false
    }
    return true
  }

  /** Counts an outlier status (at the head) against `t`. */
  #countFailure(t: TargetState, statusCode: number): void {
    const outlier = this.state.config.outlier
    if (outlier?.statusCodes.has(statusCode)) {
      this.#failedAtHead = true
      this.state.failure(t)
    }
  }

  #record(t: TargetState, error: Error | undefined, statusCode: number | undefined): void {
    const entry: TargetFailure = { target: t.url, error, statusCode }
    if (this.#failures === null) this.#failures = [entry]
    else this.#failures.push(entry)
  }

  #tried(t: TargetState): void {
    if (this.tried === null) this.tried = [t]
    else if (!this.tried.includes(t)) this.tried.push(t)
  }

  /** Leaves the failed target behind and goes to the next one, after `interval`. */
  #moveOn(): void {
    const t = this.#current!
    this.#tried(t)
    this.attempt++
    const last = this.#failures?.[this.#failures.length - 1]
    publishFailover({
      from: t.url,
      attempt: this.attempt,
      method: this.opts.method,
      path: this.opts.path,
      error: last?.error,
      statusCode: last?.statusCode,
    })
    this.#target = null
    const interval = this.state.config.failover?.interval ?? 0
    if (interval > 0) {
      this.#phase = WAITING
      this.timer = setTimeout(fire, interval, this)
      return
    }
    this.#phase = IDLE
    this.next()
  }

  /** The running attempt is over: its target has one request less in flight. */
  #settle(): void {
    if (!this.#open) return
    this.#open = false
    this.#current!.inflight--
  }

  #noTarget(): ClientPoolError {
    return new ClientPoolError(
      'X_ERR_POOL_NO_TARGET',
      'no target can take the request: every one is unavailable (an open circuit) or ejected',
    )
  }

  /** The request ran out of targets: every one tried failed (or `last` alone when only one was). */
  #exhausted(last: Error | null): Error {
    const failures = this.#failures ?? []
    // With one target tried, its own error says it best (an open circuit, a refused connection).
    const single = last ?? failures[0]?.error
    if (failures.length < 2 && single !== undefined) return single
    if (failures.length === 0) return this.#noTarget()
    const lastEntry = failures[failures.length - 1]!
    return new ClientPoolError(
      'X_ERR_POOL_ALL_TARGETS_FAILED',
      `every target failed the request (${failures.length} tried)`,
      { failures, ...(lastEntry.error === undefined ? {} : { cause: lastEntry.error }) },
    )
  }

  #finish(err: Error): void {
    if (this.#phase === DONE) return
    this.#phase = DONE
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (!this.#started) {
      this.#started = true
      this.handler.onRequestStart?.(this, undefined)
    }
    this.handler.onResponseError?.(this, err)
  }
}
