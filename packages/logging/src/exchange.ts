// Watches one server exchange (node:http, or node:http2's compatibility API) and counts its
// bytes exactly: request body bytes as the parser pushes them, response body bytes as the
// connection accepts each write. Access and trace logs observe the same instrumentation.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { performance } from 'node:perf_hooks'
import type { AccessRecord } from './access-format.js'

/** The request half of an exchange: node:http's or node:http2's compatibility request. */
export type ServerRequest = IncomingMessage | Http2ServerRequest
/** The response half of an exchange: node:http's or node:http2's compatibility response. */
export type ServerResponseLike = ServerResponse | Http2ServerResponse

/** Someone who wants to hear about an exchange: the access log, the trace log. */
export interface ExchangeObserver {
  /** Payload bytes (request and response) this observer wants to see; 0 for none. */
  readonly capture: number
  requestEnded?(ex: Exchange): void
  responseHead?(ex: Exchange): void
  exchangeEnded(ex: Exchange): void
}

type WriteCallback = (err?: Error | null) => void
type Fn = (...args: never[]) => unknown

const kExchange = Symbol.for('x.logging.exchange')

/** The state of one exchange. It is itself the protocol-neutral AccessRecord handed to formats. */
export class Exchange implements AccessRecord {
  readonly req: ServerRequest
  readonly res: ServerResponseLike
  readonly http2: boolean
  readonly startTime: number
  readonly startNs: number
  readonly remoteAddress: string | undefined
  readonly method: string
  readonly target: string
  readonly protocol: string
  readonly headers: IncomingHttpHeaders
  /** What identifies the connection: the socket, or for HTTP/2 the session (it outlives its streams). */
  readonly connection: object | undefined
  requestId: string | undefined
  requestBodyBytes = 0
  bodyBytes = 0
  /** HTTP/1 `end(chunk)` bytes: they have no write callback of their own, so 'finish' confirms them. */
  endBytes = 0
  status = 0
  durationMs = 0
  aborted = false
  done = false
  requestEnded = false
  headSeen = false
  observers: ExchangeObserver[] = []
  captureLimit = 0
  requestCapture: Buffer[] | null = null
  requestCaptured = 0
  responseCapture: Buffer[] | null = null
  responseCaptured = 0
  /** Write sizes and caller callbacks awaiting the connection, in order: [bytes, cb, bytes, cb, …]. */
  pending: Array<number | WriteCallback | undefined> | null = null
  head = 0
  onWritten: WriteCallback | null = null
  origPush: Fn
  origWrite: Fn
  origEnd: Fn | null = null
  origWriteHead: Fn | null = null

  constructor(req: ServerRequest, res: ServerResponseLike, requestId: string | undefined) {
    this.req = req
    this.res = res
    this.http2 = req.httpVersionMajor === 2
    this.startTime = Date.now()
    this.startNs = performance.now()
    // Read now: once the client is gone the socket no longer knows its peer.
    this.remoteAddress = req.socket?.remoteAddress
    this.method = req.method ?? ''
    this.target = req.url ?? ''
    const v = req.httpVersion
    this.protocol = v === '1.1' ? 'HTTP/1.1' : v === '2.0' ? 'HTTP/2.0' : `HTTP/${v}`
    this.headers = req.headers
    this.connection = this.http2 ? (req as Http2ServerRequest).stream?.session : req.socket
    this.requestId = requestId
    this.origPush = req.push as Fn
    this.origWrite = res.write as Fn
  }

  /** Payload captured so far in one direction, at most `captureLimit` bytes. */
  captured(which: 'request' | 'response'): Buffer | undefined {
    const parts = which === 'request' ? this.requestCapture : this.responseCapture
    if (parts === null) return undefined
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }
}

function bodyAllowed(ex: Exchange): boolean {
  // The statuses and method for which node:http drops body writes (and HTTP/2 ends the stream at the head).
  const s = ex.res.statusCode
  return ex.method !== 'HEAD' && s !== 204 && s !== 304 && (s < 100 || s >= 200)
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return (chunk as Uint8Array).byteLength ?? 0
}

function capture(ex: Exchange, which: 'request' | 'response', chunk: unknown, encoding: unknown): void {
  const have = which === 'request' ? ex.requestCaptured : ex.responseCaptured
  const room = ex.captureLimit - have
  if (room <= 0) return
  let buf: Buffer
  if (typeof chunk === 'string')
    buf = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  else if (chunk instanceof Uint8Array) buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  else return
  // A copy: the caller may reuse its buffer after the write.
  const part = Buffer.from(buf.subarray(0, room))
  if (which === 'request') {
    if (ex.requestCapture === null) ex.requestCapture = [part]
    else ex.requestCapture.push(part)
    ex.requestCaptured += part.length
  } else {
    if (ex.responseCapture === null) ex.responseCapture = [part]
    else ex.responseCapture.push(part)
    ex.responseCaptured += part.length
  }
}

// The replacements below are shared functions, not per-request closures: each finds its
// exchange through the symbol on `this`.

function countingPush(this: ServerRequest, chunk: unknown, encoding?: unknown): boolean {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  if (chunk === null) {
    if (!ex.requestEnded) {
      ex.requestEnded = true
      for (const o of ex.observers) o.requestEnded?.(ex)
    }
  } else if (!ex.done && chunk !== undefined) {
    ex.requestBodyBytes += byteLength(chunk, encoding)
    if (ex.captureLimit > 0) capture(ex, 'request', chunk, encoding)
  }
  return (ex.origPush as (c: unknown, e?: unknown) => boolean).call(this, chunk, encoding)
}

function makeOnWritten(ex: Exchange): WriteCallback {
  return (err) => {
    const q = ex.pending!
    const n = q[ex.head] as number
    const cb = q[ex.head + 1] as WriteCallback | undefined
    q[ex.head] = undefined
    q[ex.head + 1] = undefined
    ex.head += 2
    if (ex.head === q.length) {
      q.length = 0
      ex.head = 0
    }
    if (err == null && !ex.done && bodyAllowed(ex)) ex.bodyBytes += n
    if (cb !== undefined) cb(err)
  }
}

function countingWrite(this: ServerResponseLike, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  const write = ex.origWrite as (c: unknown, e: unknown, cb?: unknown) => boolean
  if (typeof encoding === 'function') {
    cb = encoding
    encoding = undefined
  }
  if (ex.done || chunk === null || chunk === undefined || this.writableEnded || this.destroyed)
    return write.call(this, chunk, encoding, cb)
  const n = byteLength(chunk, encoding)
  if (ex.captureLimit > 0) capture(ex, 'response', chunk, encoding)
  // Allocated at the first write(): most responses are a single end().
  if (ex.pending === null) {
    ex.pending = []
    ex.onWritten = makeOnWritten(ex)
  }
  ex.pending.push(n, typeof cb === 'function' ? (cb as WriteCallback) : undefined)
  return write.call(this, chunk, encoding, ex.onWritten!)
}

function countingEnd(
  this: ServerResponse,
  chunk?: unknown,
  encoding?: unknown,
  cb?: unknown,
): ServerResponse {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  if (typeof chunk === 'function') {
    cb = chunk
    chunk = undefined
  } else if (typeof encoding === 'function') {
    cb = encoding
    encoding = undefined
  }
  if (!ex.done && chunk !== null && chunk !== undefined && !this.writableEnded && !this.destroyed) {
    ex.endBytes = byteLength(chunk, encoding)
    if (ex.captureLimit > 0) capture(ex, 'response', chunk, encoding)
  }
  return (ex.origEnd as (c: unknown, e: unknown, cb: unknown) => ServerResponse).call(
    this,
    chunk,
    encoding,
    cb,
  )
}

function tracingWriteHead(this: ServerResponseLike, ...args: unknown[]): unknown {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  const result = (ex.origWriteHead as (...a: unknown[]) => unknown).apply(this, args)
  if (!ex.headSeen && !ex.done) {
    ex.headSeen = true
    for (const o of ex.observers) o.responseHead?.(ex)
  }
  return result
}

function finish(ex: Exchange, aborted: boolean): void {
  ex.done = true
  ex.aborted = aborted
  const res = ex.res
  if (!aborted && ex.endBytes > 0 && bodyAllowed(ex)) ex.bodyBytes += ex.endBytes
  ex.status = res.headersSent ? res.statusCode : aborted ? 499 : res.statusCode
  ex.durationMs = performance.now() - ex.startNs
  for (const o of ex.observers) o.exchangeEnded(ex)
}

function onHttp1Finish(this: ServerResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  if (!ex.done) finish(ex, false)
}

function onHttp1Close(this: ServerResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  if (!ex.done) finish(ex, true)
}

function onHttp2Close(this: Http2ServerResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange]!
  // The compatibility response emits 'finish' on every stream close, even a reset (and the
  // stream reports its writable side finished then too): a complete response is one the
  // handler ended on a stream that closed without an error code.
  if (!ex.done) finish(ex, !this.writableEnded || (this.stream?.rstCode ?? 0) !== 0)
}

/**
 * Starts watching `req`/`res` for `observer` (once per exchange, however many observers).
 * Call it synchronously in the 'request' handler, before the body is read.
 */
export function observe(
  req: ServerRequest,
  res: ServerResponseLike,
  observer: ExchangeObserver,
  requestId: string | undefined,
): Exchange {
  const slot = res as unknown as Record<symbol, Exchange | undefined>
  let ex = slot[kExchange]
  if (ex === undefined) {
    ex = new Exchange(req, res, requestId)
    slot[kExchange] = ex
    ;(req as unknown as Record<symbol, Exchange>)[kExchange] = ex
    req.push = countingPush as typeof req.push
    res.write = countingWrite as typeof res.write
    if (ex.http2) {
      // Http2ServerResponse.end() writes its chunk through this.write(), which counts it.
      res.on('close', onHttp2Close)
    } else {
      ex.origEnd = res.end as Fn
      res.end = countingEnd as typeof res.end
      res.on('finish', onHttp1Finish)
      res.on('close', onHttp1Close)
    }
  } else if (requestId !== undefined && ex.requestId === undefined) {
    ex.requestId = requestId
  }
  ex.observers.push(observer)
  if (observer.capture > ex.captureLimit) ex.captureLimit = observer.capture
  if (observer.responseHead !== undefined && ex.origWriteHead === null) {
    ex.origWriteHead = res.writeHead as Fn
    res.writeHead = tracingWriteHead as typeof res.writeHead
  }
  return ex
}
