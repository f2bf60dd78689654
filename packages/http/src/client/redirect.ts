// Redirect following, written here rather than on undici's redirect interceptor (which
// ignores options given to its factory and reports a same-origin loop with a misleading
// error). Each hop is dispatched through the steps below, so retries apply per hop.
import { ClientError } from './errors.js'
import { isStreamBody } from './internal/body.js'
import { publishRedirect } from './internal/diagnostics.js'
import {
  type Controller,
  type Dispatch,
  type DispatchOptions,
  ForwardingHandler,
  type Handler,
  type Interceptor,
  type ResponseHeaders,
} from './internal/handler.js'
import { filterHeaders } from './internal/headers.js'
import { PINNED } from './internal/symbols.js'
import { type FollowRedirectsOptions, type ResolvedRedirects, resolveRedirects } from './options.js'

/** Options of {@link followRedirects} (`enabled` is the Client's switch and is ignored here). */
export type FollowRedirectsInterceptorOptions = Omit<FollowRedirectsOptions, 'enabled'>

// A redirect's own body is read and dropped; past this many bytes the hop's connection is
// given up instead, so a hostile 3xx cannot stall the chain.
const MAX_DISCARD = 64 * 1024

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}

type Body = NonNullable<DispatchOptions['body']> | null

/** Keeps what a streamed request body sent, up to a limit, so a 307/308 can send it again. */
class Replay {
  chunks: Buffer[] = []
  size = 0
  complete = false
  overflow = false

  constructor(readonly limit: number) {}

  async *tee(source: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk)
        ? chunk
        : typeof chunk === 'string'
          ? Buffer.from(chunk)
          : Buffer.from(chunk as Uint8Array)
      if (!this.overflow) {
        this.size += b.length
        if (this.size > this.limit) {
          this.overflow = true
          this.chunks = []
        } else this.chunks.push(b)
      }
      yield b
    }
    this.complete = true
  }

  body(): Buffer | null {
    return this.complete && !this.overflow ? Buffer.concat(this.chunks) : null
  }
}

class RedirectHandler extends ForwardingHandler {
  #opts: DispatchOptions
  #next: DispatchOptions | null = null
  #count = 0
  #visited: Set<string> | null = null
  #history: string[] | null = null
  #context: object | undefined
  #discarded = 0
  #done = false
  #skip: Error | null = null
  /** The context of a balancer below that chose this hop's target; its `url` is where the hop went. */
  #answeredBy: { url?: unknown } | undefined = undefined

  constructor(
    readonly dispatch: Dispatch,
    opts: DispatchOptions,
    handler: Handler,
    readonly policy: ResolvedRedirects,
    readonly replay: Replay | null,
  ) {
    super(handler)
    this.#opts = opts
  }

  override onRequestStart(controller: Controller, context: unknown): void {
    if (this.#done) {
      controller.abort(this.reason ?? new Error('aborted'))
      return
    }
    if (this.#count === 0) this.#context = context as object | undefined
    // Kept, not read: a balancer's context builds its URL only when a redirect needs it.
    this.#answeredBy =
      typeof context === 'object' && context !== null && 'url' in context ? context : undefined
    super.onRequestStart(
      controller,
      this.#history === null ? context : { ...this.#context, history: this.#history },
    )
  }

  override onResponseStart(
    c: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    if (this.#done) return
    const location = headers.location
    if (!isRedirect(statusCode) || location === undefined || this.#opts.upgrade) {
      super.onResponseStart(c, statusCode, headers, message)
      return
    }
    const opts = this.#opts
    // A Location is resolved against the URL that answered: with several targets, the target's.
    const sentTo = this.#answeredBy?.url
    const answered = typeof sentTo === 'string' ? sentTo : undefined
    const current = answered ?? `${opts.origin ?? ''}${opts.path}`
    const fail = (code: ConstructorParameters<typeof ClientError>[0], why: string) =>
      this.#fail(new ClientError(code, why, { method: opts.method, url: current, statusCode }))

    if (this.#count >= this.policy.maxCount) {
      fail('X_ERR_CLIENT_TOO_MANY_REDIRECTS', `more than ${this.policy.maxCount} redirects`)
      return
    }
    const locations = Array.isArray(location) ? location : [location]
    if (locations.some((l) => l !== locations[0])) {
      fail('X_ERR_CLIENT_REDIRECT_INVALID', 'the redirect has several different Location fields')
      return
    }
    let next: URL
    try {
      next = new URL(locations[0]!, current)
    } catch {
      fail('X_ERR_CLIENT_REDIRECT_INVALID', 'the Location field is not a URL')
      return
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      fail('X_ERR_CLIENT_REDIRECT_INVALID', `a redirect to ${next.protocol} is not followed`)
      return
    }
    next.hash = ''

    // RFC 9110 §15.4: 303 turns everything but GET/HEAD into GET; 301/302 turn POST into GET
    // (what user agents do); 307/308 keep method and body.
    let method = opts.method
    let body: Body = opts.body ?? null
    let dropContent = false
    if (
      (statusCode === 303 && method !== 'GET' && method !== 'HEAD') ||
      ((statusCode === 301 || statusCode === 302) && method === 'POST')
    ) {
      method = 'GET'
      body = null
      dropContent = true
    } else if (this.replay !== null) {
      const again = this.replay.body()
      if (again === null) {
        fail(
          'X_ERR_CLIENT_REDIRECT_BODY',
          this.replay.overflow
            ? `the streamed body is larger than maxReplayBodySize (${this.policy.maxReplayBodySize}) and cannot be sent again`
            : 'the server redirected before the streamed body was sent; it cannot be sent again',
        )
        return
      }
      body = again
    }

    const here = new URL(current)
    const visited = this.#visited ?? new Set([`${opts.method} ${here.href}`])
    this.#visited = visited
    const key = `${method} ${next.href}`
    if (visited.has(key)) {
      fail('X_ERR_CLIENT_REDIRECT_LOOP', `the redirect to ${next.href} was already followed`)
      return
    }
    visited.add(key)

    const crossOrigin = next.origin !== here.origin
    const dropAuth = crossOrigin && !this.policy.allowAuthHeaders
    const nextHeaders = filterHeaders(
      opts.headers,
      (n) =>
        n === 'host' ||
        (dropContent && n.startsWith('content-')) ||
        (dropAuth && (n === 'authorization' || n === 'cookie' || n === 'proxy-authorization')),
    )
    this.#next = {
      ...opts,
      origin: next.origin,
      path: `${next.pathname}${next.search}`,
      method,
      headers: nextHeaders,
      body,
    }
    // The server named one URL: a balancer below sends the hop there instead of re-balancing it.
    if (answered !== undefined) (this.#next as { [PINNED]?: boolean })[PINNED] = true
    this.#count++
    if (this.#history === null) this.#history = [current]
    this.#history.push(next.href)
    publishRedirect(current, next.href, statusCode, method)
  }

  override onResponseData(c: Controller, chunk: Buffer): void {
    if (this.#done) return
    if (this.#next === null) {
      super.onResponseData(c, chunk)
      return
    }
    this.#discarded += chunk.length
    if (this.#discarded > MAX_DISCARD && this.#skip === null) {
      this.#skip = new Error('redirect body skipped')
      c.abort(this.#skip)
    }
  }

  override onResponseEnd(c: Controller, trailers: ResponseHeaders): void {
    if (this.#done) return
    if (this.#next === null) {
      this.#done = true
      super.onResponseEnd(c, trailers)
      return
    }
    this.#follow()
  }

  override onResponseError(c: Controller, err: Error): void {
    if (this.#done) return
    if (this.#next !== null && err === this.#skip) {
      this.#follow()
      return
    }
    this.#done = true
    super.onResponseError(c, err)
  }

  #follow(): void {
    const next = this.#next!
    this.#next = null
    this.#skip = null
    this.#discarded = 0
    this.#opts = next
    try {
      this.dispatch(next, this)
    } catch (err) {
      this.#done = true
      this.handler.onResponseError?.(this, err as Error)
    }
  }

  #fail(err: ClientError): void {
    this.#done = true
    this.handler.onResponseError?.(this, err)
    this.target?.abort(err)
  }
}

/**
 * An interceptor that follows 301, 302, 303, 307 and 308 responses: at most `maxCount` hops,
 * a revisited URL is `X_ERR_CLIENT_REDIRECT_LOOP`, credentials are dropped on a cross-origin
 * hop unless `allowAuthHeaders`, and a streamed body is kept (up to `maxReplayBodySize`) for
 * a 307/308 replay.
 */
export function followRedirects(options: FollowRedirectsInterceptorOptions = {}): Interceptor {
  const policy = resolveRedirects({ ...options, enabled: true }, 'followRedirects')
  return (dispatch) =>
    function redirectDispatch(opts: DispatchOptions, handler: Handler): boolean {
      let replay: Replay | null = null
      if (opts.body != null && isStreamBody(opts.body)) {
        replay = new Replay(policy.maxReplayBodySize)
        opts = {
          ...opts,
          body: replay.tee(opts.body as unknown as AsyncIterable<unknown>) as unknown as Body,
        }
      }
      return dispatch(opts, new RedirectHandler(dispatch, opts, handler, policy, replay))
    }
}
