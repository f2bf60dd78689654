// The public surface of @x/http: the Listener and Client endpoints.

// Listener
export type { HttpErrorCode, HttpErrorHeaders, HttpErrorOptions } from './errors.js'
export { HttpError, isHttpError } from './errors.js'
export type { GracefulStopOptions } from './listener/listener.js'
export { Listener } from './listener/listener.js'
export type { ListenerLogger, ListenerOptions } from './listener/options.js'
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
  ChunkingPolicy,
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
