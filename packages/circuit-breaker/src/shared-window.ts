// Counting together across processes: the store contract, and the per-breaker sync that
// sends local counts to the store off the request path (one round trip in flight at most)
// and keeps the last totals it answered. A failing store turns the breaker back to local counting.
import { storeErrorChannel, storeRecoverChannel } from './channels.js'

/** The shape of a breaker's rolling window, as the store needs it to expire buckets. */
export interface WindowShape {
  /** Length of the window in ms. */
  readonly timeWindow: number
  /** Length of one bucket in ms. */
  readonly bucketSize: number
}

/** What a {@link BreakerStore} answers: the window's totals across every process, and the trip in force. */
export interface SharedCounts {
  readonly calls: number
  readonly failures: number
  /** The id of a trip another breaker published and that is still in force, else null. */
  readonly trip: string | null
}

/**
 * Where breakers of several processes count together (`@x/circuit-breaker/redis` has one for
 * Redis). The store keeps the time: its buckets follow its own clock, not the breakers'.
 */
export interface BreakerStore {
  /** Adds `calls` and `failures` to the window named `key`; answers the window's totals now. */
  add(key: string, calls: number, failures: number, window: WindowShape): Promise<SharedCounts>
  /** Publishes a trip: empties the window named `key` and marks it open for `openMs` under `id`. */
  trip(key: string, id: string, openMs: number): Promise<void>
}

/** @internal The shared half of one breaker's counting. */
export class SharedWindow {
  /** False after the store failed, until it answers again: the breaker decides on local counts. */
  healthy = true
  /** Totals the store last answered. */
  calls = 0
  failures = 0
  /** Counted here and not yet in an answer (sent or not). */
  pendingCalls = 0
  pendingFailures = 0
  /** The last trip id this breaker published or obeyed. */
  lastTrip: string | null = null

  #sentCalls = 0
  #sentFailures = 0
  #inFlight = false
  #sentAt = 0
  /** Bumped on reset and time-out, so a late answer from before is dropped. */
  #generation = 0
  #retryAt = 0

  constructor(
    readonly store: BreakerStore,
    readonly key: string,
    readonly shape: WindowShape,
    readonly timeout: number,
    readonly retryInterval: number,
    readonly now: () => number,
    readonly onAnswer: (trip: string | null) => void,
  ) {}

  /** Counts one outcome and sends what is pending unless a round trip is already in flight. */
  count(failed: boolean, t: number): void {
    this.pendingCalls++
    if (failed) this.pendingFailures++
    this.flush(t)
  }

  flush(t: number): void {
    if (this.#inFlight) {
      // A store that never answers must not leave the breaker on stale totals.
      if (t - this.#sentAt < this.timeout) return
      this.#fail(new Error(`the breaker store did not answer within ${this.timeout} ms`), t)
    }
    if (!this.healthy && t < this.#retryAt) return
    const calls = this.pendingCalls - this.#sentCalls
    const failures = this.pendingFailures - this.#sentFailures
    if (calls === 0 && failures === 0 && this.healthy) return
    this.#inFlight = true
    this.#sentAt = t
    this.#sentCalls += calls
    this.#sentFailures += failures
    const generation = this.#generation
    let answer: Promise<SharedCounts>
    try {
      answer = Promise.resolve(this.store.add(this.key, calls, failures, this.shape))
    } catch (error) {
      answer = Promise.reject(error)
    }
    answer.then(
      (counts) => {
        if (generation !== this.#generation) return
        this.#inFlight = false
        this.calls = counts.calls
        this.failures = counts.failures
        this.pendingCalls -= this.#sentCalls
        this.pendingFailures -= this.#sentFailures
        this.#sentCalls = 0
        this.#sentFailures = 0
        if (!this.healthy) {
          this.healthy = true
          if (storeRecoverChannel.hasSubscribers) storeRecoverChannel.publish({ name: this.key })
        }
        this.onAnswer(counts.trip)
        // Counts that arrived during the round trip go out now, not with the next call.
        if (this.pendingCalls > 0) this.flush(this.now())
      },
      (error: unknown) => {
        if (generation !== this.#generation) return
        this.#fail(error, this.#sentAt)
      },
    )
  }

  /** Publishes this breaker's trip; a failure is reported like any store failure. */
  publishTrip(id: string, openMs: number, t: number): void {
    this.lastTrip = id
    this.reset()
    let sent: Promise<void>
    try {
      sent = Promise.resolve(this.store.trip(this.key, id, openMs))
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(undefined, (error: unknown) => this.#fail(error, t))
  }

  /** Forgets the totals and whatever is pending (the breaker left the closed state). */
  reset(): void {
    this.#generation++
    this.#inFlight = false
    this.calls = 0
    this.failures = 0
    this.pendingCalls = 0
    this.pendingFailures = 0
    this.#sentCalls = 0
    this.#sentFailures = 0
  }

  #fail(error: unknown, t: number): void {
    this.#generation++
    this.#inFlight = false
    // What was sent may or may not have landed, and counts held through an outage would land
    // in the wrong bucket: what was counted until now stays local.
    this.pendingCalls = 0
    this.pendingFailures = 0
    this.#sentCalls = 0
    this.#sentFailures = 0
    this.#retryAt = t + this.retryInterval
    if (this.healthy) {
      this.healthy = false
      if (storeErrorChannel.hasSubscribers) storeErrorChannel.publish({ name: this.key, error })
    }
  }
}
