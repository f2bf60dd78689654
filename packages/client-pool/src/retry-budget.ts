// A retry budget: retries (and failovers) may add at most a fraction of the recent requests,
// plus a small floor for quiet clients, so that retrying cannot multiply an outage (the
// arrangement of Finagle's RetryBudget, gRPC's retry throttling and Envoy's retry_budget).
import { ClientPoolError } from './errors.js'
import { MAX_TIMER_MS } from './options.js'

/** Options of {@link createRetryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per request in the window (0 to 1): `0.2` lets retries add at most 20 %
   * to the load the requests alone make.
   * @defaultValue 0.2
   */
  ratio?: number
  /**
   * Retries per second allowed whatever the traffic, so a client that sends few requests can
   * still retry (counted over the window: `minPerSecond × window / 1000`).
   * @defaultValue 10
   */
  minPerSecond?: number
  /**
   * How far back requests and retries are counted, in ms (ten buckets of `window / 10`).
   * @defaultValue 10_000
   */
  window?: number
  /**
   * The clock, in ms. Inject one in tests to drive time without sleeping.
   * @defaultValue `Date.now` (read on every request: cheaper than `performance.now`, and a
   * clock that jumps back only empties the window)
   */
  now?: () => number
}

/** A shared allowance of retries: requests deposit into it, retries and failovers draw from it. */
export interface RetryBudget {
  /** Counts one request (its first attempt). */
  deposit(): void
  /** Takes one retry from the budget; false, and nothing taken, when it is spent. */
  tryWithdraw(): boolean
  /** Retries left in the current window (rounded down; never negative). */
  readonly available: number
  /** The options in force, defaults applied. */
  readonly options: Readonly<Required<Omit<RetryBudgetOptions, 'now'>>>
}

const BUCKETS = 10
const KNOWN = new Set(['ratio', 'minPerSecond', 'window', 'now'])

function invalid(option: string, why: string): ClientPoolError {
  return new ClientPoolError('X_ERR_POOL_INVALID_OPTION', `${option} ${why}`, { option })
}

class WindowedBudget implements RetryBudget {
  readonly options: Readonly<Required<Omit<RetryBudgetOptions, 'now'>>>
  readonly #now: () => number
  readonly #bucketMs: number
  readonly #floor: number
  readonly #ratio: number
  readonly #deposits = new Float64Array(BUCKETS)
  readonly #withdrawals = new Float64Array(BUCKETS)
  #deposited = 0
  #withdrawn = 0
  /** Absolute bucket number the current slot holds; -1 before the first call. */
  #bucket = -1
  /** The current bucket's time span, so the common case is two comparisons, no division. */
  #from = 0
  #to = -1

  constructor(ratio: number, minPerSecond: number, window: number, now: () => number) {
    this.options = Object.freeze({ ratio, minPerSecond, window })
    this.#now = now
    this.#ratio = ratio
    this.#bucketMs = window / BUCKETS
    this.#floor = (minPerSecond * window) / 1000
  }

  get available(): number {
    this.#slide()
    return Math.max(0, Math.floor(this.#floor + this.#ratio * this.#deposited - this.#withdrawn))
  }

  deposit(): void {
    const slot = this.#slide()
    this.#deposits[slot]!++
    this.#deposited++
  }

  tryWithdraw(): boolean {
    const slot = this.#slide()
    if (this.#withdrawn + 1 > this.#floor + this.#ratio * this.#deposited) return false
    this.#withdrawals[slot]!++
    this.#withdrawn++
    return true
  }

  /** Expires the buckets that left the window; returns the current slot. */
  #slide(): number {
    const t = this.#now()
    if (t >= this.#from && t < this.#to) return this.#bucket % BUCKETS
    const bucket = Math.floor(t / this.#bucketMs)
    this.#from = bucket * this.#bucketMs
    this.#to = this.#from + this.#bucketMs
    const current = this.#bucket
    if (bucket === current) return bucket % BUCKETS
    if (current === -1 || bucket - current >= BUCKETS || bucket < current) {
      // First use, a gap longer than the window, or a clock that went back: start afresh.
      this.#deposits.fill(0)
      this.#withdrawals.fill(0)
      this.#deposited = 0
      this.#withdrawn = 0
    } else {
      for (let b = current + 1; b <= bucket; b++) {
        const slot = b % BUCKETS
        this.#deposited -= this.#deposits[slot]!
        this.#withdrawn -= this.#withdrawals[slot]!
        this.#deposits[slot] = 0
        this.#withdrawals[slot] = 0
      }
    }
    this.#bucket = bucket
    return bucket % BUCKETS
  }
}

/**
 * Makes a retry budget to share between the steps that retry or fail over (a balancer, a
 * retry interceptor). Throws `X_ERR_POOL_INVALID_OPTION` for a bad option.
 */
export function createRetryBudget(options?: RetryBudgetOptions): RetryBudget {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'must be an object')
  }
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw invalid(k, 'is not an option')
  const ratio = options.ratio ?? 0.2
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw invalid('ratio', 'must be a number from 0 to 1')
  }
  const minPerSecond = options.minPerSecond ?? 10
  if (typeof minPerSecond !== 'number' || !(minPerSecond >= 0 && minPerSecond <= 1_000_000)) {
    throw invalid('minPerSecond', 'must be a number from 0 to 1000000')
  }
  const window = options.window ?? 10_000
  if (typeof window !== 'number' || !Number.isInteger(window) || window < BUCKETS || window > MAX_TIMER_MS) {
    throw invalid('window', `must be an integer from ${BUCKETS} to ${MAX_TIMER_MS}`)
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw invalid('now', 'must be a function')
  return new WindowedBudget(ratio, minPerSecond, window, now)
}
