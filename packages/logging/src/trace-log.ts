// HTTP trace logs at pino level `trace`: every request and response, inbound and outbound,
// with connection id, headers and payload up to a limit. Server exchanges come through
// attach(); client requests (undici and fetch) through undici's diagnostics channels.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Http2ServerResponse } from 'node:http2'
import { performance } from 'node:perf_hooks'
import pino, { type Logger } from 'pino'
import { type DestinationStats, openDestination, type Sink, type TraceLogDestination } from './destination.js'
import { invalidOption } from './errors.js'
import {
  type Exchange,
  type ExchangeObserver,
  observe,
  type ServerRequest,
  type ServerResponseLike,
} from './exchange.js'

/** Options of {@link traceLog}. */
export interface TraceLogOptions {
  /** Where entries go. @defaultValue 'console' (stdout, asynchronously) */
  readonly destination?: TraceLogDestination
  /** Payload bytes logged per message (request or response body); 0 logs none. @defaultValue 4096 */
  readonly maxPayload?: number
  /** How payload bytes are written. @defaultValue 'utf8' */
  readonly payloadEncoding?: 'utf8' | 'base64'
  /**
   * Trace every outbound request made with undici or fetch, through undici's diagnostics
   * channels. `false` traces only what {@link TraceLog.traceRequests} selects. @defaultValue true
   */
  readonly client?: boolean
  /** The request header whose value client entries carry as `requestId`. @defaultValue 'x-request-id' */
  readonly requestIdHeader?: string
  /**
   * Header values replaced by `[Redacted]`: `true` for Authorization, Cookie, Set-Cookie and
   * Proxy-Authorization, a list to add names to those, `false` for none. @defaultValue true
   */
  readonly redactHeaders?: boolean | readonly string[]
}

/** One trace entry's fields (besides pino's `level`, `time`, `pid`, `hostname` and `msg`). */
export interface TraceEntry {
  /** Whose side of the exchange this process is on. */
  readonly side: 'server' | 'client'
  /** Which way the message travelled, seen from this process. */
  readonly direction: 'inbound' | 'outbound'
  /** `request` and `response` are heads; `*-body` close a message with its payload; `error` ends a failed client request. */
  readonly kind: 'request' | 'request-body' | 'response' | 'response-body' | 'error'
  readonly connectionId: number | undefined
  readonly requestId: string | undefined
  readonly method: string
  readonly url: string
  readonly protocol: string | undefined
  readonly status?: number
  readonly headers?: Record<string, string | string[]>
  readonly payload?: string
  readonly payloadBytes?: number
  readonly payloadTruncated?: boolean
  readonly durationMs?: number
  readonly aborted?: boolean
  readonly error?: { readonly name: string; readonly code: string | undefined; readonly message: string }
}

/**
 * An outbound request as a {@link ClientTraceFilter} sees it: once, when its head is sent on
 * a connection, or when it fails before that.
 */
export interface OutboundRequestInfo {
  /** `scheme://host[:port]` of the request. */
  readonly origin: string
  readonly method: string
  /** Path and query. */
  readonly path: string
  /** The socket the head was written to (for HTTP/2 the session's socket); undefined when it failed before. */
  readonly socket: object | undefined
  /** Why the request failed before its head was sent; undefined otherwise. */
  readonly error: unknown
}

/** Chooses the outbound requests a trace log traces (undici's channels are process-wide). */
export type ClientTraceFilter = (request: OutboundRequestInfo) => boolean

/** A trace log: server exchanges are attached to it, client requests are traced on their own. */
export interface TraceLog {
  /** The pino logger (level `trace`) the entries are written with. */
  readonly logger: Logger
  /** Traces this node:http or node:http2 (compatibility API) exchange. Call it synchronously in the request handler. */
  attach(req: ServerRequest, res: ServerResponseLike, requestId?: string): void
  /**
   * Also traces the outbound undici/fetch requests `filter` accepts (with `client: false`,
   * only those), until the returned function is called. Throws `X_ERR_LOGGING_INVALID_OPTION`
   * when `filter` is not a function.
   */
  traceRequests(filter: ClientTraceFilter): () => void
  /** Resolves when every entry so far has been handed to the destination. */
  flush(): Promise<void>
  /** Stops tracing client requests, flushes and closes the destination. */
  close(): Promise<void>
  /** Entries written and dropped so far (and, for a socket, whether it is connected). */
  stats(): DestinationStats
}

const noop = (): void => {}

const DEFAULT_REDACTED = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']
const KNOWN = new Set([
  'destination',
  'maxPayload',
  'payloadEncoding',
  'client',
  'redactHeaders',
  'requestIdHeader',
])

type Headers = Record<string, string | string[]>

interface ClientState {
  readonly request: UndiciRequest
  readonly startNs: number
  readonly method: string
  readonly url: string
  connectionId: number | undefined
  protocol: string | undefined
  requestId: string | undefined
  /** The head went out (and the request was accepted by the filters). */
  headSent: boolean
  sentBytes: number
  sent: Buffer[] | null
  sentCaptured: number
  sawChunks: boolean
  sawReceived: boolean
  bodyless: boolean
  receivedBytes: number
  received: Buffer[] | null
  receivedCaptured: number
  status: number | undefined
}

interface UndiciRequest {
  readonly origin?: string | URL
  readonly method?: string
  readonly path: string
  readonly headers: unknown
  readonly body?: unknown
}

const CLIENT_CHANNELS = [
  'undici:request:create',
  'undici:client:sendHeaders',
  'undici:request:bodyChunkSent',
  'undici:request:bodySent',
  'undici:request:headers',
  'undici:request:bodyChunkReceived',
  'undici:request:trailers',
  'undici:request:error',
] as const

function addHeader(out: Headers, name: string, value: string): void {
  const prev = out[name]
  if (prev === undefined) out[name] = value
  else if (Array.isArray(prev)) prev.push(value)
  else out[name] = [prev, value]
}

/** Header lines `name: value\r\n` (an HTTP/1.1 head after its first line, or undici's HTTP/2 listing). */
function parseHeaderLines(text: string, from: number): Headers {
  const out: Headers = {}
  let i = from
  while (i < text.length) {
    let end = text.indexOf('\r\n', i)
    if (end === -1) end = text.length
    const line = text.slice(i, end)
    i = end + 2
    if (line.length === 0) continue
    // HTTP/2 pseudo-headers start with a colon: look for the separator after it.
    const colon = line.indexOf(':', line.charCodeAt(0) === 0x3a ? 1 : 0)
    if (colon <= 0) continue
    addHeader(out, line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
  }
  return out
}

/** undici's header lists: flat [name, value, …] arrays of strings or Buffers (values may be arrays). */
function headerList(list: unknown): Headers {
  const out: Headers = {}
  if (!Array.isArray(list)) return out
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]).toLowerCase()
    const value = list[i + 1]
    if (Array.isArray(value)) for (const v of value) addHeader(out, name, String(v))
    else addHeader(out, name, Buffer.isBuffer(value) ? value.toString('latin1') : String(value))
  }
  return out
}

function firstValue(h: Headers, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

class TraceLogImpl implements TraceLog, ExchangeObserver {
  readonly logger: Logger
  readonly capture: number
  private readonly encoding: 'utf8' | 'base64'
  private readonly redacted: Set<string>
  private readonly connections = new WeakMap<object, number>()
  private nextConnection = 1
  private readonly clients = new WeakMap<object, ClientState>()
  private readonly handlers = new Map<string, (message: unknown) => void>()
  /** Trace every client request (the `client` option), or only those a filter accepts. */
  private readonly clientAll: boolean
  private filters: ClientTraceFilter[] = []
  private subscribed = false
  private closed = false

  constructor(
    private readonly sink: Sink,
    maxPayload: number,
    encoding: 'utf8' | 'base64',
    redacted: Set<string>,
    client: boolean,
    private readonly requestIdHeader: string,
  ) {
    this.capture = maxPayload
    this.encoding = encoding
    this.redacted = redacted
    this.clientAll = client
    // A plain write-only face: pino would call a flush(cb) it finds, and ours answers with a promise.
    this.logger = pino({ level: 'trace' }, { write: (line: string) => sink.write(line) })
    if (client) this.subscribe()
  }

  private subscribe(): void {
    if (this.subscribed) return
    this.subscribed = true
    if (this.handlers.size === 0) {
      this.handlers.set('undici:request:create', (m) => this.onCreate(m as { request: UndiciRequest }))
      this.handlers.set('undici:client:sendHeaders', (m) =>
        this.onSendHeaders(m as { request: object; headers: string; socket: object }),
      )
      this.handlers.set('undici:request:bodyChunkSent', (m) =>
        this.onChunkSent(m as { request: object; chunk: Uint8Array | string }),
      )
      this.handlers.set('undici:request:bodySent', (m) => this.onBodySent(m as { request: UndiciRequest }))
      this.handlers.set('undici:request:headers', (m) =>
        this.onHeaders(m as { request: object; response: { statusCode: number; headers: unknown } }),
      )
      this.handlers.set('undici:request:bodyChunkReceived', (m) =>
        this.onChunkReceived(m as { request: object; chunk: Buffer }),
      )
      this.handlers.set('undici:request:trailers', (m) => this.onTrailers(m as { request: object }))
      this.handlers.set('undici:request:error', (m) => this.onError(m as { request: object; error: unknown }))
    }
    for (const name of CLIENT_CHANNELS) subscribe(name, this.handlers.get(name)!)
  }

  private unsubscribe(): void {
    if (!this.subscribed) return
    this.subscribed = false
    for (const [name, fn] of this.handlers) unsubscribe(name, fn)
  }

  traceRequests(filter: ClientTraceFilter): () => void {
    if (typeof filter !== 'function') throw invalidOption('filter', 'expected a function')
    if (this.closed) return noop
    // A fresh array each time: a channel handler iterating the old one is not disturbed.
    this.filters = [...this.filters, filter]
    this.subscribe()
    let removed = false
    return () => {
      if (removed) return
      removed = true
      this.filters = this.filters.filter((f) => f !== filter)
      if (this.filters.length === 0 && !this.clientAll) this.unsubscribe()
    }
  }

  /** Whether a client request is traced: asked once, when its head is sent or it fails before. */
  private accepts(s: ClientState, socket: object | undefined, error: unknown): boolean {
    if (this.clientAll) return true
    const filters = this.filters
    if (filters.length === 0) return false
    const r = s.request
    const info: OutboundRequestInfo = {
      origin: r.origin === undefined ? '' : String(r.origin).replace(/\/$/, ''),
      method: s.method,
      path: r.path,
      socket,
      error,
    }
    for (const f of filters) {
      try {
        if (f(info)) return true
      } catch {
        // A throwing filter must not break undici's dispatch: its answer counts as no.
      }
    }
    return false
  }

  private connectionOf(key: object | undefined | null): number | undefined {
    if (key === undefined || key === null) return undefined
    let id = this.connections.get(key)
    if (id === undefined) {
      id = this.nextConnection++
      this.connections.set(key, id)
    }
    return id
  }

  private headers(h: Record<string, string | readonly string[] | number | undefined>): Headers {
    const out: Headers = {}
    for (const name of Object.keys(h)) {
      const v = h[name]
      if (v === undefined) continue
      out[name] = this.redacted.has(name.toLowerCase())
        ? '[Redacted]'
        : Array.isArray(v)
          ? v.map(String)
          : String(v)
    }
    return out
  }

  /** Payload fields: at most `capture` bytes, and never more than the `total` bytes that really went through. */
  private payload(
    parts: Buffer[] | null,
    total: number,
  ): { payload?: string; payloadBytes: number; payloadTruncated: boolean } {
    if (parts === null || this.capture === 0 || total === 0)
      return { payloadBytes: total, payloadTruncated: total > 0 && this.capture > 0 }
    let buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    if (buf.length > total) buf = buf.subarray(0, total)
    return { payload: buf.toString(this.encoding), payloadBytes: total, payloadTruncated: total > buf.length }
  }

  private emit(entry: TraceEntry): void {
    this.logger.trace(entry, `${entry.direction} ${entry.kind}`)
  }

  // ---- server side

  attach(req: ServerRequest, res: ServerResponseLike, requestId?: string): void {
    const ex = observe(req, res, this, requestId)
    this.emit({
      side: 'server',
      direction: 'inbound',
      kind: 'request',
      connectionId: this.serverConnection(ex),
      requestId: ex.requestId,
      method: ex.method,
      url: ex.target,
      protocol: ex.protocol,
      headers: this.headers(ex.headers),
    })
  }

  private serverConnection(ex: Exchange): number | undefined {
    return this.connectionOf(ex.connection)
  }

  requestEnded(ex: Exchange): void {
    if (ex.requestBodyBytes === 0) return
    this.emit({
      side: 'server',
      direction: 'inbound',
      kind: 'request-body',
      connectionId: this.serverConnection(ex),
      requestId: ex.requestId,
      method: ex.method,
      url: ex.target,
      protocol: ex.protocol,
      ...this.payload(ex.requestCapture, ex.requestBodyBytes),
    })
  }

  responseHead(ex: Exchange): void {
    this.emit({
      side: 'server',
      direction: 'outbound',
      kind: 'response',
      connectionId: this.serverConnection(ex),
      requestId: ex.requestId,
      method: ex.method,
      url: ex.target,
      protocol: ex.protocol,
      status: ex.res.statusCode,
      headers: this.headers(this.sentHeaders(ex)),
    })
  }

  private sentHeaders(ex: Exchange): Record<string, string | readonly string[] | number | undefined> {
    if (ex.http2) {
      const sent = (ex.res as Http2ServerResponse).stream?.sentHeaders
      if (sent !== undefined) return sent as Record<string, string | string[] | number | undefined>
    } else {
      // node:http keeps the head exactly as it went out; getHeaders() misses writeHead(status, headers).
      const head = (ex.res as unknown as { _header?: unknown })._header
      if (typeof head === 'string') return parseHeaderLines(head, head.indexOf('\r\n') + 2)
    }
    return ex.res.getHeaders() as Record<string, string | string[] | number | undefined>
  }

  exchangeEnded(ex: Exchange): void {
    if (!ex.requestEnded && ex.requestBodyBytes > 0) this.requestEnded(ex)
    this.emit({
      side: 'server',
      direction: 'outbound',
      kind: 'response-body',
      connectionId: this.serverConnection(ex),
      requestId: ex.requestId,
      method: ex.method,
      url: ex.target,
      protocol: ex.protocol,
      status: ex.status,
      ...this.payload(ex.responseCapture, ex.bodyBytes),
      durationMs: Math.round(ex.durationMs * 1000) / 1000,
      aborted: ex.aborted,
    })
  }

  // ---- client side (undici diagnostics channels)

  private onCreate({ request }: { request: UndiciRequest }): void {
    const origin = request.origin === undefined ? '' : String(request.origin).replace(/\/$/, '')
    this.clients.set(request, {
      request,
      startNs: performance.now(),
      method: request.method ?? 'GET',
      url: `${origin}${request.path}`,
      connectionId: undefined,
      protocol: undefined,
      requestId: undefined,
      headSent: false,
      sentBytes: 0,
      sent: null,
      sentCaptured: 0,
      sawChunks: false,
      sawReceived: false,
      bodyless: false,
      receivedBytes: 0,
      received: null,
      receivedCaptured: 0,
      status: undefined,
    })
  }

  private base<D extends TraceEntry['direction'], K extends TraceEntry['kind']>(
    s: ClientState,
    direction: D,
    kind: K,
  ) {
    return {
      side: 'client' as const,
      direction,
      kind,
      connectionId: s.connectionId,
      requestId: s.requestId,
      method: s.method,
      url: s.url,
      protocol: s.protocol,
    }
  }

  private onSendHeaders({
    request,
    headers,
    socket,
  }: {
    request: object
    headers: string
    socket: object
  }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    if (!this.accepts(s, socket, undefined)) {
      this.clients.delete(request)
      return
    }
    s.headSent = true
    s.connectionId = this.connectionOf(socket)
    let parsed: Headers
    // HTTP/1 heads open with the request line; undici's HTTP/2 listing is header lines only,
    // in the order it built them (regular fields may come before the pseudo-headers).
    const eol = headers.indexOf('\r\n')
    const first = eol === -1 ? headers : headers.slice(0, eol)
    if (first.endsWith(' HTTP/1.1') || first.endsWith(' HTTP/1.0')) {
      s.protocol = first.slice(first.lastIndexOf(' ') + 1)
      parsed = parseHeaderLines(headers, eol === -1 ? headers.length : eol + 2)
    } else {
      s.protocol = 'HTTP/2.0'
      parsed = parseHeaderLines(headers, 0)
    }
    s.requestId = firstValue(parsed, this.requestIdHeader)
    this.emit({ ...this.base(s, 'outbound', 'request'), headers: this.headers(parsed) })
  }

  private keep(s: ClientState, which: 'sent' | 'received', chunk: Uint8Array | string): void {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (which === 'sent') s.sentBytes += buf.length
    else s.receivedBytes += buf.length
    const have = which === 'sent' ? s.sentCaptured : s.receivedCaptured
    const room = this.capture - have
    if (room <= 0) return
    const part = Buffer.from(buf.subarray(0, room))
    if (which === 'sent') {
      if (s.sent === null) s.sent = [part]
      else s.sent.push(part)
      s.sentCaptured += part.length
    } else {
      if (s.received === null) s.received = [part]
      else s.received.push(part)
      s.receivedCaptured += part.length
    }
  }

  private onChunkSent({ request, chunk }: { request: object; chunk: Uint8Array | string }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    s.sawChunks = true
    this.keep(s, 'sent', chunk)
  }

  private onBodySent({ request }: { request: UndiciRequest }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    // undici before 7 publishes no chunks: a body given as bytes is still known here.
    if (!s.sawChunks) {
      if (request.body instanceof Uint8Array) this.keep(s, 'sent', request.body)
      else if (request.body !== null && request.body !== undefined) {
        // A streamed body on an undici that publishes no chunks: its size is unknown, not zero.
        this.emit({ ...this.base(s, 'outbound', 'request-body') })
        return
      }
    }
    if (s.sentBytes === 0) return
    this.emit({ ...this.base(s, 'outbound', 'request-body'), ...this.payload(s.sent, s.sentBytes) })
  }

  private onHeaders({
    request,
    response,
  }: {
    request: object
    response: { statusCode: number; headers: unknown }
  }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    s.status = response.statusCode
    const headers = headerList(response.headers)
    // With no chunk published, an empty body is only known from the head.
    s.bodyless =
      s.method === 'HEAD' ||
      response.statusCode === 204 ||
      response.statusCode === 304 ||
      firstValue(headers, 'content-length') === '0'
    this.emit({
      ...this.base(s, 'inbound', 'response'),
      status: response.statusCode,
      headers: this.headers(headers),
    })
  }

  private onChunkReceived({ request, chunk }: { request: object; chunk: Buffer }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    s.sawReceived = true
    this.keep(s, 'received', chunk)
  }

  private onTrailers({ request }: { request: object }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    this.clients.delete(request)
    // undici before 7 (the fetch bundled in Node 20 and 22) publishes no body chunks: the
    // payload is then unknown, and left out rather than logged as empty.
    const known = s.sawReceived || s.bodyless
    this.emit({
      ...this.base(s, 'inbound', 'response-body'),
      ...(s.status === undefined ? {} : { status: s.status }),
      ...(known ? this.payload(s.received, s.receivedBytes) : {}),
      durationMs: Math.round((performance.now() - s.startNs) * 1000) / 1000,
      aborted: false,
    })
  }

  private onError({ request, error }: { request: object; error: unknown }): void {
    const s = this.clients.get(request)
    if (s === undefined) return
    this.clients.delete(request)
    if (!s.headSent && !this.accepts(s, undefined, error)) return
    const e = error as { name?: unknown; code?: unknown; message?: unknown } | null
    this.emit({
      ...this.base(s, 'inbound', 'error'),
      ...(s.status === undefined ? {} : { status: s.status }),
      durationMs: Math.round((performance.now() - s.startNs) * 1000) / 1000,
      aborted: true,
      error: {
        name: typeof e?.name === 'string' ? e.name : 'Error',
        code: typeof e?.code === 'string' ? e.code : undefined,
        message: typeof e?.message === 'string' ? e.message : String(error),
      },
    })
  }

  flush(): Promise<void> {
    return this.sink.flush()
  }

  async close(): Promise<void> {
    this.closed = true
    this.filters = []
    this.unsubscribe()
    // Each sink's close() writes what it holds first.
    await this.sink.close()
  }

  stats(): DestinationStats {
    return this.sink.stats()
  }
}

/**
 * Creates a trace log at pino level `trace`. Client requests made through undici (and
 * `fetch`) are traced from now until close(); server exchanges are traced once attached.
 */
export function traceLog(options: TraceLogOptions = {}): TraceLog {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'expected an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw invalidOption(key, 'unknown option')
  const maxPayload = options.maxPayload ?? 4096
  if (
    typeof maxPayload !== 'number' ||
    !Number.isSafeInteger(maxPayload) ||
    maxPayload < 0 ||
    maxPayload > 2 ** 26
  )
    throw invalidOption('maxPayload', 'expected an integer from 0 to 64 MiB')
  const encoding = options.payloadEncoding ?? 'utf8'
  if (encoding !== 'utf8' && encoding !== 'base64')
    throw invalidOption('payloadEncoding', "expected 'utf8' or 'base64'")
  const client = options.client ?? true
  if (typeof client !== 'boolean') throw invalidOption('client', 'expected a boolean')
  const redact = options.redactHeaders ?? true
  let redacted: Set<string>
  if (redact === true) redacted = new Set(DEFAULT_REDACTED)
  else if (redact === false) redacted = new Set()
  else if (Array.isArray(redact) && redact.every((n) => typeof n === 'string' && n.length > 0))
    redacted = new Set([...DEFAULT_REDACTED, ...redact.map((n) => n.toLowerCase())])
  else throw invalidOption('redactHeaders', 'expected a boolean or a list of header names')
  const idHeader = options.requestIdHeader ?? 'x-request-id'
  if (typeof idHeader !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(idHeader))
    throw invalidOption('requestIdHeader', 'expected a header name')
  const sink = openDestination(options.destination, 'destination', true)
  return new TraceLogImpl(sink, maxPayload, encoding, redacted, client, idHeader.toLowerCase())
}
