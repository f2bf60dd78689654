// The Listener's one logging hook, the same for every protocol: begin() as a request enters
// the pipeline, the body the writer hands over, the end read from the response's events. It
// fills @x/logging's protocol-neutral AccessRecord itself instead of wrapping req and res.
//
// HTTP/2 (http2-adapter.ts): the adapter hands each exchange to `Dispatcher.onRequest(req, res)`
// like node:http does. Its request and response delegate to the node:http2 stream, so here the
// stream itself is linked to its exchange: the request body is counted on the stream's push(),
// a streamed response on the stream's write(), and the end is the stream's 'close' (a reset
// leaves `rstCode` set). Node 20 publishes no http2 diagnostics channels, so this hook is what
// covers HTTP/2.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerHttp2Stream } from 'node:http2'
import { performance } from 'node:perf_hooks'
import type { AccessLog, AccessRecord, TraceLog } from '@x/logging'
import type { RequestContext } from './context.js'
import { REQUEST_LINK } from './request-id.js'

type WriteCallback = (err?: Error | null) => void
type Fn = (...args: never[]) => unknown

/** Each request links to its context, where shared functions find the exchange from `this`. */
type Linked = { [REQUEST_LINK]?: RequestContext }

/** Where `@x/logging` keeps its instrumentation of an exchange (a registered symbol). */
const LOGGING_EXCHANGE = Symbol.for('x.logging.exchange')

/** An HTTP/2 stream links to its exchange directly: the shared functions run with it as `this`. */
const STREAM_LINK: unique symbol = Symbol('x.http.exchange')
type LinkedStream = ServerHttp2Stream & { [STREAM_LINK]?: LoggedExchange }

/** The node:http2 stream of an HTTP/2 exchange (the adapter's request and response both carry it). */
function h2stream(ctx: RequestContext): LinkedStream {
  return (ctx.request as unknown as { stream: LinkedStream }).stream
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return (chunk as Uint8Array).byteLength ?? 0
}

/** Counts a streamed body: bytes whose writes the connection confirmed, and the writes in flight. */
class StreamCount {
  confirmed = 0
  /** Sizes and caller callbacks of writes awaiting the connection, in order: [bytes, cb, bytes, cb, …]. */
  readonly pending: Array<number | WriteCallback | undefined> = []
  readonly onWritten: WriteCallback

  constructor(
    readonly x: LoggedExchange,
    readonly write: Fn,
  ) {
    this.onWritten = (err) => {
      const q = this.pending
      const n = q.shift() as number
      const cb = q.shift() as WriteCallback | undefined
      if (err == null && !this.x.done) this.confirmed += n
      if (cb !== undefined) cb(err)
    }
  }
}

/**
 * One exchange as the access log sees it. It is itself the AccessRecord: request fields are
 * read from the request when a format asks for them, response fields are set at the end.
 */
export class LoggedExchange implements AccessRecord {
  readonly ctx: RequestContext
  readonly hook: ExchangeLog
  readonly startNs: number
  readonly remoteAddress: string | undefined
  /** A body the writer handed over whole (its bytes count once the response finished). */
  payload: string | Buffer | undefined = undefined
  /** A streamed body's count, when the writer streams. */
  stream: StreamCount | undefined = undefined
  /** The request's own push(), while its body bytes are counted. */
  origPush: Fn | undefined = undefined
  done = false
  status = 0
  bodyBytes = 0
  requestBodyBytes = 0
  durationMs = 0
  aborted = false

  constructor(ctx: RequestContext, hook: ExchangeLog) {
    this.ctx = ctx
    this.hook = hook
    // A clock read costs up to 100 ns on a VM: only when the format shows durations.
    this.startNs = hook.timed ? performance.now() : 0
    // Read now: once the client is gone the socket no longer knows its peer (Node caches it per connection).
    this.remoteAddress = ctx.request.socket?.remoteAddress
  }

  get method(): string {
    return this.ctx.method
  }

  /** The target as received (the pipeline may reduce an absolute-form target; the log keeps it). */
  get target(): string {
    return this.ctx.request.url ?? ''
  }

  get protocol(): string {
    const v = this.ctx.request.httpVersion
    return v === '1.1' ? 'HTTP/1.1' : v === '2.0' ? 'HTTP/2.0' : `HTTP/${v}`
  }

  get headers(): IncomingMessage['headers'] {
    return this.ctx.request.headers
  }

  get startTime(): number {
    return Date.now() - this.durationMs
  }

  get requestId(): string | undefined {
    return this.ctx.requestId
  }

  /** The writer streams the body: count each write the connection confirms. */
  streaming(): void {
    if (this.ctx.request.httpVersionMajor === 2) {
      // The writer pipes into the stream itself: count there.
      const stream = h2stream(this.ctx)
      this.stream = new StreamCount(this, stream.write as Fn)
      stream.write = countingWrite as typeof stream.write
      return
    }
    const res = this.ctx.res
    this.stream = new StreamCount(this, res.write as Fn)
    res.write = countingWrite as typeof res.write
  }

  end(): void {
    this.done = true
    const res = this.ctx.res
    let aborted: boolean
    if (this.ctx.request.httpVersionMajor === 2) {
      // A complete response is one the handler ended on a stream that closed without an error code.
      const stream = h2stream(this.ctx)
      aborted = !stream.writableEnded || (stream.rstCode ?? 0) !== 0
    } else {
      // At 'close', node:http has detached a finished response from its socket, so this is
      // true exactly when 'finish' was emitted (one listener fewer per request than watching it).
      aborted = !res.writableFinished
    }
    this.aborted = aborted
    const status = res.statusCode
    this.status = res.headersSent || !aborted ? status : 499
    if (res.headersSent && bodyAllowed(this.ctx.method, status)) {
      if (this.stream !== undefined) this.bodyBytes = this.stream.confirmed
      else if (!aborted && this.payload !== undefined)
        this.bodyBytes =
          typeof this.payload === 'string' ? Buffer.byteLength(this.payload) : this.payload.length
    }
    if (this.hook.timed) this.durationMs = performance.now() - this.startNs
    this.hook.ended(this)
  }
}

/** Statuses and the method for which Node sends no body, whatever is written. */
function bodyAllowed(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200
}

// Shared functions rather than per-request closures: each finds its exchange through `this`.

/** The exchange of a request (or, through `res.req`, of its response). */
function exchangeOf(req: unknown): LoggedExchange | undefined {
  return (req as Linked | undefined)?.[REQUEST_LINK]?.exchange
}

/** The exchange of `this` in a shared function: an HTTP/2 stream, a request, or a response. */
function exchangeOfThis(self: unknown): LoggedExchange | undefined {
  return (self as LinkedStream)[STREAM_LINK] ?? exchangeOf((self as { req?: unknown }).req ?? self)
}

function onClose(this: ServerResponse): void {
  const x = exchangeOfThis(this)
  if (x !== undefined && !x.done) x.end()
}

function countingPush(this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
  const x = exchangeOfThis(this)!
  if (chunk !== null && chunk !== undefined && !x.done) x.requestBodyBytes += byteLength(chunk, encoding)
  return (x.origPush as (c: unknown, e?: BufferEncoding) => boolean).call(this, chunk, encoding)
}

function countingWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const count = exchangeOfThis(this)!.stream!
  const write = count.write as (c: unknown, e: unknown, cb?: unknown) => boolean
  if (typeof encoding === 'function') {
    cb = encoding
    encoding = undefined
  }
  if (count.x.done || chunk === null || chunk === undefined || this.writableEnded || this.destroyed)
    return write.call(this, chunk, encoding, cb)
  count.pending.push(
    byteLength(chunk, encoding),
    typeof cb === 'function' ? (cb as WriteCallback) : undefined,
  )
  return write.call(this, chunk, encoding, count.onWritten)
}

/** The access and trace logs a Listener writes to, and the request-context link. */
export class ExchangeLog {
  /** Whether the access log's format shows durations or arrival times (a log from elsewhere: assume so). */
  readonly timed: boolean

  constructor(
    readonly access: AccessLog | undefined,
    readonly trace: TraceLog | undefined,
    private readonly report: (ctx: RequestContext, error: unknown) => void,
  ) {
    this.timed = access?.timed !== false
  }

  /** A request entered the pipeline. Called once per exchange, before anything reads the body. */
  begin(ctx: RequestContext): void {
    const req = ctx.request
    // `Client.forward()` finds the request id here, and the shared functions below the exchange.
    ;(req as Linked)[REQUEST_LINK] = ctx
    const access = this.access
    const trace = this.trace
    if (access === undefined && trace === undefined) return
    try {
      if (trace !== undefined) {
        // Tracing captures payloads and heads: @x/logging's own instrumentation does that, and
        // the access log shares it rather than counting the same bytes a second time.
        const id = ctx.requestId
        trace.attach(req, ctx.res, id)
        if (access !== undefined) access.attach(req, ctx.res, id)
        if (req.httpVersionMajor === 2) {
          // DATA that came in with the HEADERS was pushed before this request existed (node:http2
          // emits 'stream' on the next tick): count the bytes already buffered.
          const watched = (ctx.res as unknown as Record<symbol, { requestBodyBytes: number } | undefined>)[
            LOGGING_EXCHANGE
          ]
          if (watched !== undefined) watched.requestBodyBytes += h2stream(ctx).readableLength
        }
        return
      }
      const x = new LoggedExchange(ctx, this)
      ctx.exchange = x
      if (req.httpVersionMajor === 2) {
        // The adapter's objects delegate to the stream: link it, count its body, watch its close.
        const stream = h2stream(ctx)
        // DATA that came in with the HEADERS was pushed before this request existed (node:http2
        // emits 'stream' on the next tick): those bytes are already in the buffer.
        x.requestBodyBytes = stream.readableLength
        stream[STREAM_LINK] = x
        stream.on('close', onClose)
        x.origPush = stream.push as Fn
        stream.push = countingPush as typeof stream.push
        return
      }
      ctx.res.on('close', onClose)
      // A request without a body pushes nothing but its end: leave it alone.
      if (
        req.headers['transfer-encoding'] !== undefined ||
        (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
      ) {
        x.origPush = req.push as Fn
        req.push = countingPush as typeof req.push
      }
    } catch (e) {
      // A log that fails must not cost the client its answer.
      this.report(ctx, e)
    }
  }

  ended(x: LoggedExchange): void {
    try {
      this.access!.log(x)
    } catch (e) {
      this.report(x.ctx, e)
    }
  }
}
