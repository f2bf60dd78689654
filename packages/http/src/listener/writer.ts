// The one place a response is written: status, headers, body serialisation, the chunking
// and keep-alive policies, HEAD and no-body statuses, streams. Every response the Listener
// sends, errors included, goes through writeResponse().

import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { pipeline, Readable, Writable } from 'node:stream'
import { isFieldValue, isToken } from '../client/internal/headers.js'
import { compressStream } from './compression.js'
import type { RequestContext } from './context.js'
import type { Http2Response } from './http2-adapter.js'
import { raise } from './problem.js'
import {
  compressionOf,
  plain,
  representStream,
  streamIsTextual,
  writeEvents,
  writeRepresented,
} from './representation.js'
import { isEventSource } from './sse.js'
import type { ChunkingPolicy, OutgoingHeaders } from './types.js'

const JSON_TYPE = 'application/json'
const TEXT_TYPE = 'text/plain; charset=utf-8'
const BYTES_TYPE = 'application/octet-stream'

/** Header names whose value the writer decides, compared lower-case. */
const CONTENT_LENGTH = 'content-length'
const CONTENT_TYPE = 'content-type'
const TRANSFER_ENCODING = 'transfer-encoding'

type StreamBody = Readable | ReadableStream | AsyncIterable<unknown>

// Duck-typed: reading the global ReadableStream runs Node's lazy getter on every call.
function isStream(body: object): body is StreamBody {
  return (
    typeof (body as Readable).pipe === 'function' ||
    typeof (body as ReadableStream).getReader === 'function' ||
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

function toReadable(body: StreamBody): Readable {
  if (body instanceof Readable) return body
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    return Readable.fromWeb(body as import('node:stream/web').ReadableStream)
  }
  if (typeof (body as Readable).pipe === 'function') return new Readable().wrap(body as NodeJS.ReadableStream)
  return Readable.from(body as AsyncIterable<unknown>, { objectMode: false })
}

function discard(body: unknown): void {
  if (typeof body !== 'object' || body === null) return
  if (body instanceof Readable) body.destroy()
  else if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream)
    body.cancel().catch(() => {})
}

function clientAskedClose(req: IncomingMessage): boolean {
  const c = req.headers.connection
  return c?.toLowerCase().includes('close') === true
}

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
export function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200
}

/**
 * Writes a 102 or 103 before the final response (Node's writeProcessing / writeEarlyHints).
 * Node writes 103 fields other than Link unchecked, so every field is checked here first.
 */
export function writeInformational(
  ctx: RequestContext,
  status: number,
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined,
): boolean {
  if (status !== 102 && status !== 103) {
    throw raise('X_ERR_HTTP_INVALID_OPTION', 'an interim response is 102 or 103')
  }
  const hints: Record<string, string | string[]> = {}
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const v = headers[name]
      if (v === undefined) continue
      const values = typeof v === 'string' ? [v] : [...v]
      if (!isToken(name) || !values.every((x) => typeof x === 'string' && isFieldValue(x))) {
        throw raise('X_ERR_HTTP_INVALID_OPTION', 'an interim response field has a bad name or value')
      }
      const lower = name.toLowerCase()
      // Node joins a Link list itself; other lists it would join without the space.
      hints[lower] = values.length === 1 ? values[0]! : lower === 'link' ? values : values.join(', ')
    }
  }
  const res = ctx.res
  const req = ctx.request
  // RFC 9110 §15.2: never a 1xx to an HTTP/1.0 client.
  if (ctx.written || res.headersSent || res.destroyed) return false
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return false
  if (status === 102) {
    res.writeProcessing()
    return true
  }
  if (hints.link === undefined) return false
  try {
    res.writeEarlyHints(hints)
  } catch {
    // Node refuses a Link that is not `<uri>; param=value` shaped: the hint is dropped.
    return false
  }
  return true
}

/** Marks a socket whose parser failed after a whole request: its response must close it. */
export const DOOMED: unique symbol = Symbol('x.http.doomed') as never

export function applyKeepAlive(ctx: RequestContext): void {
  const d = ctx.dispatcher
  const res = ctx.res
  if (d.stopping || ctx.closeAfter || d.keepAlive === 'NEVER') res.shouldKeepAlive = false
  else if (
    d.keepAlive === 'ALWAYS' &&
    !res.shouldKeepAlive &&
    !clientAskedClose(ctx.request) &&
    (ctx.request.socket as { [DOOMED]?: true })[DOOMED] !== true
  ) {
    res.shouldKeepAlive = true
  }
}

/** Echoes the request id in its response header, when the Listener is asked to. */
export function echoRequestId(ctx: RequestContext): void {
  const name = ctx.dispatcher.echoHeader
  if (name !== undefined) ctx.res.setHeader(name, ctx.requestId!)
}

export function lowerCased(headers: OutgoingHeaders | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  if (headers === undefined) return out
  for (const name of Object.keys(headers)) {
    const v = headers[name]
    if (v !== undefined) out[name.toLowerCase()] = v as string | number | string[]
  }
  return out
}

/**
 * Serialises `body` and writes the response. Returns false (writing nothing) when the
 * value cannot be serialised, so the caller can answer 500 instead.
 */
export function writeResponse(
  ctx: RequestContext,
  status: number,
  headers: OutgoingHeaders | undefined,
  body: unknown,
): boolean {
  const res = ctx.res
  let payload: string | Buffer | undefined
  let type: string | undefined
  if (body === undefined || body === null) payload = undefined
  else if (typeof body === 'string') {
    payload = body
    type = TEXT_TYPE
  } else if (typeof body === 'object') {
    if (Array.isArray(body)) {
      payload = JSON.stringify(body)
      type = JSON_TYPE
    } else if (body instanceof Uint8Array) {
      payload = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
      type = BYTES_TYPE
    } else if (body instanceof ArrayBuffer) {
      payload = Buffer.from(body)
      type = BYTES_TYPE
    } else if (isStream(body)) {
      ctx.written = true
      const sse = ctx.resource?.sse
      if (sse !== undefined && isEventSource(body)) writeEvents(ctx, status, headers, body, sse)
      else writeStream(ctx, status, headers, body)
      return true
    } else {
      payload = JSON.stringify(body)
      type = JSON_TYPE
    }
  } else if (typeof body === 'number' || typeof body === 'boolean') {
    payload = JSON.stringify(body)
    type = JSON_TYPE
  } else return false
  if (payload === undefined && body !== undefined && body !== null) return false
  ctx.written = true
  if (res.destroyed || res.writableEnded) return true
  applyKeepAlive(ctx)
  echoRequestId(ctx)
  if (ctx.mediaType !== undefined && type !== undefined) type = ctx.mediaType
  const chunking = ctx.resource?.chunking ?? ctx.dispatcher.chunking
  if (headers === undefined && chunking !== 'ALWAYS' && !bodyless(status)) {
    // The common case, kept free of header merging: one object literal, one writeHead.
    // Literal keys: an object literal with computed keys skips V8's fast literal path.
    const length =
      payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
    if (plain(ctx, length)) {
      if (payload === undefined) res.writeHead(status, { 'content-length': 0 })
      else res.writeHead(status, { 'content-type': type, 'content-length': length })
      if (ctx.exchange !== undefined) ctx.exchange.payload = payload
      res.end(payload)
      return true
    }
  }
  const h = lowerCased(headers)
  if (payload !== undefined && !bodyless(status) && h[CONTENT_TYPE] === undefined && type !== undefined) {
    h[CONTENT_TYPE] = type
  }
  writeRepresented(ctx, status, h, payload, chunking)
  return true
}

/** Frames and writes a buffered response: no body for bodyless statuses, chunked or Content-Length as the policy says. */
export function sendBuffered(
  ctx: RequestContext,
  status: number,
  h: OutgoingHttpHeaders,
  payload: string | Buffer | undefined,
  chunking: ChunkingPolicy,
): void {
  const res = ctx.res
  if (bodyless(status)) {
    delete h[CONTENT_LENGTH]
    delete h[TRANSFER_ENCODING]
    res.writeHead(status, h)
    res.end()
    return
  }
  const length =
    payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
  if (chunking === 'ALWAYS' && ctx.request.httpVersionMinor >= 1 && ctx.request.httpVersionMajor === 1) {
    delete h[CONTENT_LENGTH]
    h[TRANSFER_ENCODING] = 'chunked'
    res.writeHead(status, h)
    if (ctx.exchange !== undefined) ctx.exchange.payload = payload
    // A chunked body is sent as chunks even when its size is known: write, then end.
    if (payload !== undefined && payload.length !== 0 && ctx.method !== 'HEAD') res.write(payload)
    res.end()
    return
  }
  delete h[TRANSFER_ENCODING]
  h[CONTENT_LENGTH] = length
  res.writeHead(status, h)
  if (ctx.exchange !== undefined) ctx.exchange.payload = payload
  res.end(payload)
}

function writeStream(
  ctx: RequestContext,
  status: number,
  headers: OutgoingHeaders | undefined,
  body: StreamBody,
) {
  const res = ctx.res
  if (res.destroyed || res.writableEnded) {
    discard(body)
    return
  }
  applyKeepAlive(ctx)
  echoRequestId(ctx)
  const h = lowerCased(headers)
  if (h[CONTENT_TYPE] === undefined) h[CONTENT_TYPE] = ctx.mediaType ?? BYTES_TYPE
  const chunking = ctx.resource?.chunking ?? ctx.dispatcher.chunking
  const noBody = bodyless(status) || ctx.method === 'HEAD'
  if (chunking === 'NEVER' && !noBody) {
    // Buffer the whole stream so the response can announce its Content-Length.
    collect(toReadable(body)).then(
      (buf) => {
        if (res.destroyed) return
        delete h[TRANSFER_ENCODING]
        delete h[CONTENT_LENGTH]
        writeRepresented(ctx, status, h, buf, chunking)
      },
      (err: unknown) => ctx.dispatcher.streamFailed(ctx, err),
    )
    return
  }
  const coding = representStream(ctx, status, h, chunking)
  if (coding === 'answered') {
    discard(body)
    return
  }
  if (noBody) {
    discard(body)
    if (bodyless(status)) {
      delete h[CONTENT_LENGTH]
      delete h[TRANSFER_ENCODING]
    }
    res.writeHead(status, h)
    res.end()
    return
  }
  if (chunking === 'ALWAYS' && h[CONTENT_LENGTH] !== undefined && ctx.request.httpVersionMinor >= 1) {
    delete h[CONTENT_LENGTH]
  }
  res.writeHead(status, h)
  if (ctx.exchange !== undefined) ctx.exchange.streaming()
  const done = (err: NodeJS.ErrnoException | null) => {
    if (err) ctx.dispatcher.streamFailed(ctx, err)
  }
  // Under HTTP/2 the body goes straight into the stream (DATA frames, no chunked coding), unless
  // a tool (a trace log) watches the response's write(): then through it.
  const sink = ctx.request.httpVersionMajor !== 2 ? res : http2Sink(res as unknown as Http2Response)
  if (coding === null) pipeline(toReadable(body), sink, done)
  else pipeline(toReadable(body), compressStream(compressionOf(ctx), coding, streamIsTextual(h)), sink, done)
}

/** The HTTP/2 stream, or a Writable over the response's replaced write() and end(). */
function http2Sink(res: Http2Response): Writable {
  const stream = res.stream
  if (!Object.hasOwn(res, 'write')) return stream
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (stream.closed || stream.destroyed || stream.writableEnded) callback(closedStream())
      else res.write(chunk, callback)
    },
    final(callback) {
      res.end(undefined, () => callback())
    },
    destroy(err, callback) {
      if (err !== null) res.destroy()
      callback(err)
    },
  })
  // A client that resets the stream ends the copy too, so the source is released.
  stream.once('close', () => {
    if (!sink.writableFinished) sink.destroy(closedStream())
  })
  return sink
}

function closedStream(): Error {
  return Object.assign(new Error('the HTTP/2 stream closed'), { code: 'ERR_STREAM_DESTROYED' })
}

async function collect(src: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of src)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks)
}
