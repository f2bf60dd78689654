// Options of the clients with several targets (LoadBalanceClient, FailoverClient): the
// targets, how one is picked and when a request moves on. They are split from the options
// every Client shares and validated here, eagerly, into what the balancer step is made from.
import {
  type BalancerAlgorithm,
  type BalancerRule,
  balancer,
  type FailoverOptions,
  isClientPoolError,
  type OutlierDetectionOptions,
} from '@x/client-pool'
import {
  type CircuitBreakerConfig,
  type ClientOptions,
  invalidOption,
  resolveCircuitBreaker,
} from './options.js'
import type { ResolvedTargets } from './resilience.js'

/** One target of a `LoadBalanceClient` or `FailoverClient`. */
export interface TargetConfig {
  /** `http(s)://host[:port][/base/path]`; a request's path is appended to it. */
  url: string | URL
  /** This target's breaker settings, instead of the client's `circuitBreaker`; `false` for none. */
  circuitBreaker?: CircuitBreakerConfig | false
}

/** Options every client with several targets takes, on top of the `Client` options. */
export interface MultiTargetOptions extends ClientOptions {
  /** The targets, at least one (a URL string is short for `{ url }`). */
  targets: ReadonlyArray<TargetConfig | string>
  /**
   * Passive outlier ejection (`@x/client-pool`): `{ consecutiveFailures = 5, baseEjectionTime = 30000,
   * maxEjectionTime = 300000, maxEjectionPercent = 10, statusCodes = [500, 502, 503, 504] }`; `false` for none.
   */
  outlierDetection?: OutlierDetectionOptions | false
  /** Percentage of healthy targets below which ejection is ignored. @defaultValue 50 */
  panicThreshold?: number
  /**
   * Methods that move on to the next target after a failure that may have reached the target;
   * any method moves on when the request never left. @defaultValue GET, HEAD, OPTIONS, PUT, DELETE, TRACE
   */
  failoverMethods?: readonly string[]
}

/** Options of `new LoadBalanceClient(options)`. */
export interface LoadBalanceClientOptions extends MultiTargetOptions {
  /** @defaultValue 'round-robin' */
  algorithm?: 'round-robin' | 'least-request' | BalancerRule
  /** Move a request whose target fails with an I/O error on to the next target. @defaultValue true */
  failover?: boolean
}

/** Options of `new FailoverClient(options)`. */
export interface FailoverClientOptions extends MultiTargetOptions {
  /** Statuses that move a request on to the next target. @defaultValue [501, 502, 503, 504] */
  failoverCodes?: readonly number[]
  /** Wait between a failure and the next target, in ms. @defaultValue 0 */
  interval?: number
}

/** @internal What the multi-target constructors hand `Client`'s in place of a URL. */
export class TargetSet {
  constructor(readonly resolved: ResolvedTargets) {}
}

const SHARED = ['targets', 'outlierDetection', 'panicThreshold', 'failoverMethods'] as const
const OWN = {
  'load-balance': ['algorithm', 'failover'],
  failover: ['failoverCodes', 'interval'],
} as const
const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']

function resolveTarget(value: unknown, i: number): ResolvedTargets['targets'][number] {
  const path = `targets[${i}]`
  if (typeof value === 'string' || value instanceof URL)
    return { url: String(value), circuitBreaker: undefined }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(path, 'must be a URL or { url, circuitBreaker? }')
  }
  const t = value as Record<string, unknown>
  for (const k of Object.keys(t)) {
    if (k !== 'url' && k !== 'circuitBreaker') throw invalidOption(`${path}.${k}`, 'is not an option')
  }
  if (typeof t.url !== 'string' && !(t.url instanceof URL))
    throw invalidOption(`${path}.url`, 'must be a URL')
  const cb = t.circuitBreaker
  return {
    url: String(t.url),
    circuitBreaker: cb === false ? false : resolveCircuitBreaker(cb, `${path}.circuitBreaker`),
  }
}

/** The option a balancer option error is about, in the names this client uses. */
function clientOptionName(kind: 'load-balance' | 'failover', option: string): string {
  if (option.startsWith('failover.methods')) return 'failoverMethods'
  if (kind === 'failover' && option.startsWith('failover.statusCodes')) return 'failoverCodes'
  if (kind === 'failover' && option.startsWith('failover.interval')) return 'interval'
  return option
}

/**
 * Splits the options of a multi-target client into its targets (validated now) and the
 * options every Client takes. Throws `X_ERR_CLIENT_INVALID_OPTION` naming a bad option.
 */
export function splitTargetOptions(
  kind: 'load-balance' | 'failover',
  options: MultiTargetOptions,
): [TargetSet, ClientOptions] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('options', 'must be an object with targets')
  }
  const own: readonly string[] = OWN[kind]
  const other: readonly string[] = OWN[kind === 'failover' ? 'load-balance' : 'failover']
  const rest: Record<string, unknown> = {}
  const o = options as unknown as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (other.includes(k)) throw invalidOption(k, 'is not an option of this client')
    if (!own.includes(k) && !(SHARED as readonly string[]).includes(k)) rest[k] = o[k]
  }
  if (!Array.isArray(o.targets) || o.targets.length === 0) {
    throw invalidOption('targets', 'must be an array of at least one target')
  }
  const targets = (o.targets as unknown[]).map(resolveTarget)
  for (const k of ['failoverMethods', 'failoverCodes']) {
    if (o[k] !== undefined && !Array.isArray(o[k])) throw invalidOption(k, 'must be an array')
  }
  const methods = o.failoverMethods ?? IDEMPOTENT

  let algorithm: BalancerAlgorithm
  let failover: FailoverOptions | false
  if (kind === 'load-balance') {
    const a = o.algorithm ?? 'round-robin'
    if (a === 'failover') throw invalidOption('algorithm', "'failover' is what FailoverClient does")
    algorithm = a as BalancerAlgorithm
    if (o.failover !== undefined && typeof o.failover !== 'boolean')
      throw invalidOption('failover', 'must be a boolean')
    failover = o.failover === false ? false : { methods: methods as string[], statusCodes: [], interval: 0 }
  } else {
    algorithm = 'failover'
    failover = {
      statusCodes: (o.failoverCodes ?? [501, 502, 503, 504]) as number[],
      methods: methods as string[],
      interval: (o.interval ?? 0) as number,
    }
  }
  const resolved: ResolvedTargets = {
    targets,
    algorithm,
    failover,
    outlierDetection:
      (o.outlierDetection ?? true) === true ? {} : (o.outlierDetection as OutlierDetectionOptions | false),
    panicThreshold: (o.panicThreshold ?? 50) as number,
  }
  // The balancer checks the rest (URLs, statuses, times, the rule); its errors name our options.
  try {
    balancer({
      targets: targets.map((t) => t.url),
      algorithm: resolved.algorithm,
      failover: resolved.failover,
      outlierDetection: resolved.outlierDetection,
      panicThreshold: resolved.panicThreshold,
    })
  } catch (err) {
    if (isClientPoolError(err, 'X_ERR_POOL_INVALID_OPTION')) {
      throw invalidOption(clientOptionName(kind, err.option ?? 'options'), `is invalid: ${err.message}`, err)
    }
    throw err
  }
  return [new TargetSet(resolved), rest as ClientOptions]
}
