export type {
  Balancer,
  BalancerAlgorithm,
  BalancerInterceptor,
  BalancerOptions,
  BalancerRequest,
  BalancerRule,
  BalancerTarget,
  BalancerTargetOptions,
  BalancerTargetStats,
  FailoverOptions,
  OutlierDetectionOptions,
} from './balancer.js'
export { balancer } from './balancer.js'
export type { ClientPoolErrorCode, TargetFailure } from './errors.js'
export { ClientPoolError, isClientPoolError } from './errors.js'
export { PREVIOUS_TARGETS } from './internal/balance-handler.js'
export type {
  ClientPoolOptions,
  HttpVersion,
  KeepAlivePolicy,
  PoolTlsOptions,
  ProxyOptions,
  ResolvedPoolOptions,
  ResolvedProxy,
} from './options.js'
export type { OriginStats } from './pool.js'
export { ClientPool } from './pool.js'
export type { RetryBudget, RetryBudgetOptions } from './retry-budget.js'
export { createRetryBudget } from './retry-budget.js'
