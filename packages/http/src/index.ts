// The public surface of @x/http: the Listener and Client endpoints.

// Client
export type {
  BalancerRequest,
  BalancerRule,
  BalancerTarget,
  OutlierDetectionOptions,
} from '@x/client-pool'
export type { ChainStep } from './client/chain.js'
export type { RequestHeaders, RequestOptions } from './client/client.js'
export { Client } from './client/client.js'
export type { DeadlineOptions } from './client/deadline.js'
export { deadline } from './client/deadline.js'
export type { DecompressOptions } from './client/decompress.js'
export { ACCEPT_ENCODING, decompress } from './client/decompress.js'
export type { ClientErrorCode, ClientErrorDetails, ClientTargetFailure } from './client/errors.js'
export { ClientError, isClientError } from './client/errors.js'
export type { InboundRequest } from './client/forward.js'
export type { TargetStats } from './client/multi-target.js'
export { FailoverClient, LoadBalanceClient } from './client/multi-target.js'
export type {
  ChunkingPolicy,
  CircuitBreakerConfig,
  ClientOptions,
  CompressionPolicy,
  FollowRedirectsOptions,
  ForwardedPolicy,
  PoolConfig,
  ResolvedClientOptions,
  ResolvedRedirects,
  ResolvedRetry,
  ResponseLimits,
  RetryBudgetConfig,
  RetryConfig,
  RetryJitter,
} from './client/options.js'
export type { FollowRedirectsInterceptorOptions } from './client/redirect.js'
export { followRedirects } from './client/redirect.js'
export type { RequestBody } from './client/request-body.js'
export type { BodyCheck, ResponseSchema } from './client/response.js'
export { ClientResponse } from './client/response.js'
export type { RetryOptions } from './client/retry.js'
export { retry } from './client/retry.js'
export type {
  FailoverClientOptions,
  LoadBalanceClientOptions,
  MultiTargetOptions,
  TargetConfig,
} from './client/targets.js'
