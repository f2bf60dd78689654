// The public surface of @x/http: the Listener and Client endpoints.

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
export type { BodyCheck, ResponseSchema } from './client/response.js'
export { ClientResponse } from './client/response.js'
export type { RetryOptions } from './client/retry.js'
export { retry } from './client/retry.js'

// Listener
export type { HttpErrorCode, HttpErrorHeaders, HttpErrorOptions } from './errors.js'
export { HttpError, isHttpError } from './errors.js'
export type { GracefulStopOptions } from './listener/listener.js'
export { Listener } from './listener/listener.js'
export type { ListenerLogger, ListenerOptions } from './listener/options.js'
export type { RequestIdOptions } from './listener/request-id.js'
export type { ResourceSpec } from './listener/resource.js'
export { resource } from './listener/resource.js'
export type { HttpResponseInit } from './listener/response.js'
export { HttpResponse } from './listener/response.js'
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
  ValueOfType,
} from './listener/types.js'
