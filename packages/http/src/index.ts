// The public surface of @x/http: the Listener and Client endpoints.

export type { CachePolicy, CacheStore } from '@x/cache'
export { MemoryStore } from '@x/cache'
// Client
export type { ChainStep } from './client/chain.js'
export type { RequestHeaders, RequestOptions } from './client/client.js'
export { Client } from './client/client.js'
export type { DeadlineOptions } from './client/deadline.js'
export { deadline } from './client/deadline.js'
export type { DecompressOptions } from './client/decompress.js'
export { ACCEPT_ENCODING, decompress } from './client/decompress.js'
export type { ClientErrorCode, ClientErrorDetails } from './client/errors.js'
export { ClientError, isClientError } from './client/errors.js'
export type { InboundRequest } from './client/forward.js'
export type {
  CacheConfig,
  ChunkingPolicy,
  ClientOptions,
  CompressionPolicy,
  FollowRedirectsOptions,
  ForwardedPolicy,
  PoolConfig,
  ResolvedClientOptions,
  ResolvedRedirects,
  ResolvedRetry,
  ResponseLimits,
  RetryConfig,
  RetryJitter,
} from './client/options.js'
export type { FollowRedirectsInterceptorOptions } from './client/redirect.js'
export { followRedirects } from './client/redirect.js'
export type { RequestBody } from './client/request-body.js'
export type { BodyCheck, InformationalListener, ResponseSchema } from './client/response.js'
export { ClientResponse } from './client/response.js'
export type { RetryOptions } from './client/retry.js'
export { retry } from './client/retry.js'
