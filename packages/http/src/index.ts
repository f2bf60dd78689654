// The public surface of @x/http: the Listener and Client endpoints.

export type { CachePolicy, CacheStore } from '@x/cache'
export { MemoryStore } from '@x/cache'
// Client
export type {
  BalancerRequest,
  BalancerRule,
  BalancerTarget,
  OutlierDetectionOptions,
} from '@x/client-pool'
export type { WebSocketCaller, WebSocketService } from '@x/websocket'
export type { ChainStep } from './client/chain.js'
export type { RequestHeaders, RequestOptions } from './client/client.js'
export { Client } from './client/client.js'
export type { DeadlineOptions } from './client/deadline.js'
export { deadline } from './client/deadline.js'
export type { DecompressOptions } from './client/decompress.js'
export { ACCEPT_ENCODING, decompress } from './client/decompress.js'
export type { ClientErrorCode, ClientErrorDetails, ClientTargetFailure } from './client/errors.js'
export { ClientError, isClientError } from './client/errors.js'
export type { EventStreamOptions } from './client/event-stream.js'
export { EventStream } from './client/event-stream.js'
export type { InboundRequest } from './client/forward.js'
export type { TargetStats } from './client/multi-target.js'
export { FailoverClient, LoadBalanceClient } from './client/multi-target.js'
export type {
  CacheConfig,
  ChunkingPolicy,
  CircuitBreakerConfig,
  ClientOptions,
  ClientSecureSocket,
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
export type { BodyCheck, InformationalListener, ResponseSchema } from './client/response.js'
export { ClientResponse } from './client/response.js'
export type { RetryOptions } from './client/retry.js'
export { retry } from './client/retry.js'
export type { SseEvent } from './client/sse-parser.js'
export type {
  FailoverClientOptions,
  LoadBalanceClientOptions,
  MultiTargetOptions,
  TargetConfig,
} from './client/targets.js'

// Listener
export type { HttpErrorCode, HttpErrorHeaders, HttpErrorOptions } from './errors.js'
export { HttpError, isHttpError } from './errors.js'
export type { ResourceValidators } from './listener/caching.js'
export type { WorkersOptions } from './listener/cluster.js'
export type { CompressionLevels, CompressionOptions, ContentCoding } from './listener/compression.js'
export type { CorsOptions } from './listener/cors.js'
export { Http2Request } from './listener/http2-adapter.js'
export type { GracefulStopOptions } from './listener/listener.js'
export { Listener } from './listener/listener.js'
export type { Http2Options, ListenerLogger, ListenerOptions } from './listener/options.js'
export type { RequestIdOptions } from './listener/request-id.js'
export type { ResourceSpec } from './listener/resource.js'
export { resource } from './listener/resource.js'
export type { HttpResponseInit } from './listener/response.js'
export { HttpResponse } from './listener/response.js'
export type { ServerSentEvent, SseResourceOptions } from './listener/sse.js'
export type { ListenerTlsOptions, TlsInfo } from './listener/tls.js'
export type {
  ArrayType,
  BodyKind,
  BodyOptions,
  BodySpec,
  BoundBody,
  BoundParam,
  BoundParams,
  Caller,
  Context,
  ContextShape,
  Filter,
  KeepAlivePolicy,
  Next,
  OutgoingHeaders,
  OutgoingResponse,
  ParamOptions,
  ParamSpec,
  PathParamNames,
  PathParams,
  RawParams,
  Resource,
  ResourceContext,
  RespondOutcome,
  ScalarType,
  Service,
  StandardSchemaResult,
  StandardSchemaV1,
  UpgradeSpec,
  ValueOfType,
  WebSocketServiceFactory,
} from './listener/types.js'
