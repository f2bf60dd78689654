// The Listener's public declaration types: services, resources, filters, the handler
// context, and the type-level parsing of path templates and binding specs. No runtime code.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { CacheControlOptions } from '@x/cache'
import type { PeerCertificateInfo } from '@x/tls'
import type { WebSocketService, WebSocketUpgradeOptions } from '@x/websocket'
import type { CompressionPolicy } from '../client/options.js'
import type { ResourceValidators } from './caching.js'
import type { CompressionOptions } from './compression.js'
import type { CorsOptions } from './cors.js'
import type { Http2Request } from './http2-adapter.js'
import type { SseResourceOptions } from './sse.js'
import type { TlsInfo } from './tls.js'

/** Scalar types a path parameter, query parameter or header can be declared with. */
export type ScalarType = 'string' | 'integer' | 'number' | 'boolean'
/** Array types a query parameter or header can be declared with (repeated, or comma-separated for headers). */
export type ArrayType = 'string[]' | 'integer[]' | 'number[]' | 'boolean[]'

/** The TypeScript type a declared scalar or array type binds to. */
export type ValueOfType<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'string[]'
        ? string[]
        : T extends 'integer[]' | 'number[]'
          ? number[]
          : T extends 'boolean[]'
            ? boolean[]
            : never

/** A declared parameter with options: `{ type: 'integer', optional: true }` or `{ type: 'integer', default: 10 }`. */
export interface ParamOptions<T extends ScalarType | ArrayType = ScalarType | ArrayType> {
  readonly type: T
  /** An absent value binds `undefined` instead of answering 400. @defaultValue false */
  readonly optional?: boolean
  /** The value bound when the parameter is absent. */
  readonly default?: ValueOfType<T>
}

/** How a query parameter or header is declared: a type name, or {@link ParamOptions}. */
export type ParamSpec = ScalarType | ArrayType | ParamOptions

/** The TypeScript type one {@link ParamSpec} binds to. */
export type BoundParam<S> = S extends ScalarType | ArrayType
  ? ValueOfType<S>
  : S extends { readonly type: infer T; readonly default: unknown }
    ? ValueOfType<T>
    : S extends { readonly type: infer T; readonly optional: true }
      ? ValueOfType<T> | undefined
      : S extends { readonly type: infer T }
        ? ValueOfType<T>
        : never

/** The parameter names of a path template: `PathParamNames<'/users/{id}/files/{...rest}'>` is `'id' | 'rest'`. */
export type PathParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? (Name extends `...${infer R}` ? R : Name) | PathParamNames<Rest>
  : never

/** The bound path parameters of a template, typed by the optional `params` declaration (string by default). */
export type PathParams<P extends string, Types = unknown> = {
  readonly [K in PathParamNames<P>]: Types extends { readonly [Q in K]: infer S } ? BoundParam<S> : string
}

/** Bound values of a `query` or `headers` declaration. */
export type BoundParams<Specs> = { readonly [K in keyof Specs]: BoundParam<Specs[K]> }

/** Raw query parameters or form fields: one value, or every value when the name repeats. */
export type RawParams = Readonly<Record<string, string | readonly string[] | undefined>>

/** The minimal Standard Schema v1 contract (zod, valibot, arktype, …) a body can be validated with. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

/** What a Standard Schema validator answers. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
      }>
    }

/** How a request body is read: by its declared kind. */
export type BodyKind = 'json' | 'text' | 'form' | 'bytes' | 'stream'

/** A body declaration with options. */
export interface BodyOptions<K extends BodyKind = BodyKind> {
  readonly type: K
  /** An empty body binds `undefined` instead of answering 400. @defaultValue false */
  readonly optional?: boolean
  /** Largest body accepted, in bytes (413 beyond). @defaultValue the Listener's `maxBodySize` */
  readonly maxSize?: number
  /** A validator: answers false (400) for a body it rejects; a type predicate types `ctx.body`. */
  readonly validate?: (value: unknown) => boolean
  /** A Standard Schema (zod, valibot, arktype, …): issues answer 400 and its output is bound. */
  readonly schema?: StandardSchemaV1
}

/** How a resource declares its body: a kind, or {@link BodyOptions}. */
export type BodySpec = BodyKind | BodyOptions

type BodyOfKind<K> = K extends 'json'
  ? unknown
  : K extends 'text'
    ? string
    : K extends 'form'
      ? RawParams
      : K extends 'bytes'
        ? Buffer
        : K extends 'stream'
          ? Readable
          : unknown

type Optional<B, T> = B extends { readonly optional: true } ? T | undefined : T

/** The TypeScript type a body declaration binds `ctx.body` to. */
export type BoundBody<B> = B extends BodyKind
  ? BodyOfKind<B>
  : B extends { readonly schema: { readonly '~standard': { readonly types?: infer Ty } } }
    ? Optional<B, NonNullable<Ty> extends { readonly output: infer O } ? O : unknown>
    : B extends { readonly validate: (v: unknown) => v is infer T }
      ? Optional<B, T>
      : B extends { readonly type: infer K }
        ? Optional<B, BodyOfKind<K>>
        : undefined

/** The shape a {@link Context} is typed with. */
export interface ContextShape {
  readonly params?: object
  readonly query?: object
  readonly headers?: object
  readonly body?: unknown
}

/** Response headers: names in any case, values as Node accepts them. */
export type OutgoingHeaders = Record<string, string | number | readonly string[]>

/** What `ctx.caller.respond()` resolves to: the response reached the socket, or the client had gone. */
export type RespondOutcome = 'sent' | 'closed'

/** Ballerina's caller: answers the request from inside a handler or filter. */
export interface Caller {
  /**
   * Sends `value` as the response (the same rules as a returned value; `status` overrides the
   * default). Throws an `HttpError` `X_ERR_HTTP_ALREADY_RESPONDED` when a response was already sent.
   */
  respond(value?: unknown, status?: number): Promise<RespondOutcome>
  /**
   * Sends an interim response before the final one: 103 Early Hints (which needs a `Link`
   * field) or 102 Processing. Returns false when nothing was sent: the response already
   * started, the client speaks HTTP/1.0 (RFC 9110 §15.2), or a 103 has no `Link`. Another
   * status, or a field Node would write unchecked (a bad name, CR, LF or NUL in a value),
   * throws an `HttpError` `X_ERR_HTTP_INVALID_OPTION`.
   */
  informational(
    status: 102 | 103,
    headers?: Readonly<Record<string, string | readonly string[] | undefined>>,
  ): boolean
}

/** The value a request filter returns to pass the request on. */
export interface Next {
  readonly __next: true
}

/** What a handler or filter sees of one request. */
export interface Context<S extends ContextShape = ContextShape> {
  /**
   * The Node request: an `http.IncomingMessage` under HTTP/1.1, an {@link Http2Request}
   * (the same members a service needs, over the HTTP/2 stream) under HTTP/2.
   */
  readonly request: IncomingMessage | Http2Request
  /** The request method, upper-case as sent. */
  readonly method: string
  /** The request target as sent, with its query string. */
  readonly url: string
  /** The path, without the query string (not decoded). */
  readonly path: string
  /** Path parameters, decoded and converted to their declared types. */
  readonly params: S extends { readonly params: infer P } ? P : Readonly<Record<string, string>>
  /** Query parameters: converted to their declared types when the resource declares `query`, else raw. */
  readonly query: S extends { readonly query: infer Q } ? Q : RawParams
  /** Request headers (lower-case names); declared headers are converted to their types. */
  readonly headers: S extends { readonly headers: infer H } ? IncomingHttpHeaders & H : IncomingHttpHeaders
  /** The body, read and converted as the resource declares (`undefined` when it declares none). */
  readonly body: S extends { readonly body: infer B } ? B : unknown
  /** Answers the request (Ballerina style); returning a value from the handler does the same. */
  readonly caller: Caller
  /** Aborted when the client goes away before the response is complete. */
  readonly signal: AbortSignal
  /** Values shared between filters and the resource for this request. */
  readonly state: Record<string, unknown>
  /** The matched route template (`/users/{id}`), once routed. */
  readonly template: string | undefined
  /** The media type chosen from the resource's `produces` by the request's `Accept`. */
  readonly mediaType: string | undefined
  /** The connection's TLS: version, ALPN protocol, SNI name, client certificate; undefined in cleartext. */
  readonly tls: TlsInfo | undefined
  /** The certificate the client presented (mutual TLS): `subject`, `commonName`, `issuer`, …; undefined when none. */
  readonly clientCertificate: PeerCertificateInfo | undefined
  /**
   * `'websocket'` when the request is a WebSocket opening handshake (a GET with `Connection:
   * upgrade` and `Upgrade: websocket`, no body) on a Listener with upgrade resources: it switches
   * protocols if it reaches one of them and every filter passes it. Whatever a filter answers
   * instead (a value, a thrown `HttpError`) refuses the upgrade and is sent as a plain HTTP
   * response on a connection that then closes. `undefined` for every other request.
   */
  readonly upgrade: 'websocket' | undefined
  /**
   * This exchange's id, shared by its access and trace lines: the request's `X-Request-Id` when
   * it is safe to log, else a generated one; undefined with `requestId: false`.
   */
  readonly requestId: string | undefined
  /** The value a request filter returns to pass the request on. */
  next(): Next
}

/** How responses are framed. AUTO: `Content-Length` when the size is known, chunked for streams. */
export type ChunkingPolicy = 'AUTO' | 'ALWAYS' | 'NEVER'
/**
 * Keep-alive. AUTO: as the request asks (RFC 9112), closing after a request refused with its
 * body unread; ALWAYS: also keep those, draining the body (within `maxBodySize`); NEVER: close
 * after each response. A client's `Connection: close` is honoured under every policy.
 */
export type KeepAlivePolicy = 'AUTO' | 'ALWAYS' | 'NEVER'

/** A resource: a path template under the service's base path, its methods, its binding and its handler. */
export interface Resource<S extends ContextShape = ContextShape> {
  /** Methods answered; none (or `['*']`) = any method. */
  readonly methods?: readonly string[]
  /** A path template in `@x/router` syntax, relative to the service's base path. */
  readonly path: string
  /** Declared types of path parameters (string by default). */
  readonly params?: Readonly<Record<string, ScalarType>>
  /** Declared query parameters. */
  readonly query?: Readonly<Record<string, ParamSpec>>
  /** Declared headers (lower-case names, as `ctx.headers` has them). */
  readonly headers?: Readonly<Record<string, ParamSpec>>
  /** How the body is read. */
  readonly body?: BodySpec
  /** Accepted request media types (`type/*` allowed); others answer 415. */
  readonly consumes?: readonly string[]
  /** Media types this resource can produce; an `Accept` none satisfies answers 406. */
  readonly produces?: readonly string[]
  /** Response framing for this resource. @defaultValue the service's, else the Listener's */
  readonly chunking?: ChunkingPolicy
  /** CORS of this resource: its fields override the service's; `false` turns CORS off here. */
  readonly cors?: CorsOptions | false
  /** Response compression of this resource (fields override the service's). @defaultValue the service's, else the Listener's */
  readonly compression?: CompressionPolicy | CompressionOptions
  /** `Cache-Control` of 2xx and 304 answers to GET and HEAD, built by `@x/cache`'s `cacheControl()`. */
  readonly cacheControl?: CacheControlOptions
  /** Send a strong ETag hashed from buffered 2xx GET/HEAD bodies. @defaultValue true when `cacheControl` is set without `noStore` */
  readonly etag?: boolean
  /**
   * The current validators (ETag, Last-Modified, existence), asked before the body is read and
   * the handler runs: conditional requests are answered 304 or 412 from them, and GET/HEAD
   * answers carry them.
   */
  validators?(ctx: Context): ResourceValidators | undefined | Promise<ResourceValidators | undefined>
  /** Stream the handler's async iterable as Server-Sent Events (`text/event-stream`). */
  readonly sse?: boolean | SseResourceOptions
  /**
   * Completes WebSocket handshakes that reach this resource (after the filters and the binding
   * of path, query and headers) and hands the connection to a `@x/websocket` service.
   */
  readonly upgrade?: UpgradeSpec<Context<S>>
  /**
   * The resource function: return a value, or answer through `ctx.caller`. Optional on a
   * resource with `upgrade`: plain requests then get 426 with `Upgrade: websocket`.
   */
  handler?(ctx: Context<S>): unknown
}

/** A function of the upgrade request that returns the service of its connection (Ballerina's upgrade resource). */
export type WebSocketServiceFactory<C = Context> = (
  ctx: C,
) => WebSocketService | PromiseLike<WebSocketService>

/**
 * How a resource upgrades to WebSocket: the options of `@x/websocket`'s `WebSocketUpgrader`
 * (`subProtocols`, `maxMessageSize`, `idleTimeout`, `heartbeat`, `perMessageDeflate`,
 * `allowedOrigins`, `maxConnections`, …) with the service of the connections.
 */
export interface UpgradeSpec<C = Context> extends Omit<WebSocketUpgradeOptions, 'service'> {
  /**
   * The callback service of every connection, or a function of the bound request (`ctx.params`,
   * `ctx.query`, `ctx.headers`, `ctx.state`) that returns the service of this connection; it
   * runs after the filters, may be async, and throws an `HttpError` to refuse.
   */
  readonly service: WebSocketService | WebSocketServiceFactory<C>
}

/** A filter: runs on the way in (`request`), on the way out (`response`), or on errors (`error`). */
export interface Filter {
  /** A name for logs. */
  readonly name?: string
  /**
   * Runs before the resource. Return `ctx.next()` (or nothing) to pass the request on; return a
   * value (as a handler would) or respond through `ctx.caller` to answer it; throw to fail it.
   */
  request?(ctx: Context): unknown
  /** Runs on the way out, in reverse order, for filters the request passed; may change `response` in place. */
  response?(ctx: Context, response: OutgoingResponse): unknown
  /**
   * Handles an error travelling towards it: return a value to answer with it, or nothing
   * (or rethrow) to pass the error on to the next error filter and then the default handler.
   */
  error?(ctx: Context, error: unknown): unknown
}

/** The response a response filter sees and may change before it is written. */
export interface OutgoingResponse {
  status: number
  headers: OutgoingHeaders
  /** The value to send: serialised by the same rules as a handler's return value. */
  body: unknown
}

/** A service: resources under one base path, optionally for one host, with its own filters. */
export interface Service {
  /** The path prefix of every resource; the longest matching one wins. @defaultValue '/' */
  readonly basePath?: string
  /** Serve only requests whose `Host` header names this host (port ignored, case-insensitive). */
  readonly host?: string
  /** Filters run after the Listener's, in order. */
  readonly filters?: readonly Filter[]
  /** Response framing for the service's resources. */
  readonly chunking?: ChunkingPolicy
  /** CORS of the service's resources (and of its 404 / 405 answers). */
  readonly cors?: CorsOptions
  /** Response compression of the service's resources (fields override the Listener's). */
  readonly compression?: CompressionPolicy | CompressionOptions
  readonly resources: readonly Resource[]
}

/** The context type a resource declaration gives its handler. */
export type ResourceContext<
  Path extends string,
  PT = unknown,
  QT = unknown,
  HT = unknown,
  BT = undefined,
> = Context<{
  readonly params: PathParams<Path, PT>
  readonly query: unknown extends QT ? RawParams : BoundParams<QT>
  readonly headers: unknown extends HT ? object : BoundParams<HT>
  readonly body: BoundBody<BT>
}>
