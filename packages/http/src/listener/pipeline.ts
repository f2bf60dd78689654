// The request pipeline, the same for every request: service selection → request filters →
// route lookup (404 / 405 / automatic OPTIONS) → binding → resource → response filters →
// writer. Synchronous results stay synchronous; a promise switches to the async path only
// where one appears, so a plain handler costs no microtask and no closure.

import { channel } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { evaluateConditionals } from '@x/cache'
import { HttpError, isHttpError } from '../errors.js'
import { bindParam, convertPath, headerList, parseParams, queryString } from './binding.js'
import { checkContentType, convertBody, hasBody, readBody, streamBody, validateBody } from './body.js'
import { hasConditional, normaliseValidators } from './caching.js'
import type { CompiledResource, CompiledService, ServiceTable } from './compile.js'
import type { CompressionPlan } from './compression.js'
import { NEXT, RequestContext } from './context.js'
import { preflightHeaders } from './cors.js'
import { ExchangeLog } from './exchange-log.js'
import { negotiate, parseContentType } from './media.js'
import type { ResolvedOptions } from './options.js'
import { raise, toProblem } from './problem.js'
import { isSafeRequestId, RequestIdGenerator, type ResolvedRequestId } from './request-id.js'
import { HttpResponse } from './response.js'
import type { EventStreamWriter } from './sse.js'
import type {
  ChunkingPolicy,
  KeepAlivePolicy,
  OutgoingHeaders,
  OutgoingResponse,
  RespondOutcome,
} from './types.js'
import { type CompiledUpgrade, handOver, type Upgrading } from './upgrade.js'
import { writeResponse } from './writer.js'

const errorChannel = channel('x:http:listener-error')
const refusedIdChannel = channel('x:http:listener-request-id-refused')

const PROBLEM_TYPE = 'application/problem+json'

function NOOP(): void {}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function'
}

/** Runs requests through the pipeline; one per Listener. */
export class Dispatcher {
  table: ServiceTable
  stopping = false
  readonly keepAlive: KeepAlivePolicy
  readonly chunking: ChunkingPolicy
  readonly compression: CompressionPlan
  /** Open Server-Sent Event streams: ended on graceful stop. */
  readonly eventStreams = new Set<EventStreamWriter>()
  /** Request ids, when on; `echoHeader` names the response header they are echoed in. */
  readonly requestIds: ResolvedRequestId | undefined
  readonly echoHeader: string | undefined
  /** The logging hook (and request-context link), when access or trace logs or request ids are on. */
  readonly exchanges: ExchangeLog | undefined
  private readonly ids = new RequestIdGenerator()
  private readonly maxUriLength: number
  private readonly maxRawHeaders: number

  constructor(
    private readonly options: ResolvedOptions,
    table: ServiceTable,
  ) {
    this.table = table
    this.keepAlive = options.keepAlive
    this.chunking = options.chunking
    this.compression = options.compression
    this.maxUriLength = options.maxUriLength
    this.maxRawHeaders = options.maxHeaderCount * 2
    const ids = options.requestId
    this.requestIds = ids
    this.echoHeader = ids?.echo === true ? ids.header : undefined
    this.exchanges =
      ids === undefined && options.accessLog === undefined && options.traceLog === undefined
        ? undefined
        : new ExchangeLog(options.accessLog, options.traceLog, (ctx, e) => this.report(ctx, e))
  }

  /** The `request` (and `checkContinue`) listener of the Node server; protocol adapters call it too. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = new RequestContext(this, req, res, req.url!)
    if (this.exchanges !== undefined) this.exchanges.begin(ctx)
    try {
      this.dispatch(ctx)
    } catch (e) {
      // Only a fault of the Listener itself lands here: never let it reach Node's parser.
      this.panic(ctx, e)
    }
  }

  /** Answers a request a protocol adapter refused before the pipeline (an HTTP/2 header list over the limit). */
  rejectRequest(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
    const ctx = new RequestContext(this, req, res, req.url!)
    if (this.exchanges !== undefined) this.exchanges.begin(ctx)
    try {
      this.reject(ctx, error)
    } catch (e) {
      this.panic(ctx, e)
    }
  }

  /**
   * A WebSocket handshake Node handed to the `upgrade` event (upgrade.ts): the same pipeline,
   * on a response bound to the detached socket, which closes after any answer.
   */
  onUpgrade(req: IncomingMessage, res: ServerResponse, upgrading: Upgrading): void {
    const ctx = new RequestContext(this, req, res, req.url!)
    ctx.upgrading = upgrading
    ctx.closeAfter = true
    try {
      this.dispatch(ctx)
    } catch (e) {
      this.panic(ctx, e)
    }
  }

  /** The request id of `req` (see request-id.ts); undefined when request ids are off. */
  requestIdOf(req: IncomingMessage): string | undefined {
    const cfg = this.requestIds
    if (cfg === undefined) return undefined
    if (cfg.fromRequest) {
      const v = req.headers[cfg.header]
      if (typeof v === 'string') {
        if (isSafeRequestId(v, cfg.maxLength)) return v
        // Too long, or characters that could forge or break a log line: replaced, and reported.
        if (refusedIdChannel.hasSubscribers) refusedIdChannel.publish({ request: req, value: v })
      }
    }
    if (cfg.generate !== undefined) {
      try {
        const id = cfg.generate()
        if (typeof id === 'string') return id
      } catch {
        // A failing generator falls back to the built-in one rather than failing the request.
      }
    }
    return this.ids.next()
  }

  private dispatch(ctx: RequestContext): void {
    const req = ctx.request
    let url = ctx.url
    if (url.length > this.maxUriLength) {
      this.reject(ctx, raise('X_ERR_HTTP_URI_TOO_LONG', 'the URI is too long'))
      return
    }
    // (HTTP/2 counts its fields in its adapter, without the pseudo-header fields.)
    if (req.rawHeaders.length > this.maxRawHeaders && req.httpVersionMajor !== 2) {
      this.reject(ctx, raise('X_ERR_HTTP_HEADERS_TOO_LARGE', 'the request has too many header fields'))
      return
    }
    if (req.headers.host === undefined && req.httpVersionMinor === 1) {
      // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
      this.reject(ctx, raise('X_ERR_HTTP_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header'))
      return
    }
    if (url.charCodeAt(0) !== 47 /* / */) {
      const origin = originForm(url, req.method === 'OPTIONS')
      if (origin === undefined) {
        this.reject(ctx, raise('X_ERR_HTTP_BAD_REQUEST', 'the request target is malformed'))
        return
      }
      url = origin
      ctx.url = url
    }
    const table = this.table
    const svc = url === '*' ? undefined : table.select(req, url)
    if (svc === undefined) {
      ctx.chain = table.rootChain
      if (table.rootHasRequestHooks) this.runRequestFilters(ctx, 0)
      else {
        ctx.passed = ctx.chain.length
        this.route(ctx)
      }
      return
    }
    ctx.service = svc
    ctx.chain = svc.chain
    if (
      svc.hasCors &&
      ctx.method === 'OPTIONS' &&
      req.headers['access-control-request-method'] !== undefined &&
      req.headers.origin !== undefined &&
      this.preflight(ctx, svc)
    ) {
      return
    }
    if (svc.hasRequestHooks) this.runRequestFilters(ctx, 0)
    else {
      ctx.passed = ctx.chain.length
      this.route(ctx)
    }
  }

  /** Answers a request rejected before any filter ran (limits); closes its connection unless keep-alive is ALWAYS. */
  private reject(ctx: RequestContext, error: HttpError): void {
    ctx.closeAfter = this.keepAlive !== 'ALWAYS'
    ctx.answered = true
    this.writeProblem(ctx, error)
  }

  // ---- the way in -------------------------------------------------------------------------

  private runRequestFilters(ctx: RequestContext, from: number): void {
    const chain = ctx.chain
    for (let i = from; i < chain.length; i++) {
      const f = chain[i]!
      if (f.request === undefined) continue
      let out: unknown
      try {
        out = f.request(ctx as never)
      } catch (e) {
        this.failIn(ctx, i, e)
        return
      }
      if (isThenable(out)) {
        this.after(
          ctx,
          out,
          (v) => this.afterRequestFilter(ctx, i, v),
          (e) => this.failIn(ctx, i, e),
        )
        return
      }
      if (ctx.answered) {
        ctx.passed = i
        return
      }
      if (out !== undefined && out !== NEXT) {
        ctx.passed = i
        this.complete(ctx, out, undefined)
        return
      }
    }
    ctx.passed = chain.length
    this.route(ctx)
  }

  private afterRequestFilter(ctx: RequestContext, i: number, out: unknown): void {
    if (ctx.answered) {
      ctx.passed = i
      return
    }
    if (out !== undefined && out !== NEXT) {
      ctx.passed = i
      this.complete(ctx, out, undefined)
      return
    }
    this.runRequestFilters(ctx, i + 1)
  }

  private route(ctx: RequestContext): void {
    const svc = ctx.service
    if (ctx.url === '*') {
      if (ctx.method === 'OPTIONS') {
        this.answerOptions(ctx, this.table.allow)
        return
      }
      this.failOut(ctx, raise('X_ERR_HTTP_BAD_REQUEST', 'only OPTIONS may target *'), ctx.passed)
      return
    }
    if (svc === undefined) {
      this.failOut(ctx, raise('X_ERR_HTTP_NOT_FOUND', 'no resource at this path'), ctx.passed)
      return
    }
    const m = svc.router.find(ctx.method, ctx.url)
    if (m.kind === 'found') {
      const r = m.value
      ctx.resource = r
      ctx.params = m.params
      ctx.template = m.template
      if (r.plain) this.invoke(ctx, r)
      else this.bind(ctx, r)
      return
    }
    if (m.kind === 'method-not-allowed') {
      const allow = m.allow.includes('OPTIONS') ? m.allow : [...m.allow, 'OPTIONS'].sort()
      if (ctx.method === 'OPTIONS') {
        this.answerOptions(ctx, allow)
        return
      }
      const e = raise('X_ERR_HTTP_METHOD_NOT_ALLOWED', `${ctx.method} is not allowed here`, undefined, {
        allow: allow.join(', '),
      })
      this.failOut(ctx, e, ctx.passed)
      return
    }
    this.failOut(ctx, raise('X_ERR_HTTP_NOT_FOUND', 'no resource at this path'), ctx.passed)
  }

  /**
   * Answers a CORS preflight (Fetch §3.2.2) before any filter runs: a preflight never carries
   * credentials, so an authentication filter would refuse every one. Returns false when no
   * CORS policy covers the target, which then goes the way of any OPTIONS request.
   */
  private preflight(ctx: RequestContext, svc: CompiledService): boolean {
    const h = ctx.request.headers
    const method = h['access-control-request-method'] as string
    const m = svc.router.find(method, ctx.url)
    let policy = svc.cors
    if (m.kind === 'found') {
      policy = m.value.cors
      ctx.resource = m.value
      ctx.params = m.params
      ctx.template = m.template
    } else if (m.kind === 'not-found') return false
    if (policy === undefined) return false
    ctx.corsDone = true
    ctx.answered = true
    const answer = preflightHeaders(
      policy,
      h.origin as string,
      method,
      h['access-control-request-headers'],
      m.kind === 'found',
      (e) => this.report(ctx, e),
    )
    if (answer !== undefined) {
      this.respond(ctx, 204, answer as OutgoingHeaders, undefined)
      return true
    }
    const refused = raise(
      'X_ERR_HTTP_CORS_REJECTED',
      'this cross-origin request is not allowed',
      undefined,
      policy.varyOrigin ? { vary: 'Origin' } : undefined,
    )
    this.writeProblem(ctx, refused)
    return true
  }

  private answerOptions(ctx: RequestContext, allow: readonly string[]): void {
    ctx.answered = true
    this.respond(ctx, 204, { allow: allow.join(', ') }, undefined)
  }

  /** Binds parameters, headers and body as the resource declares, then runs it. */
  private bind(ctx: RequestContext, r: CompiledResource): void {
    const req = ctx.request
    try {
      if (r.pathPlans !== undefined) {
        const params: Record<string, unknown> = { ...ctx.params }
        for (const plan of r.pathPlans) params[plan.name] = convertPath(plan, params[plan.name] as string)
        ctx.params = params
      }
      if (r.queryPlans !== undefined) {
        const raw = parseParams(queryString(ctx.url))
        if (raw === undefined)
          throw raise('X_ERR_HTTP_INVALID_PARAM', 'the query string has a malformed escape')
        const q: Record<string, unknown> = Object.create(null)
        for (const plan of r.queryPlans) q[plan.name] = bindParam(plan, raw[plan.name], 'query parameter')
        ctx.setQuery(q)
      }
      if (r.headerPlans !== undefined) {
        const h: Record<string, unknown> = { ...req.headers }
        for (const plan of r.headerPlans) {
          const raw = req.headers[plan.name]
          h[plan.name] = bindParam(plan, plan.array && raw !== undefined ? headerList(raw) : raw, 'header')
        }
        ctx.headers = h as typeof ctx.headers
      }
      if (ctx.upgrading !== undefined && r.upgrade !== undefined) {
        this.upgrade(ctx, r.upgrade)
        return
      }
      if (r.produces !== undefined) {
        const accept = req.headers.accept
        const chosen = accept === undefined ? r.produces[0] : negotiate(accept, r.produces)
        if (chosen === undefined) {
          throw raise('X_ERR_HTTP_NOT_ACCEPTABLE', `this resource produces ${r.produces.join(', ')}`)
        }
        ctx.mediaType = chosen
      }
      if (r.consumes !== undefined && r.body === undefined && hasBody(req)) {
        const header = req.headers['content-type']
        const mt = header === undefined ? undefined : parseContentType(header)
        if (mt === undefined || !r.consumes(mt.essence)) {
          throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'this Content-Type is not accepted')
        }
      }
    } catch (e) {
      this.failBody(ctx, e)
      return
    }
    if (r.cache?.validators !== undefined) this.precondition(ctx, r)
    else this.bindBody(ctx, r)
  }

  /**
   * Asks the resource for its current validators and evaluates the request's preconditions
   * (RFC 9110 §13.2.2) before the body is read and the handler runs: a failed If-Match on a
   * PUT must stop the update, not follow it.
   */
  private precondition(ctx: RequestContext, r: CompiledResource): void {
    let out: unknown
    try {
      out = r.cache!.validators!(ctx as never)
    } catch (e) {
      this.failBody(ctx, e)
      return
    }
    if (isThenable(out)) {
      this.after(
        ctx,
        out,
        (v) => this.checkPreconditions(ctx, r, v),
        (e) => this.failBody(ctx, e),
      )
      return
    }
    this.checkPreconditions(ctx, r, out)
  }

  private checkPreconditions(ctx: RequestContext, r: CompiledResource, value: unknown): void {
    let verdict: 'proceed' | 'not-modified' | 'precondition-failed' = 'proceed'
    try {
      const v = normaliseValidators(value)
      ctx.validators = v
      const h = ctx.request.headers
      if (hasConditional(h)) {
        verdict = evaluateConditionals({
          method: ctx.method,
          headers: h,
          etag: v.etag,
          lastModified: v.lastModified,
          exists: v.exists,
        }).kind
      }
    } catch (e) {
      this.failBody(ctx, e)
      return
    }
    if (verdict === 'proceed') this.bindBody(ctx, r)
    else if (verdict === 'precondition-failed') {
      this.failBody(ctx, raise('X_ERR_HTTP_PRECONDITION_FAILED', 'a precondition of the request failed'))
    } else {
      if (!ctx.request.complete && this.keepAlive !== 'ALWAYS') ctx.closeAfter = true
      ctx.answered = true
      this.respond(ctx, 304, undefined, undefined)
    }
  }

  /** Reads and converts the body the resource declares, then runs it. */
  private bindBody(ctx: RequestContext, r: CompiledResource): void {
    const req = ctx.request
    try {
      const withBody = hasBody(req)
      const plan = r.body
      if (plan !== undefined) {
        if (!withBody) {
          if (plan.kind === 'stream') ctx.body = Readable.from([])
          else if (!plan.optional) throw raise('X_ERR_HTTP_INVALID_BODY', 'a request body is required')
        } else {
          const charset = checkContentType(req, plan)
          if (plan.kind === 'stream') ctx.body = streamBody(req, ctx.res, plan.maxSize)
          else {
            const bound = readBody(req, ctx.res, plan.maxSize).then((buf) => {
              if (buf.length === 0 && plan.optional) return undefined
              return validateBody(plan, convertBody(plan.kind, buf, charset))
            })
            this.after(
              ctx,
              bound,
              (value) => {
                ctx.body = value
                this.invoke(ctx, r)
              },
              (e) => this.failBody(ctx, e),
            )
            return
          }
        }
      }
    } catch (e) {
      this.failBody(ctx, e)
      return
    }
    this.invoke(ctx, r)
  }

  /**
   * A request refused before its body was read: AUTO closes the connection rather than read
   * a body nobody wants; ALWAYS lets Node drain it and keeps the connection, unless the body
   * is over the limit or the client stopped sending it.
   */
  private failBody(ctx: RequestContext, e: unknown): void {
    if (
      !ctx.request.complete &&
      (this.keepAlive !== 'ALWAYS' ||
        isHttpError(e, 'X_ERR_HTTP_BODY_TOO_LARGE') ||
        isHttpError(e, 'X_ERR_HTTP_BODY_ABORTED'))
    ) {
      ctx.closeAfter = true
    }
    this.failOut(ctx, e, ctx.passed)
  }

  /** A WebSocket handshake passed the filters and the binding: hand its socket over (upgrade.ts). */
  private upgrade(ctx: RequestContext, u: CompiledUpgrade): void {
    const out = handOver(ctx, u)
    if (out !== undefined) this.after(ctx, out, NOOP, (e) => this.failOut(ctx, e, ctx.passed))
  }

  private invoke(ctx: RequestContext, r: CompiledResource): void {
    let out: unknown
    try {
      out = r.handler.call(r.thisArg, ctx)
    } catch (e) {
      this.failOut(ctx, e, ctx.passed)
      return
    }
    if (isThenable(out)) {
      this.after(
        ctx,
        out,
        (v) => this.complete(ctx, v, undefined),
        (e) => this.failOut(ctx, e, ctx.passed),
      )
      return
    }
    this.complete(ctx, out, undefined)
  }

  // ---- answering ----------------------------------------------------------------------------

  /** A handler or filter produced `value`: decide status, headers and body (Ballerina's defaults). */
  private complete(ctx: RequestContext, value: unknown, status: number | undefined): void {
    if (ctx.answered) {
      if (value !== undefined) {
        this.options.logger.warn(
          { method: ctx.method, url: ctx.url, template: ctx.template },
          'a handler returned a value after it had responded; the value was ignored',
        )
      }
      return
    }
    ctx.answered = true
    // Plain objects (the common case) skip the class checks.
    if (typeof value === 'object' && value !== null && value.constructor !== Object)
      this.completeClass(ctx, value, status)
    else if (value === undefined || value === null) this.respond(ctx, status ?? 202, undefined, undefined)
    else this.respond(ctx, status ?? (ctx.method === 'POST' ? 201 : 200), undefined, value)
  }

  private completeClass(ctx: RequestContext, value: object, status: number | undefined): void {
    if (value instanceof HttpResponse) {
      this.respond(ctx, status ?? value.status, value.headers, value.body)
      return
    }
    if (typeof Response !== 'undefined' && value instanceof Response) {
      const headers: Record<string, string | string[]> = {}
      value.headers.forEach((v, k) => {
        if (k !== 'set-cookie') headers[k] = v
      })
      const cookies = value.headers.getSetCookie()
      if (cookies.length !== 0) headers['set-cookie'] = cookies
      this.respond(ctx, status ?? value.status, headers, value.body)
      return
    }
    this.respond(ctx, status ?? (ctx.method === 'POST' ? 201 : 200), undefined, value)
  }

  /** Sends the response out through the response filters the request passed, then writes it. */
  private respond(ctx: RequestContext, status: number, headers: OutgoingHeaders | undefined, body: unknown) {
    if (
      ctx.passed !== 0 &&
      (ctx.service === undefined ? this.table.rootHasResponseHooks : ctx.service.hasResponseHooks)
    ) {
      const response: OutgoingResponse = {
        status,
        headers: headers === undefined ? {} : { ...headers },
        body,
      }
      this.outward(ctx, response, ctx.passed - 1)
      return
    }
    this.write(ctx, status, headers, body)
  }

  private outward(ctx: RequestContext, response: OutgoingResponse, from: number): void {
    const chain = ctx.chain
    for (let k = from; k >= 0; k--) {
      const f = chain[k]!
      if (f.response === undefined) continue
      let out: unknown
      try {
        out = f.response(ctx as never, response)
      } catch (e) {
        this.failAfter(ctx, e, k)
        return
      }
      if (isThenable(out)) {
        this.after(
          ctx,
          out,
          () => this.outward(ctx, response, k - 1),
          (e) => this.failAfter(ctx, e, k),
        )
        return
      }
    }
    this.write(ctx, response.status, response.headers, response.body)
  }

  /** A response filter at `k` failed: the error travels on outwards, and the answer is reset. */
  private failAfter(ctx: RequestContext, e: unknown, k: number): void {
    ctx.answered = false
    this.failOut(ctx, e, k)
  }

  private write(
    ctx: RequestContext,
    status: number,
    headers: OutgoingHeaders | undefined,
    body: unknown,
  ): void {
    let ok = false
    let failure: unknown
    try {
      ok = writeResponse(ctx, status, headers, body)
    } catch (e) {
      failure = e
    }
    if (ok) return
    const res = ctx.res
    this.report(ctx, failure ?? new TypeError(`a ${typeof body} cannot be sent as a response body`))
    if (res.headersSent) {
      res.destroy()
      return
    }
    ctx.written = false
    if (!res.destroyed) writeResponse(ctx, 500, { 'content-type': PROBLEM_TYPE }, toProblem(undefined).body)
  }

  private writeProblem(ctx: RequestContext, error: unknown): void {
    const p = toProblem(error)
    if (p.internal) this.report(ctx, error)
    const headers: OutgoingHeaders = { 'content-type': PROBLEM_TYPE }
    if (p.headers !== undefined) {
      for (const k of Object.keys(p.headers)) headers[k.toLowerCase()] = p.headers[k] as string
    }
    this.respond(ctx, p.status, headers, p.body)
  }

  // ---- errors -------------------------------------------------------------------------------

  /** An error on the way in, at filter `i`: it goes to the nearest error filter after it. */
  private failIn(ctx: RequestContext, i: number, error: unknown): void {
    ctx.passed = i
    this.errorFilters(ctx, error, i + 1, 1)
  }

  /**
   * An error from the resource stage (lookup, binding, handler) or from response filter `from`:
   * it travels outwards to the error filters of the filters before `from`.
   */
  private failOut(ctx: RequestContext, error: unknown, from: number): void {
    ctx.passed = from
    this.errorFilters(ctx, error, from - 1, -1)
  }

  private errorFilters(ctx: RequestContext, error: unknown, start: number, step: 1 | -1): void {
    if (ctx.answered) {
      this.lateError(ctx, error)
      return
    }
    const chain = ctx.chain
    for (let j = start; j >= 0 && j < chain.length; j += step) {
      const f = chain[j]!
      if (f.error === undefined) continue
      let out: unknown
      try {
        out = f.error(ctx as never, error)
      } catch (e) {
        error = e
        continue
      }
      if (isThenable(out)) {
        this.after(
          ctx,
          out,
          (v) => this.afterErrorFilter(ctx, error, j, step, v),
          (e) => this.errorFilters(ctx, e, j + step, step),
        )
        return
      }
      if (ctx.answered) return
      if (out !== undefined && out !== NEXT) {
        if (step === -1) ctx.passed = j
        this.complete(ctx, out, undefined)
        return
      }
    }
    ctx.answered = true
    this.writeProblem(ctx, error)
  }

  private afterErrorFilter(ctx: RequestContext, error: unknown, j: number, step: 1 | -1, out: unknown): void {
    if (ctx.answered) return
    if (out !== undefined && out !== NEXT) {
      if (step === -1) ctx.passed = j
      this.complete(ctx, out, undefined)
      return
    }
    this.errorFilters(ctx, error, j + step, step)
  }

  /** An error after the response was decided: log it; a half-sent response ends with its connection. */
  private lateError(ctx: RequestContext, error: unknown): void {
    this.report(ctx, error)
    const res = ctx.res
    if (res.headersSent && !res.writableEnded) res.destroy()
  }

  /** Continues the pipeline once `pending` settles; a fault in the continuation itself is contained. */
  private after(
    ctx: RequestContext,
    pending: PromiseLike<unknown>,
    ok: (value: unknown) => void,
    fail: (error: unknown) => void,
  ): void {
    Promise.resolve(pending)
      .then(ok, fail)
      .catch((e: unknown) => this.panic(ctx, e))
  }

  /** The Listener itself failed (or a warn logger threw): log it and drop the connection. */
  private panic(ctx: RequestContext, error: unknown): void {
    this.report(ctx, error)
    ctx.res.destroy()
  }

  /** A streamed response body failed midway: the connection is closed so the client sees a truncated body. */
  streamFailed(ctx: RequestContext, error: unknown): void {
    const res = ctx.res
    if (!res.destroyed) res.destroy()
    const code = (error as { code?: unknown } | null)?.code
    // The client went away (its connection closed, or under HTTP/2 it reset the stream): not a failure.
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' && (ctx.request.socket.destroyed || ctx.request.aborted)) return
    this.report(ctx, error)
  }

  /** Logs a server-side failure and publishes it on `x:http:listener-error`; a throwing logger is ignored. */
  report(ctx: RequestContext, error: unknown): void {
    try {
      this.options.logger.error(
        { err: error, method: ctx.method, url: ctx.url, template: ctx.template, requestId: ctx.requestId },
        'request failed',
      )
    } catch {
      // A failing logger must not cost the client its answer.
    }
    if (errorChannel.hasSubscribers)
      errorChannel.publish({ error, request: ctx.request, template: ctx.template })
  }

  // ---- the caller ---------------------------------------------------------------------------

  respondFromCaller(
    ctx: RequestContext,
    value: unknown,
    status: number | undefined,
  ): Promise<RespondOutcome> {
    if (ctx.answered) throw raise('X_ERR_HTTP_ALREADY_RESPONDED', 'this request was already answered')
    if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
      throw new HttpError(500, undefined, { code: 'X_ERR_HTTP_INVALID_OPTION' })
    }
    const res = ctx.res
    const done = new Promise<RespondOutcome>((resolve) => {
      if (res.writableFinished) return resolve('sent')
      res.once('close', () => resolve(res.writableFinished ? 'sent' : 'closed'))
    })
    this.complete(ctx, value, status)
    return done
  }
}

/** Reduces an absolute-form target (`http://host/p?q`) to origin form; keeps `*` for OPTIONS. */
function originForm(url: string, options: boolean): string | undefined {
  if (url === '*') return options ? url : undefined
  const scheme = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1
  if (scheme === -1) return undefined
  const slash = url.indexOf('/', scheme)
  const q = url.indexOf('?', scheme)
  if (slash === -1 || (q !== -1 && q < slash)) return q === -1 ? '/' : `/${url.slice(q)}`
  return url.slice(slash)
}
