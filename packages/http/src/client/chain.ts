// The one place the Client's interceptor chain is built from its configuration, outermost
// first (ARCHITECTURE.md): deadline → decompress → cache → redirect → retry → balancer →
// circuit breaker → attempt timeout → pool → TLS connector.
import { cache, isCacheError } from '@x/cache'
import { deadline } from './deadline.js'
import { decompress } from './decompress.js'
import { ClientError } from './errors.js'
import type { Interceptor } from './internal/handler.js'
import type { ResolvedClientOptions } from './options.js'
import { followRedirects } from './redirect.js'
import { createResilience, type Resilience } from './resilience.js'
import { retry } from './retry.js'

/** One step of the chain, named for tests and diagnostics. */
export interface ChainStep {
  readonly name: 'deadline' | 'decompress' | 'cache' | 'redirect' | 'retry' | 'balancer' | 'circuit-breaker'
  readonly interceptor: Interceptor
}

/**
 * The interceptors for `config`, outermost first; steps a configuration turns off are left
 * out. `resilience` holds the breaker, balancer and retry budget the client made for itself.
 */
export function clientChain(
  config: ResolvedClientOptions,
  resilience: Resilience = createResilience(config),
): ChainStep[] {
  const steps: ChainStep[] = []
  // Always present: with timeout 0 it only acts for a request that sets its own.
  steps.push({ name: 'deadline', interceptor: deadline({ timeout: config.timeout }) })
  if (config.compression !== 'NEVER') {
    steps.push({
      name: 'decompress',
      interceptor: decompress({ mode: config.compression, maxSize: config.maxDecodedSize }),
    })
  }
  // cache: outside redirect and retry so a hit costs no network, inside decompress so the
  // stored body is the encoded representation (one entry per Content-Encoding, via Vary).
  if (config.cache !== null) steps.push({ name: 'cache', interceptor: cacheStep(config.cache) })
  const r = config.followRedirects
  if (r.enabled) {
    steps.push({
      name: 'redirect',
      interceptor: followRedirects({
        maxCount: r.maxCount,
        allowAuthHeaders: r.allowAuthHeaders,
        maxReplayBodySize: r.maxReplayBodySize,
      }),
    })
  }
  const t = config.retryConfig
  if (t.count > 0) {
    steps.push({
      name: 'retry',
      interceptor: retry({
        count: t.count,
        interval: t.interval,
        backOffFactor: t.backOffFactor,
        maxWaitInterval: t.maxWaitInterval,
        statusCodes: [...t.statusCodes],
        methods: [...t.methods],
        jitter: t.jitter,
        ...(resilience.budget === undefined ? {} : { budget: resilience.budget }),
      }),
    })
  }
  // balancer and circuit breaker (per target, or one for the client), inside retry so each
  // attempt may pick another target; retries and failovers share one budget.
  for (const step of resilience.steps) steps.push(step)
  // attempt timeout: undici's per-attempt headersTimeout and bodyTimeout, which the pool
  // applies to every attempt it runs; connect timeout lives in the pool's connector.
  return steps
}

function cacheStep(options: NonNullable<ResolvedClientOptions['cache']>): Interceptor {
  try {
    return cache(options)
  } catch (err) {
    if (!isCacheError(err, 'X_ERR_CACHE_INVALID_OPTION')) throw err
    const o = err.option ?? 'options'
    const option = o === 'options' ? 'cache' : `cache.${o === 'shared' ? 'isShared' : o}`
    throw new ClientError('X_ERR_CLIENT_INVALID_OPTION', `cache: ${err.message}`, { option, cause: err })
  }
}

/** `steps` in the order `Dispatcher.compose()` wants them: it applies the last one first. */
export function composeOrder(steps: readonly ChainStep[]): Interceptor[] {
  return steps.map((s) => s.interceptor).reverse()
}
