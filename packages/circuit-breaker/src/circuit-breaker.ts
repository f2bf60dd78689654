// The breaker: a rolling window of per-bucket counts, the closed → open → half-open state
// machine, and execute(fn). Transitions out of `open` and probe time-outs are applied
// lazily when the breaker is next asked, so a breaker owns no timer.
import { randomUUID } from 'node:crypto'
import { rejectChannel, stateChangeChannel } from './channels.js'
import { CircuitBreakerError, type CircuitState, invalidOption } from './errors.js'
import {
  type BreakerConfig,
  type CircuitBreakerOptions,
  PresetConfig,
  resolveBreakerOptions,
  type StateChangeEvent,
  type StateChangeReason,
} from './options.js'
import { SharedWindow } from './shared-window.js'

const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
type StateCode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN
const STATE_NAMES: readonly CircuitState[] = ['closed', 'open', 'half-open']

const NOT_FORCED = 0
const FORCED_OPEN = 1
const FORCED_CLOSED = 2

/** Permission to make one call, from {@link CircuitBreaker.tryAcquire}; settle it exactly once. */
export interface CircuitPermit {
  /** True when the call is a half-open probe. */
  readonly probe: boolean
  /** The call succeeded; pass its duration to apply `slowCallThreshold`. */
  success(durationMs?: number): void
  /** The call failed. */
  failure(): void
  /** The call ended with no verdict (cancelled by its caller): it counts neither way and frees its probe slot. */
  release(): void
}

/** A point-in-time view of a breaker, from {@link CircuitBreaker.stats}. */
export interface CircuitStats {
  readonly state: CircuitState
  /** `open` or `closed` while held there by `forceOpen()` / `forceClose()`; otherwise undefined. */
  readonly forced: 'open' | 'closed' | undefined
  /** Calls counted in the rolling window (closed state only). */
  readonly calls: number
  /** Failed calls counted in the rolling window. */
  readonly failures: number
  /** `failures / calls`, or 0 with no calls. */
  readonly failureRate: number
  /** When the next probe is allowed while open; undefined otherwise or while forced open. */
  readonly nextProbeAt: number | undefined
  /** Probes in flight while half-open. */
  readonly probesInFlight: number
  /** Trips since the breaker last closed (1 after the first trip; grows the open period with `backoff`). */
  readonly consecutiveTrips: number
  /** When the breaker last admitted or counted a call, in its clock; undefined before the first. */
  readonly lastCallAt: number | undefined
}

type StateChangeListener = (event: StateChangeEvent) => void

class ProbePermit implements CircuitPermit {
  readonly probe = true
  settled = false
  constructor(
    readonly owner: (probe: ProbePermit, verdict: number, durationMs: number) => void,
    readonly generation: number,
    readonly startedAt: number,
  ) {}
  success(durationMs = 0): void {
    this.owner(this, VERDICT_SUCCESS, durationMs)
  }
  failure(): void {
    this.owner(this, VERDICT_FAILURE, 0)
  }
  release(): void {
    this.owner(this, VERDICT_IGNORE, 0)
  }
}

const VERDICT_SUCCESS = 0
const VERDICT_FAILURE = 1
const VERDICT_IGNORE = 2

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** The status code of an undici `ResponseData` (`statusCode`) or a fetch `Response` (`status`), or 0. */
function statusOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  const v = value as { statusCode?: unknown; status?: unknown }
  const code = typeof v.statusCode === 'number' ? v.statusCode : v.status
  return typeof code === 'number' ? code : 0
}

let readLastUsed: (breaker: CircuitBreaker) => number
let readEvictionTier: (breaker: CircuitBreaker, now: number) => number

/** A rolling-window circuit breaker: `closed` counts calls, `open` rejects them, `half-open` lets probes through. */
export class CircuitBreaker {
  readonly #c: BreakerConfig
  readonly #now: () => number
  #state: StateCode = CLOSED
  #forced = NOT_FORCED

  // Rolling window: one slot per bucket, running sums over all slots.
  readonly #calls: Float64Array
  readonly #fails: Float64Array
  #total = 0
  #failed = 0
  /** Absolute bucket number (time / bucketSize) the current slot holds; -1 before the first call. */
  #bucket = -1
  #slot = 0

  #nextProbeAt = 0
  #openPeriod: number
  #trips = 0

  #generation = 0
  #probes: ProbePermit[] = []
  #probeSuccesses = 0

  #lastUsed = -1
  #listeners: StateChangeListener[] | null = null
  readonly #closedPermit: CircuitPermit
  /** Counting together with other processes (`shared` option); null counts in this process only. */
  readonly #shared: SharedWindow | null = null

  // Settlement callbacks made once per breaker, so the closed path allocates no closure.
  readonly #onFulfilled = (value: unknown): unknown => {
    if (this.#state === CLOSED) {
      const codes = this.#c.statusCodes
      this.#record(codes?.has(statusOf(value)) === true, this.#now())
    }
    return value
  }
  readonly #onRejected = (error: unknown): never => {
    if (this.#state === CLOSED && (this.#c.ignoreError === null || !this.#c.ignoreError(error))) {
      this.#record(true, this.#now())
    }
    throw error
  }
  readonly #settleProbe = (probe: ProbePermit, verdict: number, durationMs: number): void => {
    if (probe.settled) return
    probe.settled = true
    const t = this.#now()
    this.#lastUsed = t
    if (probe.generation !== this.#generation || this.#state !== HALF_OPEN) return
    const i = this.#probes.indexOf(probe)
    if (i !== -1) this.#probes.splice(i, 1)
    if (verdict === VERDICT_SUCCESS && durationMs > this.#c.slowCallThreshold) verdict = VERDICT_FAILURE
    if (verdict === VERDICT_FAILURE) this.#trip(t, 'probe-failure')
    else if (verdict === VERDICT_SUCCESS && ++this.#probeSuccesses >= this.#c.halfOpenRequests) {
      this.#close(t, 'probe-success')
    }
  }

  static {
    readLastUsed = (b) => b.#lastUsed
    readEvictionTier = (b, now) => {
      if (b.#state !== CLOSED || b.#forced !== NOT_FORCED) return 2
      return b.#lastUsed + b.#c.timeWindow <= now ? 0 : 1
    }
  }

  /** Builds a breaker; throws a `CircuitBreakerError` with code `X_ERR_CIRCUIT_INVALID_OPTION` for a bad option. */
  constructor(options?: CircuitBreakerOptions) {
    this.#c = options instanceof PresetConfig ? options.config : resolveBreakerOptions(options, [])
    this.#now = this.#c.now
    this.#calls = new Float64Array(this.#c.buckets)
    this.#fails = new Float64Array(this.#c.buckets)
    this.#openPeriod = this.#c.resetTime
    const shared = this.#c.shared
    if (shared !== null) {
      if (this.#c.name === undefined) throw invalidOption('shared', 'needs the breaker to have a name')
      this.#shared = new SharedWindow(
        shared.store,
        this.#c.name,
        { timeWindow: this.#c.timeWindow, bucketSize: this.#c.bucketSize },
        shared.timeout,
        shared.retryInterval,
        this.#now,
        (trip) => this.#onSharedAnswer(trip),
      )
    }
    const self = this
    this.#closedPermit = {
      probe: false,
      success(durationMs = 0) {
        if (self.#state === CLOSED) self.#record(durationMs > self.#c.slowCallThreshold, self.#now())
      },
      failure() {
        if (self.#state === CLOSED) self.#record(true, self.#now())
      },
      release() {},
    }
  }

  /** The breaker's name (its key, for keyed breakers). */
  get name(): string | undefined {
    return this.#c.name
  }

  /** `closed`, `open` or `half-open`; reading it applies a due transition (open → half-open, probe time-out). */
  get state(): CircuitState {
    if (this.#state !== CLOSED) this.#refresh(this.#now())
    return STATE_NAMES[this.#state]!
  }

  /**
   * Whether a call made now would be let through, without taking a probe slot: the read-only
   * view a load balancer asks before it picks this target.
   */
  isAvailable(): boolean {
    if (this.#state === CLOSED) return true
    this.#refresh(this.#now())
    if (this.#state === OPEN) return false
    return this.#probes.length + this.#probeSuccesses < this.#c.halfOpenRequests
  }

  /**
   * Runs `fn` through the breaker. Closed: runs it and counts the outcome. Open, or half-open
   * with every probe slot taken: rejects at once with code `X_ERR_CIRCUIT_OPEN`, without calling `fn`.
   */
  execute<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    if (this.#state !== CLOSED || typeof fn !== 'function' || this.#c.slowCallThreshold !== Infinity) {
      return this.#executeSlow(fn) as Promise<Awaited<T>>
    }
    let result: unknown
    try {
      result = fn()
    } catch (error) {
      return this.#onSyncError(error) as Promise<Awaited<T>>
    }
    if (result instanceof Promise)
      return result.then(this.#onFulfilled, this.#onRejected) as Promise<Awaited<T>>
    if (isThenable(result)) {
      return Promise.resolve(result).then(this.#onFulfilled, this.#onRejected) as Promise<Awaited<T>>
    }
    // A synchronous result: count it now and hand it back without a reaction job.
    this.#onFulfilled(result)
    return Promise.resolve(result) as Promise<Awaited<T>>
  }

  /**
   * Asks for permission to make one call, for callers that cannot hand `execute()` a function
   * (callbacks, streams). Returns a permit to settle exactly once, or the rejection error.
   */
  tryAcquire(): CircuitPermit | CircuitBreakerError {
    if (this.#state === CLOSED) return this.#closedPermit
    return this.#acquireAt(this.#now())
  }

  /** Holds the breaker open (every call rejected, no probes) until `forceClose()` or `reset()`. */
  forceOpen(): void {
    const t = this.#now()
    const from = this.#state
    const wasForced = this.#forced
    this.#forced = FORCED_OPEN
    this.#enterOpen(t, Number.POSITIVE_INFINITY)
    if (from !== OPEN || wasForced !== FORCED_OPEN) this.#emit(from, t, 'force-open')
  }

  /** Holds the breaker closed (calls are counted but never trip it) until `forceOpen()` or `reset()`. */
  forceClose(): void {
    const t = this.#now()
    const from = this.#state
    const wasForced = this.#forced
    this.#forced = FORCED_CLOSED
    this.#enterClosed()
    if (from !== CLOSED || wasForced !== FORCED_CLOSED) this.#emit(from, t, 'force-close')
  }

  /** Back to a fresh closed breaker: empty window, no hold, open period back to `resetTime`. */
  reset(): void {
    const t = this.#now()
    const from = this.#state
    const wasForced = this.#forced
    this.#forced = NOT_FORCED
    this.#enterClosed()
    if (from !== CLOSED || wasForced !== NOT_FORCED) this.#emit(from, t, 'reset')
  }

  /** A snapshot of the window and state. */
  stats(): CircuitStats {
    const t = this.#now()
    if (this.#state !== CLOSED) this.#refresh(t)
    else if (this.#bucket !== -1) this.#rotate(Math.floor(t / this.#c.bucketSize))
    const forced =
      this.#forced === FORCED_OPEN ? 'open' : this.#forced === FORCED_CLOSED ? 'closed' : undefined
    return {
      state: STATE_NAMES[this.#state]!,
      forced,
      calls: this.#total,
      failures: this.#failed,
      failureRate: this.#total === 0 ? 0 : this.#failed / this.#total,
      nextProbeAt: this.#state === OPEN && this.#forced !== FORCED_OPEN ? this.#nextProbeAt : undefined,
      probesInFlight: this.#state === HALF_OPEN ? this.#probes.length : 0,
      consecutiveTrips: this.#trips,
      lastCallAt: this.#lastUsed === -1 ? undefined : this.#lastUsed,
    }
  }

  /** Adds a listener for state changes. */
  on(event: 'stateChange', listener: StateChangeListener): this {
    if (event !== 'stateChange' || typeof listener !== 'function') {
      throw new CircuitBreakerError(
        'X_ERR_CIRCUIT_INVALID_ARGUMENT',
        'on() takes "stateChange" and a function',
      )
    }
    if (this.#listeners === null) this.#listeners = []
    this.#listeners.push(listener)
    return this
  }

  /** Removes a listener added with `on()`. */
  off(event: 'stateChange', listener: StateChangeListener): this {
    if (event === 'stateChange' && this.#listeners !== null) {
      const i = this.#listeners.indexOf(listener)
      if (i !== -1) this.#listeners.splice(i, 1)
    }
    return this
  }

  // --- internals -----------------------------------------------------------------------

  #onSyncError(error: unknown): Promise<never> {
    if (this.#state === CLOSED && (this.#c.ignoreError === null || !this.#c.ignoreError(error))) {
      this.#record(true, this.#now())
    }
    return Promise.reject(error)
  }

  /** Everything but the plain closed path: open, half-open probes, slow-call timing, a bad argument. */
  #executeSlow(fn: unknown): Promise<unknown> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new CircuitBreakerError('X_ERR_CIRCUIT_INVALID_ARGUMENT', 'execute() takes a function', {
          name: this.#c.name,
        }),
      )
    }
    const started = this.#now()
    const permit = this.#state === CLOSED ? this.#closedPermit : this.#acquireAt(started)
    if (permit instanceof CircuitBreakerError) return Promise.reject(permit)
    let result: unknown
    try {
      result = fn()
    } catch (error) {
      this.#settleError(permit, error)
      return Promise.reject(error)
    }
    if (!isThenable(result)) {
      this.#settleValue(permit, result, this.#now() - started)
      return Promise.resolve(result)
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#settleValue(permit, value, this.#now() - started)
        return value
      },
      (error: unknown) => {
        this.#settleError(permit, error)
        throw error
      },
    )
  }

  #settleValue(permit: CircuitPermit, value: unknown, durationMs: number): void {
    const codes = this.#c.statusCodes
    if (codes?.has(statusOf(value))) permit.failure()
    else permit.success(durationMs)
  }

  #settleError(permit: CircuitPermit, error: unknown): void {
    if (this.#c.ignoreError?.(error)) permit.release()
    else permit.failure()
  }

  #acquireAt(t: number): CircuitPermit | CircuitBreakerError {
    this.#lastUsed = t
    this.#refresh(t)
    if (this.#state === CLOSED) return this.#closedPermit
    return this.#takeProbe(t) ?? this.#rejection(t)
  }

  #takeProbe(t: number): ProbePermit | undefined {
    if (this.#state !== HALF_OPEN) return undefined
    if (this.#probes.length + this.#probeSuccesses >= this.#c.halfOpenRequests) return undefined
    const probe = new ProbePermit(this.#settleProbe, this.#generation, t)
    this.#probes.push(probe)
    return probe
  }

  #rejection(t: number): CircuitBreakerError {
    const forced = this.#forced === FORCED_OPEN
    const state = STATE_NAMES[this.#state]!
    // Half-open with every slot taken: the earliest a slot can free is unknown, so point
    // at the oldest probe's time-out, after which the breaker decides again.
    const nextProbeAt = forced
      ? undefined
      : this.#state === OPEN
        ? this.#nextProbeAt
        : (this.#probes[0]?.startedAt ?? t) + this.#c.halfOpenTimeout
    const retryAfterMs = nextProbeAt === undefined ? undefined : Math.max(0, nextProbeAt - t)
    const name = this.#c.name
    if (rejectChannel.hasSubscribers) rejectChannel.publish({ breaker: this, name, state, retryAfterMs })
    const message = name === undefined ? `circuit is ${state}` : `circuit "${name}" is ${state}`
    return new CircuitBreakerError('X_ERR_CIRCUIT_OPEN', message, { name, state, retryAfterMs, nextProbeAt })
  }

  /** Counts one closed-state outcome at time `t`, and trips the breaker when the window says so. */
  #record(failed: boolean, t: number): void {
    this.#lastUsed = t
    const bucket = Math.floor(t / this.#c.bucketSize)
    if (bucket !== this.#bucket) this.#rotate(bucket)
    const slot = this.#slot
    this.#calls[slot]!++
    this.#total++
    if (this.#shared !== null) {
      this.#recordShared(this.#shared, failed, t, slot)
      return
    }
    if (!failed) return
    this.#fails[slot]!++
    this.#failed++
    if (
      this.#total >= this.#c.requestVolumeThreshold &&
      this.#failed >= this.#c.failureThreshold * this.#total &&
      this.#forced === NOT_FORCED
    ) {
      this.#trip(t, 'failure-threshold')
    }
  }

  /**
   * Shared counting: the store's answers decide (so every process decides on the same
   * totals); the local window still counts, and decides while the store is failing.
   */
  #recordShared(shared: SharedWindow, failed: boolean, t: number, slot: number): void {
    if (failed) {
      this.#fails[slot]!++
      this.#failed++
    }
    shared.count(failed, t)
    if (
      failed &&
      !shared.healthy &&
      this.#forced === NOT_FORCED &&
      this.#total >= this.#c.requestVolumeThreshold &&
      this.#failed >= this.#c.failureThreshold * this.#total
    ) {
      this.#trip(t, 'failure-threshold')
    }
  }

  /** The store answered: obey a trip another process published, or trip on the totals it answered. */
  #onSharedAnswer(trip: string | null): void {
    const shared = this.#shared!
    if (this.#state !== CLOSED || this.#forced !== NOT_FORCED) return
    const t = this.#now()
    if (trip !== null && trip !== shared.lastTrip) {
      shared.lastTrip = trip
      this.#trip(t, 'shared-trip')
      return
    }
    const total = shared.calls
    if (total >= this.#c.requestVolumeThreshold && shared.failures >= this.#c.failureThreshold * total) {
      this.#trip(t, 'failure-threshold')
    }
  }

  /** Slides the window to absolute bucket `bucket`, emptying the slots of buckets that expired. */
  #rotate(bucket: number): void {
    const n = this.#c.buckets
    const steps = bucket - this.#bucket
    // A clock that went backwards keeps counting into the current bucket.
    if (this.#bucket !== -1 && steps < 0) return
    if (this.#bucket === -1 || steps >= n) {
      this.#calls.fill(0)
      this.#fails.fill(0)
      this.#total = 0
      this.#failed = 0
      // An injected clock may start below zero; keep the slot index in range.
      this.#slot = ((bucket % n) + n) % n
    } else {
      let slot = this.#slot
      for (let i = 0; i < steps; i++) {
        slot = slot + 1 === n ? 0 : slot + 1
        this.#total -= this.#calls[slot]!
        this.#failed -= this.#fails[slot]!
        this.#calls[slot] = 0
        this.#fails[slot] = 0
      }
      this.#slot = slot
    }
    this.#bucket = bucket
  }

  /** Applies transitions that are due at `t`: open → half-open, and a probe that timed out. */
  #refresh(t: number): void {
    if (this.#state === OPEN) {
      if (this.#forced === NOT_FORCED && t >= this.#nextProbeAt) {
        this.#state = HALF_OPEN
        this.#generation++
        this.#probes = []
        this.#probeSuccesses = 0
        this.#emit(OPEN, t, 'reset-time-elapsed')
      }
    } else if (this.#state === HALF_OPEN) {
      const oldest = this.#probes[0]
      if (oldest !== undefined && t - oldest.startedAt >= this.#c.halfOpenTimeout) {
        oldest.settled = true
        this.#trip(t, 'probe-timeout')
      }
    }
  }

  #trip(t: number, reason: StateChangeReason): void {
    const from = this.#state
    // Repeated trips without a close in between grow the open period, up to its cap.
    this.#openPeriod =
      this.#trips === 0
        ? this.#c.resetTime
        : Math.min(this.#openPeriod * this.#c.backoffFactor, this.#c.maxResetTime)
    this.#trips++
    this.#enterOpen(t, t + this.#openPeriod)
    if (this.#shared !== null) {
      if (reason === 'failure-threshold') this.#shared.publishTrip(randomUUID(), this.#openPeriod, t)
      else this.#shared.reset()
    }
    this.#emit(from, t, reason)
  }

  #close(t: number, reason: StateChangeReason): void {
    const from = this.#state
    this.#enterClosed()
    this.#emit(from, t, reason)
  }

  #enterOpen(t: number, nextProbeAt: number): void {
    this.#state = OPEN
    this.#nextProbeAt = nextProbeAt
    this.#generation++
    this.#probes = []
    this.#probeSuccesses = 0
    this.#lastUsed = t
  }

  #enterClosed(): void {
    this.#state = CLOSED
    this.#generation++
    this.#probes = []
    this.#probeSuccesses = 0
    this.#trips = 0
    this.#openPeriod = this.#c.resetTime
    this.#calls.fill(0)
    this.#fails.fill(0)
    this.#total = 0
    this.#failed = 0
    this.#bucket = -1
    this.#shared?.reset()
  }

  #emit(from: StateCode, t: number, reason: StateChangeReason): void {
    const to = this.#state
    const listeners = this.#listeners
    const hook = this.#c.onStateChange
    const hasListeners = listeners !== null && listeners.length > 0
    if (!hasListeners && hook === null && !stateChangeChannel.hasSubscribers) return
    const event: StateChangeEvent = {
      name: this.#c.name,
      from: STATE_NAMES[from]!,
      to: STATE_NAMES[to]!,
      reason,
      at: t,
      nextProbeAt: to === OPEN && this.#forced !== FORCED_OPEN ? this.#nextProbeAt : undefined,
    }
    if (hook !== null) call(hook, event)
    if (hasListeners) for (const listener of listeners.slice()) call(listener, event)
    if (stateChangeChannel.hasSubscribers) stateChangeChannel.publish({ ...event, breaker: this })
  }
}

/**
 * Runs a listener; a listener that throws must not leave the breaker half-updated, so its
 * error is rethrown on the next tick, as `node:diagnostics_channel` does with subscribers.
 */
function call(listener: StateChangeListener, event: StateChangeEvent): void {
  try {
    listener(event)
  } catch (error) {
    process.nextTick(() => {
      throw error
    })
  }
}

/** @internal When a breaker last admitted or counted a call (-1 before the first). */
export function lastUsedOf(breaker: CircuitBreaker): number {
  return readLastUsed(breaker)
}

/**
 * @internal How much evicting `breaker` would lose: 0 closed with an expired window, 1 closed
 * with counts, 2 open, half-open or held.
 */
export function evictionTierOf(breaker: CircuitBreaker, now: number): number {
  return readEvictionTier(breaker, now)
}
