// The Client's resilience steps, made once per client: the retry budget shared by the retry
// step and the balancer, the client-wide circuit breaker (Ballerina's arrangement), or for
// several targets the balancer with one breaker per target (Envoy's and Polly's).
import {
  type CircuitBreaker,
  type CircuitBreakerGroup,
  type CircuitBreakerInterceptor,
  circuitBreaker,
} from '@x/circuit-breaker'
import {
  type Balancer,
  type BalancerAlgorithm,
  type BalancerTargetOptions,
  balancer,
  createRetryBudget,
  type FailoverOptions,
  type OutlierDetectionOptions,
  type RetryBudget,
} from '@x/client-pool'
import type { ChainStep } from './chain.js'
import type { DispatchOptions } from './internal/handler.js'
import { PINNED } from './internal/symbols.js'
import type { CircuitBreakerConfig, ResolvedClientOptions } from './options.js'

/** Several targets, validated: what `LoadBalanceClient` and `FailoverClient` hand the Client. */
export interface ResolvedTargets {
  readonly targets: ReadonlyArray<{
    readonly url: string
    readonly circuitBreaker: Readonly<CircuitBreakerConfig> | false | undefined
  }>
  readonly algorithm: BalancerAlgorithm
  readonly failover: FailoverOptions | false
  readonly outlierDetection: OutlierDetectionOptions | false
  readonly panicThreshold: number
}

/** What one client's resilience steps are made of; the Client keeps it for its getters. */
export interface Resilience {
  /** Shared by the retry step and the balancer; undefined when neither retries nor fails over. */
  readonly budget: RetryBudget | undefined
  /** The steps that go after retry, outermost first. */
  readonly steps: readonly ChainStep[]
  /** The client-wide breaker (`circuitBreaker` on a single-target Client). */
  readonly breaker: CircuitBreaker | undefined
  /** The balancer of a multi-target client. */
  readonly balancer: Balancer | undefined
  /** Each target's breaker group (keyed by the target's URL), by target index. */
  readonly targetBreakers: ReadonlyArray<CircuitBreakerGroup | undefined>
}

/** A redirect hop that names one server goes there, unbalanced. */
function pinned(opts: DispatchOptions): boolean {
  return (opts as { [PINNED]?: boolean })[PINNED] === true
}

/**
 * Makes the resilience steps for `config` (and `targets` for a multi-target client); `name`
 * keys the client-wide breaker (the Client's URL).
 */
export function createResilience(
  config: ResolvedClientOptions,
  targets?: ResolvedTargets,
  name = 'client',
): Resilience {
  const retrying = config.retryConfig.count > 0
  const failingOver = targets !== undefined && targets.failover !== false && targets.targets.length > 1
  const budget =
    config.retryBudget !== false && (retrying || failingOver)
      ? createRetryBudget(config.retryBudget)
      : undefined

  if (targets === undefined) {
    const cfg = config.circuitBreaker
    if (cfg === undefined)
      return { budget, steps: [], breaker: undefined, balancer: undefined, targetBreakers: [] }
    // One breaker for everything this client sends (redirect hops included), keyed by its name.
    const key = name
    const interceptor = circuitBreaker({ ...cfg, key: () => key })
    return {
      budget,
      steps: [{ name: 'circuit-breaker', interceptor }],
      breaker: interceptor.breakers.get(key),
      balancer: undefined,
      targetBreakers: [],
    }
  }

  const targetBreakers: Array<CircuitBreakerGroup | undefined> = []
  const balanced: BalancerTargetOptions[] = targets.targets.map((t) => {
    const cfg = t.circuitBreaker === false ? undefined : (t.circuitBreaker ?? config.circuitBreaker)
    if (cfg === undefined) {
      targetBreakers.push(undefined)
      return { url: t.url }
    }
    const url = t.url
    const interceptor: CircuitBreakerInterceptor = circuitBreaker({ ...cfg, key: () => url })
    const group = interceptor.breakers
    // The group holds this one key only, so the breaker is never evicted: ask it directly.
    const breaker = group.get(url)
    targetBreakers.push(group)
    // The balancer asks before it picks: an open circuit is skipped, not tried.
    return { url, interceptor, available: () => breaker.isAvailable() }
  })
  const interceptor = balancer({
    targets: balanced,
    algorithm: targets.algorithm,
    failover: targets.failover,
    outlierDetection: targets.outlierDetection,
    panicThreshold: targets.panicThreshold,
    bypass: pinned,
    ...(budget === undefined ? {} : { retryBudget: budget, depositRequests: !retrying }),
  })
  return {
    budget,
    steps: [{ name: 'balancer', interceptor }],
    breaker: undefined,
    balancer: interceptor.balancer,
    targetBreakers,
  }
}
