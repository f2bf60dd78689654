// Client: one object bound to one base URL, with a connection pool and the resilience steps
// its configuration asks for, all undici interceptors over an @x/client-pool dispatcher.
// Requests are built straight into undici dispatch options: no fetch, no Request objects.
import type { CircuitBreaker } from '@x/circuit-breaker'
import { ClientPool, isClientPoolError, type OriginStats } from '@x/client-pool'
import { type ClientTlsConnector, createClientTlsConnector, isTlsError } from '@x/tls'
import { buildConnector, type Dispatcher } from 'undici'
import { useTraceLog } from '../log-options.js'
import { clientChain, composeOrder } from './chain.js'
import { ACCEPT_ENCODING } from './decompress.js'
import { ClientError } from './errors.js'
import { EventStream, type EventStreamOptions } from './event-stream.js'
import { forwardedRequest, type InboundRequest } from './forward.js'
import type { Dispatch, DispatchOptions, Handler } from './internal/handler.js'
import { isFieldValue, isToken } from './internal/headers.js'
import { DEADLINE, DECODE } from './internal/symbols.js'
import {
  type ClientOptions,
  invalidOption,
  MAX_TIMER_MS,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './options.js'
import { type EncodedBody, encodeBody, type RequestBody } from './request-body.js'
import { createResilience, type Resilience } from './resilience.js'
import { type ClientResponse, type InformationalListener, ResponseHandler } from './response.js'
import { TargetSet } from './targets.js'
import { ClientTrace } from './trace.js'

/** Header values a request may carry. */
export type RequestHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>>

/** Options of one request. */
export interface RequestOptions {
  /** Headers of this request; one named like a default header replaces it. */
  headers?: RequestHeaders
  /** Aborts the request; it then fails with `X_ERR_CLIENT_ABORTED`. */
  signal?: AbortSignal
  /** Overall deadline of this request (ms), replacing the Client's `timeout`; 0 for none. */
  timeout?: number
  /** Called with each interim (1xx) response before the final one, such as 103 Early Hints; without it they are dropped. */
  informational?: InformationalListener
}

const KNOWN_METHODS = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].map((m) => [m.toLowerCase(), m]),
)
// Fields the client manages itself; a request may not set them.
const MANAGED = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect'])

let readResilience: (client: Client) => Resilience

/** @internal The breaker, balancer and budget a client made for itself (for the multi-target clients). */
export function resilienceOf(client: Client): Resilience {
  return readResilience(client)
}

function badUrl(why: string): ClientError {
  return new ClientError('X_ERR_CLIENT_INVALID_URL', why)
}

/** Percent-encodes non-ASCII characters of a path; refuses controls, spaces and fragments. */
function checkPath(path: string): string {
  let ascii = true
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f || c === 0x23) throw badUrl(`the path has a forbidden character at ${i}`)
    if (c > 0x7e) ascii = false
  }
  if (ascii) return path
  try {
    let out = ''
    for (const ch of path) out += ch.charCodeAt(0) > 0x7e ? encodeURIComponent(ch) : ch
    return out
  } catch (cause) {
    throw new ClientError('X_ERR_CLIENT_INVALID_URL', 'the path is not well-formed Unicode', { cause })
  }
}

/**
 * An HTTP client for one service: `new Client('https://api.example.com/v1', options)`, then
 * `get('/users/1')` and friends. Pooled connections, timeouts, redirects, retries, compression
 * and proxies come from its options; every failure is a `ClientError` with a stable `code`.
 */
export class Client {
  /** The base URL requests are resolved against. */
  readonly url: string
  readonly #origin: string
  readonly #basePath: string
  readonly #config: ResolvedClientOptions
  readonly #pool: ClientPool
  readonly #dispatcher: Dispatcher
  readonly #dispatch: Dispatch
  /** Default headers, plus Accept-Encoding when the client decodes. */
  readonly #baseHeaders: string[]
  readonly #decode: boolean
  readonly #resilience: Resilience
  readonly #trace: ClientTrace | undefined
  #closed = false

  static {
    readResilience = (client) => client.#resilience
  }

  /** Throws `ClientError` (`X_ERR_CLIENT_INVALID_URL` / `X_ERR_CLIENT_INVALID_OPTION`) for a bad URL or option. */
  constructor(url: string | URL, options?: ClientOptions) {
    // LoadBalanceClient and FailoverClient pass their validated targets in place of a URL.
    const targets = (url as unknown) instanceof TargetSet ? (url as unknown as TargetSet).resolved : undefined
    let base: URL
    try {
      base = new URL(targets === undefined ? url : targets.targets[0]!.url)
    } catch (cause) {
      throw new ClientError('X_ERR_CLIENT_INVALID_URL', `not a URL: ${String(url)}`, { cause })
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw badUrl(`${base.protocol} is not http: or https:`)
    if (base.username !== '' || base.password !== '')
      throw badUrl('credentials in the URL are not sent; use headers')
    if (base.search !== '' || base.hash !== '') throw badUrl('the base URL cannot have a query or fragment')
    const config = resolveClientOptions(options)
    this.#config = config
    this.#origin = base.origin
    const path = base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '')
    this.url = `${this.#origin}${path}`
    // With several targets the balancer adds each target's own base path.
    this.#basePath = targets === undefined ? path : ''

    const pc = config.poolConfig
    const connector = config.secureSocket === undefined ? undefined : tlsConnector(config)
    // Tracing needs to know this Client's connections: then the Client makes the connector.
    const trace =
      options?.traceLog === undefined ? undefined : clientTrace(options.traceLog, config, connector)
    this.#trace = trace
    try {
      this.#pool = new ClientPool({
        ...pc,
        httpVersion: config.httpVersion,
        keepAlive: config.keepAlive,
        connectTimeout: config.connectTimeout,
        headersTimeout: config.headersTimeout,
        bodyTimeout: config.bodyTimeout,
        maxHeaderSize: config.maxHeaderSize,
        ...(trace !== undefined
          ? { connector: trace.connector }
          : connector === undefined
            ? {}
            : { connector }),
        ...(config.proxy === undefined ? {} : { proxy: config.proxy }),
      })
    } catch (err) {
      void trace?.close()
      if (isClientPoolError(err, 'X_ERR_POOL_INVALID_OPTION')) {
        const o = err.option ?? ''
        const option = o.startsWith('proxy') ? o : `poolConfig.${o}`
        throw invalidOption(option, err.message.slice(o.length + 1), err)
      }
      throw err
    }
    this.#resilience = createResilience(config, targets, this.url)
    this.#dispatcher = this.#pool.compose(composeOrder(clientChain(config, this.#resilience)))
    this.#dispatch = this.#dispatcher.dispatch
    this.#decode = config.compression !== 'NEVER'
    this.#baseHeaders = [...config.headers]
    if (this.#decode && !config.headers.includes('accept-encoding')) {
      this.#baseHeaders.push('accept-encoding', ACCEPT_ENCODING)
    }
  }

  /** The options in force, defaults applied. */
  get config(): ResolvedClientOptions {
    return this.#config
  }

  /**
   * The Client's chain as an undici Dispatcher: `fetch(url, { dispatcher: client.dispatcher })`
   * and `undici.request()` get the same pool, deadline, decoding, redirects and retries.
   */
  get dispatcher(): Dispatcher {
    return this.#dispatcher
  }

  /**
   * The client-wide circuit breaker, when the `circuitBreaker` option made one (a
   * `LoadBalanceClient` or `FailoverClient` has one per target instead): its `state`,
   * `stats()`, `forceOpen()`, `forceClose()`, `reset()`.
   */
  get circuitBreaker(): CircuitBreaker | undefined {
    return this.#resilience.breaker
  }

  /** Pool statistics per origin: connections, active, idle, queued, in flight. */
  stats(): Record<string, OriginStats> {
    return this.#pool.stats()
  }

  /** GET `path` (relative to the base URL; may carry a query). */
  get(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('GET', path, undefined, options)
  }

  /** HEAD `path`. */
  head(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('HEAD', path, undefined, options)
  }

  /** OPTIONS `path`. */
  options(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('OPTIONS', path, undefined, options)
  }

  /** DELETE `path`, with an optional body. */
  delete(path: string, body?: RequestBody, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('DELETE', path, body, options)
  }

  /** POST `body` to `path`. */
  post(path: string, body?: RequestBody, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('POST', path, body, options)
  }

  /** PUT `body` to `path`. */
  put(path: string, body?: RequestBody, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('PUT', path, body, options)
  }

  /** PATCH `path` with `body`. */
  patch(path: string, body?: RequestBody, options?: RequestOptions): Promise<ClientResponse> {
    return this.execute('PATCH', path, body, options)
  }

  /** Sends any method. Rejects with a `ClientError`; a response of any status resolves. */
  execute(
    method: string,
    path: string,
    body?: RequestBody,
    options?: RequestOptions,
  ): Promise<ClientResponse> {
    try {
      if (this.#closed) throw new ClientError('X_ERR_CLIENT_CLOSED', 'the client is closed')
      const m = this.#method(method)
      const p = this.#path(path)
      const encoded = encodeBody(body, this.#config.chunking)
      if (encoded instanceof Promise) {
        return encoded.then((e) => this.#send(m, p, e, options, null))
      }
      return this.#send(m, p, encoded, options, null)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Sends a request a server received to `path` on this client's service: same method,
   * headers and body, without hop-by-hop fields, with `Forwarded` as the `forwarded` option
   * says. The inbound body is streamed, so such a request is not retried.
   */
  forward(path: string, inbound: InboundRequest, options?: RequestOptions): Promise<ClientResponse> {
    try {
      if (this.#closed) throw new ClientError('X_ERR_CLIENT_CLOSED', 'the client is closed')
      if (inbound === null || typeof inbound !== 'object' || !Array.isArray(inbound.rawHeaders)) {
        throw new ClientError(
          'X_ERR_CLIENT_INVALID_REQUEST',
          'forward() needs a request received by a server',
        )
      }
      const p = this.#path(path)
      const f = forwardedRequest(inbound, this.#config.forwarded)
      const m = this.#method(f.method)
      const chunking = this.#config.chunking
      if (f.body !== null && chunking === 'NEVER') {
        const encoded = encodeBody(f.body, 'NEVER') as Promise<EncodedBody>
        return encoded.then((e) =>
          this.#send(m, p, { body: e.body, contentType: undefined }, options, stripLength(f.headers)),
        )
      }
      const headers = chunking === 'ALWAYS' && f.body !== null ? stripLength(f.headers) : f.headers
      return this.#send(m, p, { body: f.body, contentType: undefined }, options, headers)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Server-Sent Events from `path` as an async iterable: `for await (const e of client.sse('/events'))`.
   * Connects on the first `next()`; after a dropped connection it reconnects with
   * `Last-Event-ID`, waiting the server's `retry`, at most `maxReconnects` times in a row.
   * Throws `ClientError` at once for a bad path or option.
   */
  sse(path: string, options: EventStreamOptions = {}): EventStream {
    if (this.#closed) throw new ClientError('X_ERR_CLIENT_CLOSED', 'the client is closed')
    const p = this.#path(path)
    if (typeof options !== 'object' || options === null) {
      throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'sse options must be an object')
    }
    const bad = (name: string, why: string) =>
      new ClientError('X_ERR_CLIENT_INVALID_REQUEST', `sse ${name} ${why}`, { option: name })
    const count = (name: string, value: unknown, def: number, min: number, infinite: boolean): number => {
      if (value === undefined) return def
      if (infinite && value === Number.POSITIVE_INFINITY) return value
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
        throw bad(name, `must be an integer from ${min} to ${MAX_TIMER_MS}`)
      }
      return value
    }
    const retry = count('retry', options.retry, 3_000, 0, false)
    const maxReconnects = count('maxReconnects', options.maxReconnects, 5, 0, true)
    const maxEventSize = count('maxEventSize', options.maxEventSize, 1_048_576, 1, false)
    const idleTimeout = count('idleTimeout', options.idleTimeout, this.#config.bodyTimeout, 0, false)
    const lastEventId = options.lastEventId ?? ''
    if (typeof lastEventId !== 'string' || /[\0\r\n]/.test(lastEventId)) {
      throw bad('lastEventId', 'must be a string without NUL, CR or LF')
    }
    const signal = options.signal
    if (
      signal !== undefined &&
      (typeof signal !== 'object' || typeof signal.addEventListener !== 'function')
    ) {
      throw bad('signal', 'must be an AbortSignal')
    }
    // The stream must not be decoded (a compressor holds events back) and has no overall deadline.
    const { list } = this.#headers({ 'accept-encoding': 'identity', ...options.headers }, undefined, null)
    const origin = this.#origin
    const connect = (extra: string[], idle: number, handler: Handler): void => {
      if (this.#closed) throw new ClientError('X_ERR_CLIENT_CLOSED', 'the client is closed')
      const opts: DispatchOptions & { [DEADLINE]?: number } = {
        origin,
        path: p,
        method: 'GET',
        headers: [...stripNames(list, extra), ...extra],
        body: null,
        bodyTimeout: idle,
      }
      opts[DEADLINE] = 0
      this.#dispatch(opts, handler)
    }
    return new EventStream(`${origin}${p}`, connect, {
      retry,
      maxReconnects,
      maxEventSize,
      idleTimeout,
      lastEventId,
      signal,
    })
  }

  /** Stops taking requests, lets running ones finish, then closes every connection (and a trace log it built). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#pool.close()
    await this.#trace?.close()
  }

  #method(method: string): string {
    if (typeof method !== 'string')
      throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'the method must be a string')
    const known = KNOWN_METHODS.get(method) ?? KNOWN_METHODS.get(method.toLowerCase())
    if (known !== undefined) return known
    if (!isToken(method) || method === 'CONNECT') {
      throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', `not a method this client sends: ${method}`)
    }
    return method
  }

  #path(path: string): string {
    if (typeof path !== 'string') throw badUrl('the path must be a string')
    if (path === '') return this.#basePath === '' ? '/' : this.#basePath
    if (path[0] === '?') return `${this.#basePath === '' ? '/' : this.#basePath}${checkPath(path)}`
    if (path[0] !== '/') throw badUrl('the path must start with "/" or "?"')
    if (path.length > 1 && path[1] === '/') throw badUrl('the path must not start with "//"')
    return `${this.#basePath}${checkPath(path)}`
  }

  /** Merges default and request headers into a flat list, validating the request's. */
  #headers(
    own: RequestHeaders | undefined,
    contentType: string | undefined,
    forwarded: string[] | null,
  ): { list: string[]; decode: boolean } {
    const base = this.#baseHeaders
    if (own === undefined && contentType === undefined && forwarded === null)
      return { list: base, decode: this.#decode }
    const set = new Map<string, number>()
    const extra: string[] = []
    const add = (name: string, lower: string, value: string) => {
      set.set(lower, 1)
      extra.push(name, value)
    }
    if (forwarded !== null) {
      for (let i = 0; i < forwarded.length; i += 2)
        add(forwarded[i]!, forwarded[i]!.toLowerCase(), forwarded[i + 1]!)
    }
    if (own !== undefined) {
      if (typeof own !== 'object' || own === null)
        throw new ClientError('X_ERR_CLIENT_INVALID_HEADER', 'headers must be an object')
      for (const name of Object.keys(own)) {
        const value = own[name]
        if (value === undefined) continue
        if (!isToken(name))
          throw new ClientError(
            'X_ERR_CLIENT_INVALID_HEADER',
            `not a valid header name: ${JSON.stringify(name)}`,
          )
        const lower = name.toLowerCase()
        if (MANAGED.has(lower))
          throw new ClientError('X_ERR_CLIENT_INVALID_HEADER', `${name} is managed by the client`)
        if (forwarded !== null && set.has(lower)) {
          // A request's own header replaces the forwarded one.
          for (let i = extra.length - 2; i >= 0; i -= 2)
            if (extra[i]!.toLowerCase() === lower) extra.splice(i, 2)
        }
        const values = Array.isArray(value) ? value : [value]
        for (const v of values) {
          const s = typeof v === 'number' ? String(v) : v
          if (typeof s !== 'string' || !isFieldValue(s)) {
            throw new ClientError(
              'X_ERR_CLIENT_INVALID_HEADER',
              `the value of ${name} has CR, LF or another forbidden character`,
            )
          }
          add(name, lower, s)
        }
      }
    }
    if (contentType !== undefined && !set.has('content-type'))
      add('content-type', 'content-type', contentType)
    const mode = this.#config.compression
    let decode = this.#decode
    const list: string[] = []
    for (let i = 0; i < base.length; i += 2) {
      const lower = base[i]!
      if (set.has(lower)) {
        if (lower === 'accept-encoding' && mode === 'ALWAYS') {
          // ALWAYS: the client's Accept-Encoding wins over the caller's.
          for (let j = extra.length - 2; j >= 0; j -= 2)
            if (extra[j]!.toLowerCase() === lower) extra.splice(j, 2)
          list.push(lower, base[i + 1]!)
        }
        continue
      }
      list.push(lower, base[i + 1]!)
    }
    if (mode === 'AUTO' && set.has('accept-encoding')) decode = false
    for (const x of extra) list.push(x)
    return { list, decode }
  }

  #send(
    method: string,
    path: string,
    encoded: EncodedBody,
    options: RequestOptions | undefined,
    forwarded: string[] | null,
  ): Promise<ClientResponse> {
    let signal: AbortSignal | undefined
    let timeout: number | undefined
    let own: RequestHeaders | undefined
    let informational: InformationalListener | undefined
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'request options must be an object')
      }
      own = options.headers
      signal = options.signal
      timeout = options.timeout
      informational = options.informational
      if (informational !== undefined && typeof informational !== 'function') {
        throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'informational must be a function')
      }
      if (
        signal !== undefined &&
        (typeof signal !== 'object' || typeof signal.addEventListener !== 'function')
      ) {
        throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'signal must be an AbortSignal')
      }
      if (
        timeout !== undefined &&
        (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMER_MS)
      ) {
        throw new ClientError(
          'X_ERR_CLIENT_INVALID_REQUEST',
          `timeout must be an integer from 0 to ${MAX_TIMER_MS}`,
        )
      }
    }
    const { list, decode } = this.#headers(own, encoded.contentType, forwarded)
    const handler = new ResponseHandler(method, this.#origin, path, this.#config.maxBodySize, signal)
    if (informational !== undefined) handler.informational = informational
    if (signal?.aborted === true) {
      handler.handleEvent()
      return handler.promise
    }
    const opts: DispatchOptions & { [DECODE]?: boolean; [DEADLINE]?: number } = {
      origin: this.#origin,
      path,
      method,
      headers: list,
      body: encoded.body as NonNullable<DispatchOptions['body']> | null,
    }
    if (decode) opts[DECODE] = true
    if (timeout !== undefined) opts[DEADLINE] = timeout
    try {
      this.#dispatch(opts, handler)
    } catch (err) {
      handler.onResponseError(null, err as Error)
    }
    return handler.promise
  }
}

/** `headers` without the names `extra` sets (the stream's own Accept, Cache-Control, Last-Event-ID). */
function stripNames(headers: string[], extra: string[]): string[] {
  const names = new Set<string>()
  for (let i = 0; i < extra.length; i += 2) names.add(extra[i]!)
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  }
  return out
}

/** The Client's trace log (built or shared) over the Client's connector (or one like the pool's own), which marks its sockets. */
function clientTrace(
  value: unknown,
  config: ResolvedClientOptions,
  connector: ClientTlsConnector | undefined,
): ClientTrace {
  let base: buildConnector.connector
  if (connector !== undefined) base = connector as unknown as buildConnector.connector
  else {
    try {
      base = buildConnector({ allowH2: config.httpVersion === '2', timeout: config.connectTimeout })
    } catch (cause) {
      throw invalidOption('secureSocket', 'was refused by the TLS connector', cause)
    }
  }
  try {
    return new ClientTrace(useTraceLog(value), base)
  } catch (cause) {
    throw invalidOption('traceLog', (cause as Error).message, cause)
  }
}

function stripLength(headers: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!)
  }
  return out
}

/**
 * `@x/tls`'s connector for the Client's `secureSocket`, plugged into the pool's connector seam
 * so CRL and OCSP checks hold for `client.dispatcher` (and `fetch` over it) too. ALPN follows
 * `httpVersion`; the handshake gets `connectTimeout` unless `handshakeTimeoutMs` is given.
 */
function tlsConnector(config: ResolvedClientOptions): ClientTlsConnector {
  const tls = config.secureSocket!
  try {
    return createClientTlsConnector({
      handshakeTimeoutMs: config.connectTimeout,
      ...tls,
      connectOptions: { allowH2: config.httpVersion === '2' },
    })
  } catch (err) {
    if (isTlsError(err)) {
      const option = err.option === undefined ? 'secureSocket' : `secureSocket.${err.option}`
      throw invalidOption(option, err.message, err)
    }
    throw err
  }
}
