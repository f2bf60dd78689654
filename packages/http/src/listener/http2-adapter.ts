// The thin adapter that lets the one pipeline serve HTTP/2 streams (node:http2's core stream
// API, not its compatibility layer): a request and a response with the members the pipeline,
// binding and writer use, delegating to the ServerHttp2Stream. HTTP/2 framing rules live here.

import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import type { Socket } from 'node:net'

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = constants

/**
 * Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on them, so
 * the adapter leaves them out of a response rather than fail it.
 */
const CONNECTION_FIELDS = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']

function noop(): void {}

/** Marks a stream the Listener reset itself, so it does not count as a client's reset. */
export const RESET_HERE: unique symbol = Symbol('x.http.resetHere') as never

/**
 * An HTTP/2 request as handlers and filters see it under `ctx.request`: the members of
 * `http.IncomingMessage` a protocol-neutral service needs (method, url, headers, httpVersion,
 * socket, complete, and the body as a readable), delegating to the HTTP/2 stream. The
 * Listener creates it; `ctx.request instanceof Http2Request` tells the protocols apart.
 */
export class Http2Request {
  /** The node:http2 stream the request arrived on. */
  readonly stream: ServerHttp2Stream
  /** The request method (`:method`). */
  readonly method: string
  /** The request target (`:path`); for CONNECT, the `:authority`. */
  url: string
  /**
   * Request fields with lower-case names, without pseudo-header fields; `host` carries
   * `:authority` when the client sent no Host field (RFC 9113 §8.3.1).
   */
  readonly headers: IncomingHttpHeaders
  /** Field names and values as received, pseudo-header fields included (as in Node's compatibility API). */
  readonly rawHeaders: string[]
  /** The `:scheme` the client used (`http` or `https`). */
  readonly scheme: string | undefined
  /** The `:authority` the client addressed. */
  readonly authority: string | undefined
  /**
   * The connection's socket (a TLS socket under h2), as `IncomingMessage.socket` is: kept
   * here because node:http2 lets go of `stream.session` once the stream has closed.
   */
  readonly socket: Socket

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], socket: Socket) {
    this.stream = stream
    this.socket = socket
    const method = headers[':method'] as string
    const authority = headers[':authority'] as string | undefined
    this.method = method
    this.url = (headers[':path'] as string | undefined) ?? authority ?? ''
    this.scheme = headers[':scheme'] as string | undefined
    this.authority = authority
    // node:http2 hands over a fresh null-prototype object per stream: reuse it.
    delete headers[':method']
    delete headers[':path']
    delete headers[':scheme']
    delete headers[':authority']
    if (headers[':protocol'] !== undefined) delete headers[':protocol']
    if (headers.host === undefined && authority !== undefined) headers.host = authority
    this.headers = headers
    this.rawHeaders = rawHeaders
  }

  get httpVersion(): string {
    return '2.0'
  }
  get httpVersionMajor(): number {
    return 2
  }
  get httpVersionMinor(): number {
    return 0
  }

  /** True once the whole request, body included, has arrived (or there is none). */
  get complete(): boolean {
    const s = this.stream
    return s.endAfterHeaders || s.readableEnded
  }

  /** True when the client may still send a body (no END_STREAM on the HEADERS frame). */
  get hasBody(): boolean {
    return !this.stream.endAfterHeaders
  }

  /** True when the stream closed (a client reset, the connection gone) before the response was sent. */
  get aborted(): boolean {
    const s = this.stream
    // node:http2 flags `aborted` only when nothing was being written; a reset in the middle of
    // a streamed response leaves it false.
    return s.aborted || (s.closed && !s.writableFinished)
  }

  get readableEnded(): boolean {
    return this.stream.readableEnded
  }

  /**
   * The stream's push(), as on a Node Readable. A tool that replaces `req.push` to watch the
   * body as it arrives (such as `@x/logging`) gets its function called, with this request as
   * `this`, for every chunk the stream pushes.
   */
  get push(): (chunk: unknown, encoding?: BufferEncoding) => boolean {
    const stream = this.stream
    const push = stream.push
    return (chunk, encoding) => push.call(stream, chunk, encoding)
  }
  set push(fn: (chunk: unknown, encoding?: BufferEncoding) => boolean) {
    const req = this
    this.stream.push = function (this: ServerHttp2Stream, chunk: unknown, encoding?: BufferEncoding) {
      return fn.call(req, chunk, encoding)
    } as ServerHttp2Stream['push']
  }

  // ---- the body, as a Readable (delegated) -----------------------------------------------------

  on(event: string, listener: (...args: never[]) => void): this {
    this.stream.on(event, listener as (...args: unknown[]) => void)
    return this
  }
  once(event: string, listener: (...args: never[]) => void): this {
    this.stream.once(event, listener as (...args: unknown[]) => void)
    return this
  }
  off(event: string, listener: (...args: never[]) => void): this {
    this.stream.off(event, listener as (...args: unknown[]) => void)
    return this
  }
  removeListener(event: string, listener: (...args: never[]) => void): this {
    return this.off(event, listener)
  }
  pause(): this {
    this.stream.pause()
    return this
  }
  resume(): this {
    this.stream.resume()
    return this
  }
  read(size?: number): unknown {
    return this.stream.read(size)
  }
  setEncoding(encoding: BufferEncoding): this {
    this.stream.setEncoding(encoding)
    return this
  }
  pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    return this.stream.pipe(destination, options)
  }
  unpipe(destination?: NodeJS.WritableStream): this {
    this.stream.unpipe(destination)
    return this
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    // The stream also carries the response: reading the body to its end must not destroy it,
    // as a Readable's own iterator does.
    return this.stream.iterator({ destroyOnReturn: false })
  }
}

/**
 * The response side of an HTTP/2 stream, shaped like the part of `http.ServerResponse` the
 * writer uses. `shouldKeepAlive` is accepted and ignored: HTTP/2 keeps its connection, and a
 * stopping Listener says goodbye with GOAWAY instead of `Connection: close`.
 */
export class Http2Response {
  readonly stream: ServerHttp2Stream
  readonly req: Http2Request
  shouldKeepAlive = true
  statusCode = 200
  /** Fields set with setHeader() before the head went out; writeHead() fields win. */
  private pending: Record<string, unknown> | undefined = undefined
  private boundListeners: Map<(...args: never[]) => void, (...args: never[]) => void> | undefined = undefined

  constructor(stream: ServerHttp2Stream, req: Http2Request) {
    this.stream = stream
    this.req = req
    // An unhandled 'error' on a stream (a reset while writing) would crash the process;
    // failures reach the pipeline through 'close' and through pipeline() callbacks.
    stream.on('error', noop)
  }

  get headersSent(): boolean {
    return this.stream.headersSent
  }
  // node:http2 ends the writable side of a HEAD request's stream before anything is sent: the
  // response is over only once its head went out too.
  get writableEnded(): boolean {
    return this.stream.headersSent && this.stream.writableEnded
  }
  get writableFinished(): boolean {
    return this.stream.headersSent && this.stream.writableFinished
  }
  get destroyed(): boolean {
    return this.stream.destroyed
  }
  get finished(): boolean {
    return this.writableEnded
  }

  /**
   * Sends the response head. Names arrive lower-cased from the writer; connection-specific
   * fields are dropped. For HEAD, 204, 205 and 304 node:http2 ends the stream with the head.
   */
  writeHead(status: number, headers?: Record<string, unknown>): this {
    let h = (headers ?? {}) as Record<string, unknown>
    if (this.pending !== undefined) h = { ...this.pending, ...h }
    if (
      h.connection !== undefined ||
      h['transfer-encoding'] !== undefined ||
      h['keep-alive'] !== undefined ||
      h.upgrade !== undefined ||
      h['proxy-connection'] !== undefined
    ) {
      for (const name of CONNECTION_FIELDS) delete h[name]
    }
    h[':status'] = status
    this.statusCode = status
    const stream = this.stream
    // A stream the client reset is gone: like writing to a closed HTTP/1.1 response, a no-op.
    if (stream.closed || stream.destroyed) return this
    if (!this.req.complete) {
      // The response may end before the client finished sending (a 413, a handler that
      // ignores the body): then stop the upload with RST_STREAM(NO_ERROR), which RFC 9113
      // §8.1 provides for, instead of leaving a half-open stream counting against the limit.
      stream.once('finish', closeUnread)
    }
    stream.respond(h as never)
    return this
  }

  write(
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ): boolean {
    const stream = this.stream
    if (typeof encoding === 'function') {
      callback = encoding
      encoding = undefined
    }
    if (stream.writableEnded || stream.closed) {
      // As on http.ServerResponse after end(): nothing is written, and the callback hears why.
      if (callback !== undefined) process.nextTick(callback, closedError())
      return false
    }
    if (encoding === undefined) return stream.write(chunk, callback)
    return stream.write(chunk, encoding, callback)
  }

  end(chunk?: string | Uint8Array, callback?: () => void): this {
    const stream = this.stream
    if (stream.writableEnded || stream.closed) {
      // HEAD and bodiless statuses: node:http2 already ended the stream with the head.
      if (callback !== undefined) stream.once('finish', callback)
      return this
    }
    if (chunk === undefined) stream.end(callback)
    else if (Object.hasOwn(this, 'write')) {
      // A tool replaced write() to watch the body (as on Http2ServerResponse, end's chunk goes
      // through it); the stream ends once the write is confirmed, so the tool hears of it first.
      this.write(chunk, () => {
        if (!stream.writableEnded) stream.end(callback)
      })
    } else stream.end(chunk, callback)
    return this
  }

  /** `respond()` in `writeHead()` already sent the HEADERS frame: nothing is held back. */
  flushHeaders(): void {}

  /** Sends `102 Processing` as an informational HEADERS frame. */
  writeProcessing(): void {
    if (!this.stream.headersSent && !this.stream.destroyed) this.stream.additionalHeaders({ ':status': 102 })
  }

  /** Sends `103 Early Hints` (RFC 8297) with `hints` (Link and others) as an informational HEADERS frame. */
  writeEarlyHints(hints: Record<string, string | string[]>): void {
    if (this.stream.headersSent || this.stream.destroyed) return
    this.stream.additionalHeaders({ ...hints, ':status': 103 })
  }

  /** Sends `100 Continue` (RFC 9110 §10.1.1) as an informational HEADERS frame. */
  writeContinue(): void {
    if (!this.stream.headersSent && !this.stream.destroyed) this.stream.additionalHeaders({ ':status': 100 })
  }

  /** Abandons the response: RST_STREAM(INTERNAL_ERROR), so the client sees it as incomplete. */
  destroy(): this {
    const stream = this.stream as ServerHttp2Stream & { [RESET_HERE]?: true }
    if (!stream.closed && !stream.destroyed) {
      stream[RESET_HERE] = true
      stream.close(NGHTTP2_INTERNAL_ERROR)
    }
    return this
  }

  // ---- events and stream plumbing, delegated, so `pipeline(source, res)` works too -------------

  // A listener that is a plain function (not an arrow) may read the response as `this`, as it
  // would on http.ServerResponse: it is bound to this response, once, and found again by off().
  on(event: string, listener: (...args: never[]) => void): this {
    this.stream.on(event, this.bound(listener) as (...args: unknown[]) => void)
    return this
  }
  once(event: string, listener: (...args: never[]) => void): this {
    this.stream.once(event, this.bound(listener) as (...args: unknown[]) => void)
    return this
  }
  off(event: string, listener: (...args: never[]) => void): this {
    const bound = listener.prototype === undefined ? listener : this.boundListeners?.get(listener)
    if (bound !== undefined) this.stream.off(event, bound as (...args: unknown[]) => void)
    return this
  }
  removeListener(event: string, listener: (...args: never[]) => void): this {
    return this.off(event, listener)
  }
  private bound(listener: (...args: never[]) => void): (...args: never[]) => void {
    // Arrow functions and methods have no prototype and ignore the emitter's `this`.
    if (listener.prototype === undefined) return listener
    this.boundListeners ??= new Map()
    let bound = this.boundListeners.get(listener)
    if (bound === undefined) {
      bound = listener.bind(this)
      this.boundListeners.set(listener, bound)
    }
    return bound
  }
  emit(event: string, ...args: unknown[]): boolean {
    return this.stream.emit(event, ...args)
  }

  // ---- headers set ahead of writeHead(), as on http.ServerResponse ---------------------------

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this.stream.headersSent) throw new TypeError('the response head was already sent')
    this.pending ??= Object.create(null) as Record<string, unknown>
    this.pending[name.toLowerCase()] = value
    return this
  }
  getHeader(name: string): unknown {
    return this.pending?.[name.toLowerCase()]
  }
  hasHeader(name: string): boolean {
    return this.pending?.[name.toLowerCase()] !== undefined
  }
  removeHeader(name: string): void {
    if (this.pending !== undefined) delete this.pending[name.toLowerCase()]
  }
  getHeaders(): Record<string, unknown> {
    return { ...this.pending }
  }
}

function closedError(): Error {
  return Object.assign(new Error('the HTTP/2 stream has ended'), { code: 'ERR_STREAM_WRITE_AFTER_END' })
}

/** 'finish' of a response whose request body was not all read: stop the client's upload. */
function closeUnread(this: ServerHttp2Stream): void {
  if (this.closed || this.destroyed || this.readableEnded) return
  // Only when the client is still sending: after its END_STREAM the stream closes by itself.
  if (this.state.remoteClose !== 1) this.close(NGHTTP2_NO_ERROR)
}
