export type { CircuitBreakerGroup, CircuitBreakerGroupOptions } from './breaker-group.js'
export { createCircuitBreakers } from './breaker-group.js'
export type { CircuitPermit, CircuitStats } from './circuit-breaker.js'
export { CircuitBreaker } from './circuit-breaker.js'
export type { CircuitBreakerErrorCode, CircuitBreakerErrorDetails, CircuitState } from './errors.js'
export { CircuitBreakerError, isCircuitBreakerError, isCircuitOpenError } from './errors.js'
export type { CircuitBreakerInterceptor, CircuitBreakerInterceptorOptions } from './interceptor.js'
export { circuitBreaker } from './interceptor.js'
export type {
  BackoffOptions,
  CircuitBreakerOptions,
  RollingWindowOptions,
  SharedWindowOptions,
  StateChangeEvent,
  StateChangeReason,
} from './options.js'
export type { BreakerStore, SharedCounts, WindowShape } from './shared-window.js'
