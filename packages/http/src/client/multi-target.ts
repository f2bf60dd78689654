// LoadBalanceClient and FailoverClient: a Client whose chain has a balancer step (with a
// breaker per target) inside retry. Everything else (requests, responses, options, the
// dispatcher) is Client's own code; these classes only turn their targets into that step.
import type { CircuitBreaker, CircuitState } from '@x/circuit-breaker'
import type { BalancerTargetStats } from '@x/client-pool'
import { Client, resilienceOf } from './client.js'
import { type FailoverClientOptions, type LoadBalanceClientOptions, splitTargetOptions } from './targets.js'

/** One target of a multi-target client as it stands: balancer statistics plus its breaker's state. */
export interface TargetStats extends BalancerTargetStats {
  /** The state of the target's circuit breaker; undefined when it has none. */
  readonly circuit: CircuitState | undefined
}

function statsOf(client: Client): TargetStats[] {
  const r = resilienceOf(client)
  const stats = r.balancer?.stats() ?? []
  return stats.map((s, i) => ({ ...s, circuit: r.targetBreakers[i]?.state(s.url) }))
}

function breakerOf(client: Client, url: string): CircuitBreaker | undefined {
  const r = resilienceOf(client)
  const targets = r.balancer?.targets ?? []
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    if (t.url === url || t.url === url.replace(/\/+$/, '')) return r.targetBreakers[i]?.peek(t.url)
  }
  return undefined
}

/**
 * A client that spreads requests over several targets — round-robin, least-request (power
 * of two choices over in-flight requests) or a custom rule — moving a request whose target
 * fails with an I/O error on to the next one, skipping targets whose circuit is open and
 * ejecting those that keep failing. Same requests, responses and options as `Client`.
 */
export class LoadBalanceClient extends Client {
  /** Throws `ClientError` (`X_ERR_CLIENT_INVALID_OPTION`) for a bad target or option. */
  constructor(options: LoadBalanceClientOptions) {
    const [targets, rest] = splitTargetOptions('load-balance', options)
    super(targets as unknown as string, rest)
  }

  /** The targets' URLs, in order. */
  get targets(): readonly string[] {
    return resilienceOf(this).balancer?.targets.map((t) => t.url) ?? []
  }

  /** Each target's in-flight requests, failures, ejection and circuit state. */
  targetStats(): TargetStats[] {
    return statsOf(this)
  }

  /** The circuit breaker of the target with this URL, when it has one. */
  targetBreaker(url: string): CircuitBreaker | undefined {
    return breakerOf(this, url)
  }
}

/**
 * A client that sends each request to the first target that can take it, in order, moving
 * on after an I/O error or a status in `failoverCodes` (after `interval`), and coming back to
 * an earlier target once it is available again. Same requests, responses and options as `Client`.
 */
export class FailoverClient extends Client {
  /** Throws `ClientError` (`X_ERR_CLIENT_INVALID_OPTION`) for a bad target or option. */
  constructor(options: FailoverClientOptions) {
    const [targets, rest] = splitTargetOptions('failover', options)
    super(targets as unknown as string, rest)
  }

  /** The targets' URLs, in order. */
  get targets(): readonly string[] {
    return resilienceOf(this).balancer?.targets.map((t) => t.url) ?? []
  }

  /** Each target's in-flight requests, failures, ejection and circuit state. */
  targetStats(): TargetStats[] {
    return statsOf(this)
  }

  /** The circuit breaker of the target with this URL, when it has one. */
  targetBreaker(url: string): CircuitBreaker | undefined {
    return breakerOf(this, url)
  }
}
