// What the writer adds to a response beyond framing, the same on HTTP/1.1 and HTTP/2: CORS
// headers, Cache-Control and validators, the negotiated content coding (with its own ETag and
// Vary), and the conditional-request verdict (304 / 412) on the representation actually sent.

import type { OutgoingHttpHeaders } from 'node:http'
import { encodedEtag, etag, evaluateConditionals, notModifiedHeaders } from '@x/cache'
import { hasConditional, single } from './caching.js'
import {
  type CompressionPlan,
  type ContentCoding,
  chooseEncoding,
  compressBuffer,
  isTextual,
} from './compression.js'
import type { RequestContext } from './context.js'
import { addVary, applyCors, type CorsPolicy } from './cors.js'
import { raise, toProblem } from './problem.js'
import { EventStreamWriter, type SsePlan } from './sse.js'
import type { ChunkingPolicy } from './types.js'
import { applyKeepAlive, bodyless, echoRequestId, lowerCased, sendBuffered } from './writer.js'

const PROBLEM_TYPE = 'application/problem+json'

/** The CORS policy this response answers by: its resource's, else the one the request would reach, else its service's. */
export function corsPolicyOf(ctx: RequestContext): CorsPolicy | undefined {
  const svc = ctx.service
  if (svc === undefined || !svc.hasCors || ctx.corsDone) return undefined
  const r = ctx.resource
  if (r !== undefined) return r.cors
  // A filter answered before the lookup, or nothing matched: the headers still follow the route.
  const m = svc.router.find(ctx.method, ctx.url)
  return m.kind === 'found' ? m.value.cors : svc.cors
}

/** The compression plan of the response: its resource's, else its service's, else the Listener's. */
export function compressionOf(ctx: RequestContext): CompressionPlan {
  return ctx.resource?.compression ?? ctx.service?.compression ?? ctx.dispatcher.compression
}

/**
 * True when a buffered response of `length` bytes without headers of its own needs nothing
 * but framing: no CORS, no caching declaration, nothing the compression policy would touch.
 */
export function plain(ctx: RequestContext, length: number): boolean {
  const svc = ctx.service
  if (svc?.hasCors === true) return false
  const r = ctx.resource
  if (r !== undefined && r.cache !== undefined) return false
  const plan = r?.compression ?? svc?.compression ?? ctx.dispatcher.compression
  const policy = plan.policy
  return policy === 'NEVER' || length === 0 || (policy === 'AUTO' && length < plan.threshold)
}

function essenceOf(h: OutgoingHttpHeaders): string | undefined {
  const type = single(h, 'content-type')
  if (type === undefined) return undefined
  const semi = type.indexOf(';')
  return (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase()
}

/** Whether the policy compresses this response; `length` is undefined for a stream of unknown size. */
function eligible(plan: CompressionPlan, status: number, h: OutgoingHttpHeaders, length: number | undefined) {
  if (plan.policy === 'NEVER' || length === 0 || bodyless(status)) return false
  // Never a partial response, nor one the handler encoded itself.
  if (status === 206 || h['content-range'] !== undefined || h['content-encoding'] !== undefined) return false
  if (plan.policy === 'ALWAYS') return true
  if (length !== undefined && length < plan.threshold) return false
  const essence = essenceOf(h)
  return essence !== undefined && plan.compressible(essence)
}

function fault(ctx: RequestContext): (e: unknown) => void {
  return (e) => ctx.dispatcher.report(ctx, e)
}

/** Cache-Control and validators of a 2xx or 304 answer to GET or HEAD. */
function cacheHeaders(
  ctx: RequestContext,
  status: number,
  h: OutgoingHttpHeaders,
  payload: string | Buffer | undefined,
) {
  const plan = ctx.resource?.cache
  if (plan === undefined || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return
  const ok = status >= 200 && status < 300
  if (!ok && status !== 304) return
  if (plan.cacheControl !== undefined && h['cache-control'] === undefined)
    h['cache-control'] = plan.cacheControl
  const v = ctx.validators
  if (v !== undefined) {
    if (h.etag === undefined && v.etag !== undefined) h.etag = v.etag
    if (h['last-modified'] === undefined && v.lastModified !== undefined) h['last-modified'] = v.lastModified
  }
  if (
    ok &&
    plan.etag &&
    payload !== undefined &&
    h.etag === undefined &&
    h['content-encoding'] === undefined
  ) {
    h.etag = etag(payload)
  }
}

type Verdict = 'proceed' | 'not-modified' | 'precondition-failed'

/** RFC 9110 §13.2.2 on the representation about to be sent: GET and HEAD, 2xx, with a validator. */
function verdictOf(ctx: RequestContext, status: number, h: OutgoingHttpHeaders): Verdict {
  const method = ctx.method
  if ((method !== 'GET' && method !== 'HEAD') || status < 200 || status > 299) return 'proceed'
  const reqHeaders = ctx.request.headers
  if (!hasConditional(reqHeaders)) return 'proceed'
  const tag = single(h, 'etag')
  const lastModified = single(h, 'last-modified')
  if (tag === undefined && lastModified === undefined) return 'proceed'
  return evaluateConditionals({
    method,
    headers: reqHeaders,
    etag: tag,
    lastModified,
    exists: ctx.validators?.exists ?? true,
    status,
  }).kind
}

/** The fields of a 304: what RFC 9110 §15.4.5 lists, plus the CORS headers (a page must still read it). */
function notModified(h: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = notModifiedHeaders(h as Record<string, string | string[]>)
  for (const name of Object.keys(h)) if (name.startsWith('access-control-')) out[name] = h[name]
  return out
}

function preconditionFailed(ctx: RequestContext, h: OutgoingHttpHeaders, chunking: ChunkingPolicy): void {
  const problem = toProblem(raise('X_ERR_HTTP_PRECONDITION_FAILED', 'a precondition of the request failed'))
  const out: OutgoingHttpHeaders = { 'content-type': PROBLEM_TYPE }
  for (const name of Object.keys(h)) {
    if (name.startsWith('access-control-') || name === 'vary' || name === 'etag') out[name] = h[name]
  }
  sendBuffered(ctx, 412, out, JSON.stringify(problem.body), chunking)
}

/**
 * Writes a buffered response with everything representation-level applied: CORS, caching
 * headers, the content coding, and the conditional verdict.
 */
export function writeRepresented(
  ctx: RequestContext,
  status: number,
  h: OutgoingHttpHeaders,
  payload: string | Buffer | undefined,
  chunking: ChunkingPolicy,
): void {
  const policy = corsPolicyOf(ctx)
  if (policy !== undefined) applyCors(policy, ctx.request.headers.origin, h, fault(ctx))
  cacheHeaders(ctx, status, h, payload)
  let coding: ContentCoding | null = null
  if (payload !== undefined) {
    const plan = compressionOf(ctx)
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
    if (eligible(plan, status, h, length)) {
      // One conversion serves the ETag hash, the encoder and the write.
      if (typeof payload === 'string') payload = Buffer.from(payload)
      addVary(h, 'Accept-Encoding')
      if (ctx.method !== 'HEAD') coding = chooseEncoding(plan, ctx.request.headers['accept-encoding'])
      if (coding !== null) {
        const tag = single(h, 'etag')
        if (tag !== undefined) h.etag = encodedEtag(tag, coding)
      }
    }
  }
  const verdict = verdictOf(ctx, status, h)
  if (verdict === 'not-modified') {
    sendBuffered(ctx, 304, notModified(h), undefined, chunking)
    return
  }
  if (verdict === 'precondition-failed') {
    preconditionFailed(ctx, h, chunking)
    return
  }
  if (coding === null) {
    sendBuffered(ctx, status, h, payload, chunking)
    return
  }
  const plan = compressionOf(ctx)
  const input = payload as Buffer
  const essence = essenceOf(h)
  const chosen = coding
  compressBuffer(plan, chosen, input, essence !== undefined && isTextual(essence), (err, out) => {
    const res = ctx.res
    if (res.destroyed || res.writableEnded) return
    if (err !== null) {
      ctx.dispatcher.streamFailed(ctx, err)
      return
    }
    h['content-encoding'] = chosen
    // A graceful stop may have begun while the body was compressed: decide keep-alive again.
    applyKeepAlive(ctx)
    sendBuffered(ctx, status, h, out, chunking)
  })
}

/**
 * The representation-level headers of a streamed response. Returns the coding to pipe the
 * body through, null for none, or 'answered' when a 304 or 412 was sent instead.
 */
export function representStream(
  ctx: RequestContext,
  status: number,
  h: OutgoingHttpHeaders,
  chunking: ChunkingPolicy,
): ContentCoding | null | 'answered' {
  const policy = corsPolicyOf(ctx)
  if (policy !== undefined) applyCors(policy, ctx.request.headers.origin, h, fault(ctx))
  cacheHeaders(ctx, status, h, undefined)
  let coding: ContentCoding | null = null
  const plan = compressionOf(ctx)
  const announced = h['content-length']
  const length = announced === undefined ? undefined : Number(announced)
  if (eligible(plan, status, h, Number.isNaN(length) ? undefined : length)) {
    addVary(h, 'Accept-Encoding')
    if (ctx.method !== 'HEAD') coding = chooseEncoding(plan, ctx.request.headers['accept-encoding'])
    if (coding !== null) {
      const tag = single(h, 'etag')
      if (tag !== undefined) h.etag = encodedEtag(tag, coding)
      delete h['content-length']
      h['content-encoding'] = coding
    }
  }
  const verdict = verdictOf(ctx, status, h)
  if (verdict === 'proceed') return coding
  if (verdict === 'not-modified') sendBuffered(ctx, 304, notModified(h), undefined, chunking)
  else preconditionFailed(ctx, h, chunking)
  return 'answered'
}

/** The text/Brotli mode hint of a streamed body. */
export function streamIsTextual(h: OutgoingHttpHeaders): boolean {
  const essence = essenceOf(h)
  return essence !== undefined && isTextual(essence)
}

/** Writes an SSE resource's async iterable as an event stream (never compressed, never buffered). */
export function writeEvents(
  ctx: RequestContext,
  status: number,
  headers: Parameters<typeof lowerCased>[0],
  body: AsyncIterable<unknown>,
  plan: SsePlan,
): void {
  const res = ctx.res
  const stream = new EventStreamWriter(ctx, body, plan.heartbeat)
  if (res.destroyed || res.writableEnded) {
    stream.discard()
    return
  }
  applyKeepAlive(ctx)
  echoRequestId(ctx)
  const h = lowerCased(headers)
  const policy = corsPolicyOf(ctx)
  if (policy !== undefined) applyCors(policy, ctx.request.headers.origin, h, fault(ctx))
  if (bodyless(status)) {
    stream.discard()
    delete h['content-length']
    res.writeHead(status, h)
    res.end()
    return
  }
  // Each event is counted as the connection takes it, like any streamed body.
  if (ctx.exchange !== undefined) ctx.exchange.streaming()
  stream.start(status, h)
}
