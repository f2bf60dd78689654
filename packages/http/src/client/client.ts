// Client: one object bound to one base URL, with a connection pool and the resilience steps
// its configuration asks for, all undici interceptors over an @x/client-pool dispatcher.
// Requests are built straight into undici dispatch options: no fetch, no Request objects.
import { ClientPool, isClientPoolError, type OriginStats } from '@x/client-pool'
import { buildConnector, type Dispatcher } from 'undici'
import { useTraceLog } from '../log-options.js'
import { clientChain, composeOrder } from './chain.js'
import { ACCEPT_ENCODING } from './decompress.js'
import { ClientError } from './errors.js'
import { forwardedRequest, type InboundRequest } from './forward.js'
import type { Dispatch, DispatchOptions } from './internal/handler.js'
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
import { type ClientResponse, ResponseHandler } from './response.js'
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
}

const KNOWN_METHODS = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].map((m) => [m.toLowerCase(), m]),
)
// Fields the client manages itself; a request may not set them.
const MANAGED = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect'])

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
  readonly #trace: ClientTrace | undefined
  #closed = false

  /** Throws `ClientError` (`X_ERR_CLIENT_INVALID_URL` / `X_ERR_CLIENT_INVALID_OPTION`) for a bad URL or option. */
  constructor(url: string | URL, options?: ClientOptions) {
    let base: URL
    try {
      base = new URL(url)
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
    this.#basePath = base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '')
    this.url = `${this.#origin}${this.#basePath}`

    const pc = config.poolConfig
    // Tracing needs to know this Client's connections: then the Client makes the connector.
    const trace = options?.traceLog === undefined ? undefined : clientTrace(options.traceLog, config)
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
          : config.secureSocket === undefined
            ? {}
            : { tls: config.secureSocket }),
        ...(config.proxy === undefined ? {} : { proxy: config.proxy }),
      })
    } catch (err) {
      void trace?.close()
      if (isClientPoolError(err, 'X_ERR_POOL_INVALID_OPTION')) {
        const o = err.option ?? ''
        const option = o === 'tls' ? 'secureSocket' : o.startsWith('proxy') ? o : `poolConfig.${o}`
        throw invalidOption(option, err.message.slice(o.length + 1), err)
      }
      throw err
    }
    this.#dispatcher = this.#pool.compose(composeOrder(clientChain(config)))
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
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new ClientError('X_ERR_CLIENT_INVALID_REQUEST', 'request options must be an object')
      }
      own = options.headers
      signal = options.signal
      timeout = options.timeout
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

/** The Client's trace log (built or shared) over a connector like the pool's own, which marks its sockets. */
function clientTrace(value: unknown, config: ResolvedClientOptions): ClientTrace {
  let base: buildConnector.connector
  try {
    base = buildConnector({
      ...(config.secureSocket as buildConnector.BuildOptions | undefined),
      allowH2: config.httpVersion === '2',
      timeout: config.connectTimeout,
    })
  } catch (cause) {
    throw invalidOption('secureSocket', 'was refused by the TLS connector', cause)
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
