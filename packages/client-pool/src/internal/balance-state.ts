// The balancer's shared state: its targets with their in-flight counts and failure streaks,
// the pick of each algorithm, outlier ejection (lazy, no timers) and the panic threshold.
// One request's passage (failover, discarding a failover response) is balance-handler.ts.
import type { Dispatcher } from 'undici'
import type {
  Balancer,
  BalancerAlgorithm,
  BalancerRequest,
  BalancerTarget,
  BalancerTargetStats,
} from '../balancer.js'
import { ClientPoolError } from '../errors.js'
import type { RetryBudget } from '../retry-budget.js'
import { publishEject, publishPanic, publishUneject } from './diagnostics.js'

/** The validated configuration of a balancer. */
export interface BalanceConfig {
  readonly algorithm: BalancerAlgorithm
  readonly failover: {
    readonly statusCodes: ReadonlySet<number>
    readonly methods: ReadonlySet<string>
    readonly interval: number
  } | null
  readonly outlier: {
    readonly consecutiveFailures: number
    readonly baseEjectionTime: number
    readonly maxEjectionTime: number
    readonly maxEjectionPercent: number
    readonly statusCodes: ReadonlySet<number>
  } | null
  readonly panicThreshold: number
  readonly budget: RetryBudget | null
  readonly deposit: boolean
  readonly bypass: ((options: Dispatcher.DispatchOptions) => boolean) | null
  readonly now: () => number
  readonly random: () => number
}

/** One target and what the balancer knows of it; also the view a custom rule gets. */
export class TargetState implements BalancerTarget {
  inflight = 0
  requests = 0
  failures = 0
  consecutiveFailures = 0
  /** When the ejection ends, in the balancer's clock; 0 while not ejected. */
  ejectedUntil = 0
  ejectedAt = 0
  /** The ejection multiplier. */
  ejections = 0
  /** When it last came back from an ejection (the multiplier decays from then); -1 never. */
  backSince = -1

  constructor(
    readonly index: number,
    readonly url: string,
    readonly origin: string,
    readonly basePath: string,
    readonly availableFn: (() => boolean) | null,
    readonly interceptor: Dispatcher.DispatcherComposeInterceptor | null,
  ) {}

  get ejected(): boolean {
    return this.ejectedUntil !== 0
  }

  isAvailable(): boolean {
    return this.availableFn === null || this.availableFn() === true
  }
}

const ROUND_ROBIN = 0
const LEAST_REQUEST = 1
const FAILOVER = 2
const RULE = 3

/** The per-request view the pick reads: which targets this request already tried. */
export interface PickContext extends BalancerRequest {
  readonly tried: readonly TargetState[] | null
}

function untried(t: TargetState, tried: readonly TargetState[] | null): boolean {
  return tried === null || !tried.includes(t)
}

export class BalanceState {
  readonly targets: readonly TargetState[]
  readonly config: BalanceConfig
  readonly view: Balancer
  readonly #kind: number
  readonly #n: number
  readonly #maxEjected: number
  #rr = 0
  #ejectedCount = 0
  /** The earliest end of an ejection, so the check is one comparison when none is due. */
  #nextReturn = Number.POSITIVE_INFINITY
  #panicking = false

  constructor(targets: TargetState[], config: BalanceConfig) {
    this.targets = targets
    this.config = config
    this.#n = targets.length
    const a = config.algorithm
    this.#kind =
      a === 'round-robin'
        ? ROUND_ROBIN
        : a === 'least-request'
          ? LEAST_REQUEST
          : a === 'failover'
            ? FAILOVER
            : RULE
    const pct = config.outlier?.maxEjectionPercent ?? 0
    // Envoy's rule: at least one target may be ejected whatever the percentage, unless it is 0.
    this.#maxEjected = pct === 0 ? 0 : Math.max(1, Math.floor((pct * targets.length) / 100))
    const self = this
    this.view = {
      targets,
      get panicking() {
        self.#refresh()
        return self.#panicking
      },
      stats: () => this.#stats(),
    }
  }

  /**
   * The target for the next attempt of `req`, or undefined when none may take it: a target
   * that is available, not tried by `req`, and not ejected unless in panic or unless only
   * ejected targets are left. Throws
   * `X_ERR_POOL_BALANCER_RULE` when a custom rule throws or returns a target it was not offered.
   */
  pick(req: PickContext): TargetState | undefined {
    const panic = this.#ejectedCount > 0 && this.#refresh()
    const t = this.#pick(req, panic)
    // An ejected target still takes a request that no other target can (it would fail
    // otherwise): ejection steers load away, it never leaves a request with nowhere to go.
    if (t === undefined && !panic && this.#ejectedCount > 0) return this.#pick(req, true)
    return t
  }

  #pick(req: PickContext, ignoreEjection: boolean): TargetState | undefined {
    const tried = req.tried
    const targets = this.targets
    const n = this.#n
    switch (this.#kind) {
      case ROUND_ROBIN: {
        const start = this.#rr
        for (let k = 0; k < n; k++) {
          const i = start + k < n ? start + k : start + k - n
          const t = targets[i]!
          if ((ignoreEjection || t.ejectedUntil === 0) && untried(t, tried) && t.isAvailable()) {
            this.#rr = i + 1 === n ? 0 : i + 1
            return t
          }
        }
        return undefined
      }
      case FAILOVER: {
        for (let i = 0; i < n; i++) {
          const t = targets[i]!
          if ((ignoreEjection || t.ejectedUntil === 0) && untried(t, tried) && t.isAvailable()) return t
        }
        return undefined
      }
      case LEAST_REQUEST: {
        if (n >= 2) {
          // Two distinct random targets; when both may take the request (the usual case)
          // no list is built.
          const random = this.config.random
          const i = Math.floor(random() * n) % n
          let j = Math.floor(random() * (n - 1)) % (n - 1)
          if (j >= i) j++
          const a = targets[i]!
          const b = targets[j]!
          if (
            (ignoreEjection || (a.ejectedUntil === 0 && b.ejectedUntil === 0)) &&
            untried(a, tried) &&
            untried(b, tried) &&
            a.isAvailable() &&
            b.isAvailable()
          ) {
            return b.inflight < a.inflight ? b : a
          }
        }
        const list = this.#candidates(ignoreEjection, tried)
        if (list.length <= 1) return list[0]
        const random = this.config.random
        const i = Math.floor(random() * list.length) % list.length
        let j = Math.floor(random() * (list.length - 1)) % (list.length - 1)
        if (j >= i) j++
        const a = list[i]!
        const b = list[j]!
        return b.inflight < a.inflight ? b : a
      }
      default: {
        const list = this.#candidates(ignoreEjection, tried)
        if (list.length === 0) return undefined
        let chosen: BalancerTarget | undefined
        try {
          chosen = (this.config.algorithm as Exclude<BalancerAlgorithm, string>).select(list, req)
        } catch (cause) {
          throw new ClientPoolError('X_ERR_POOL_BALANCER_RULE', 'the balancer rule threw', { cause })
        }
        if (chosen === undefined) return undefined
        if (!list.includes(chosen as TargetState)) {
          throw new ClientPoolError(
            'X_ERR_POOL_BALANCER_RULE',
            'the balancer rule returned a target it was not offered',
          )
        }
        return chosen as TargetState
      }
    }
  }

  /** Whether some target other than those `req` tried could take it now (no state changes). */
  hasCandidate(req: PickContext, current: TargetState): boolean {
    // Ejected targets count: pick() falls back on them when nothing else is left.
    this.#refresh()
    for (const t of this.targets) {
      if (t !== current && untried(t, req.tried) && t.isAvailable()) return true
    }
    return false
  }

  /** An attempt on `t` ended well. */
  success(t: TargetState): void {
    t.consecutiveFailures = 0
  }

  /** An attempt on `t` failed (an I/O error or an outlier status); may eject it. */
  failure(t: TargetState): void {
    t.failures++
    const o = this.config.outlier
    if (o === null) return
    if (++t.consecutiveFailures < o.consecutiveFailures || t.ejectedUntil !== 0) return
    if (this.#ejectedCount >= this.#maxEjected) return
    const now = this.config.now()
    if (t.backSince >= 0) {
      // One step back for each base period spent in service since the last ejection.
      const steps = Math.floor((now - t.backSince) / o.baseEjectionTime)
      t.ejections = Math.max(0, t.ejections - steps)
    }
    t.ejections++
    const time = Math.min(o.baseEjectionTime * t.ejections, o.maxEjectionTime)
    const streak = t.consecutiveFailures
    t.ejectedAt = now
    // A clock at 0 must still read as ejected.
    t.ejectedUntil = now + time === 0 ? Number.MIN_VALUE : now + time
    t.consecutiveFailures = 0
    this.#ejectedCount++
    if (t.ejectedUntil < this.#nextReturn) this.#nextReturn = t.ejectedUntil
    publishEject({ target: t.url, consecutiveFailures: streak, ejections: t.ejections, ejectionTime: time })
  }

  /** The targets `req` may go to now. */
  #candidates(ignoreEjection: boolean, tried: readonly TargetState[] | null): TargetState[] {
    const list: TargetState[] = []
    for (const t of this.targets) {
      if ((ignoreEjection || t.ejectedUntil === 0) && untried(t, tried) && t.isAvailable()) list.push(t)
    }
    return list
  }

  /**
   * Brings back targets whose ejection ended, then says whether the balancer is in panic (too
   * few healthy targets: ejection is then ignored).
   */
  #refresh(): boolean {
    if (this.#ejectedCount === 0) {
      if (this.#panicking) this.#setPanic(false, this.#n)
      return false
    }
    const now = this.config.now()
    if (now >= this.#nextReturn) {
      let next = Number.POSITIVE_INFINITY
      for (const t of this.targets) {
        if (t.ejectedUntil === 0) continue
        if (t.ejectedUntil <= now) {
          // Back from when the ejection ended, not from when someone noticed (this is lazy).
          const until = t.ejectedUntil
          t.ejectedUntil = 0
          t.backSince = until
          t.consecutiveFailures = 0
          this.#ejectedCount--
          publishUneject(t.url, until - t.ejectedAt)
        } else if (t.ejectedUntil < next) next = t.ejectedUntil
      }
      this.#nextReturn = next
      if (this.#ejectedCount === 0) {
        if (this.#panicking) this.#setPanic(false, this.#n)
        return false
      }
    }
    let healthy = 0
    for (const t of this.targets) if (t.ejectedUntil === 0 && t.isAvailable()) healthy++
    const panic = healthy * 100 < this.config.panicThreshold * this.#n
    if (panic !== this.#panicking) this.#setPanic(panic, healthy)
    return panic
  }

  #setPanic(panic: boolean, healthy: number): void {
    this.#panicking = panic
    publishPanic(panic, healthy, this.#n)
  }

  #stats(): BalancerTargetStats[] {
    this.#refresh()
    const o = this.config.outlier
    const now = o === null ? 0 : this.config.now()
    return this.targets.map((t) => ({
      url: t.url,
      inflight: t.inflight,
      requests: t.requests,
      failures: t.failures,
      consecutiveFailures: t.consecutiveFailures,
      ejected: t.ejectedUntil !== 0,
      ejections:
        o !== null && t.ejectedUntil === 0 && t.backSince >= 0
          ? Math.max(0, t.ejections - Math.floor((now - t.backSince) / o.baseEjectionTime))
          : t.ejections,
      available: t.isAvailable(),
    }))
  }
}
