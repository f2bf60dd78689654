// The per-request context handlers and filters receive. One object per request with a fixed
// shape; the query, shared state, caller and abort signal are created only when first used.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { parseParams, queryString } from './binding.js'
import type { CurrentValidators } from './caching.js'
import type { CompiledResource, CompiledService } from './compile.js'
import type { LoggedExchange } from './exchange-log.js'
import type { Dispatcher } from './pipeline.js'
import { raise } from './problem.js'
import { type TlsInfo, tlsInfo } from './tls.js'
import type { Caller, Filter, Next, RespondOutcome } from './types.js'
import type { Upgrading } from './upgrade.js'
import { writeInformational } from './writer.js'

/** The value request filters return to pass the request on. */
export const NEXT: Next = Object.freeze({ __next: true as const })

const EMPTY_PARAMS: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null))
const NO_FILTERS: readonly Filter[] = Object.freeze([])

class CallerImpl implements Caller {
  constructor(private readonly ctx: RequestContext) {}
  respond(value?: unknown, status?: number): Promise<RespondOutcome> {
    return this.ctx.dispatcher.respondFromCaller(this.ctx, value, status)
  }
  informational(
    status: 102 | 103,
    headers?: Readonly<Record<string, string | readonly string[] | undefined>>,
  ): boolean {
    return writeInformational(this.ctx, status, headers)
  }
}

/** The implementation behind the public `Context` type. */
export class RequestContext {
  readonly request: IncomingMessage
  /** The Node response: written only by writer.ts. */
  readonly res: ServerResponse
  readonly dispatcher: Dispatcher
  readonly method: string
  /** The request target in origin form (an absolute-form target is reduced to its path and query). */
  url: string
  params: Readonly<Record<string, unknown>> = EMPTY_PARAMS
  headers: IncomingHttpHeaders
  body: unknown = undefined
  template: string | undefined = undefined
  mediaType: string | undefined = undefined
  service: CompiledService | undefined = undefined
  resource: CompiledResource | undefined = undefined
  /** Listener filters followed by the service's: the filters this request runs through. */
  chain: readonly Filter[] = NO_FILTERS
  /** How many filters of the chain the request passed on the way in: their response hooks run on the way out. */
  passed = 0
  /** A response was decided (returned, answered by a filter, sent through the caller, or an error). */
  answered = false
  /** The response was handed to writer.ts. */
  written = false
  /** Close the connection after this response (body left unread, limits exceeded). */
  closeAfter = false
  /** A CORS preflight answered: the writer adds no CORS headers of its own. */
  corsDone = false
  /** What the resource's `validators` reported before the handler ran. */
  validators: CurrentValidators | undefined = undefined
  /** The detached socket of a WebSocket handshake (upgrade.ts); undefined for every other request. */
  upgrading: Upgrading | undefined = undefined
  /** The access log's record of this exchange, when the Listener writes one (writer.ts fills in the body). */
  exchange: LoggedExchange | undefined = undefined
  private requestIdValue: string | undefined = undefined
  private queryValue: unknown = undefined
  private stateValue: Record<string, unknown> | undefined = undefined
  private callerValue: Caller | undefined = undefined
  private abortController: AbortController | undefined = undefined

  constructor(dispatcher: Dispatcher, req: IncomingMessage, res: ServerResponse, url: string) {
    this.dispatcher = dispatcher
    this.request = req
    this.res = res
    this.method = req.method!
    this.url = url
    this.headers = req.headers
  }

  get path(): string {
    const q = this.url.indexOf('?')
    return q === -1 ? this.url : this.url.slice(0, q)
  }

  get upgrade(): 'websocket' | undefined {
    return this.upgrading === undefined ? undefined : 'websocket'
  }

  get query(): unknown {
    if (this.queryValue === undefined) {
      const parsed = parseParams(queryString(this.url))
      if (parsed === undefined)
        throw raise('X_ERR_HTTP_INVALID_PARAM', 'the query string has a malformed escape')
      this.queryValue = parsed
    }
    return this.queryValue
  }

  /** Binding sets the converted query here. */
  setQuery(value: unknown): void {
    this.queryValue = value
  }

  /** From the request's id header when it is safe to log, else generated; made on first use. */
  get requestId(): string | undefined {
    let id = this.requestIdValue
    if (id === undefined) {
      id = this.dispatcher.requestIdOf(this.request)
      this.requestIdValue = id
    }
    return id
  }

  /** The header request ids travel in (for `Client.forward()`); undefined when ids are off. */
  get requestIdHeader(): string | undefined {
    return this.dispatcher.requestIds?.header
  }

  get state(): Record<string, unknown> {
    if (this.stateValue === undefined) this.stateValue = Object.create(null) as Record<string, unknown>
    return this.stateValue
  }

  get caller(): Caller {
    if (this.callerValue === undefined) this.callerValue = new CallerImpl(this)
    return this.callerValue
  }

  get signal(): AbortSignal {
    if (this.abortController === undefined) {
      const ac = new AbortController()
      this.abortController = ac
      const res = this.res
      if (res.writableFinished) return ac.signal
      if (res.destroyed) ac.abort()
      else {
        res.once('close', () => {
          if (!res.writableFinished) ac.abort()
        })
      }
    }
    return this.abortController.signal
  }

  /** The connection's TLS facts, client certificate included; undefined in cleartext. */
  get tls(): TlsInfo | undefined {
    return tlsInfo(this.request.socket)
  }

  get clientCertificate(): TlsInfo['peerCertificate'] {
    return tlsInfo(this.request.socket)?.peerCertificate
  }

  /** Aborts `signal` from the server side: the Listener ended the response (an event stream on stop). */
  cancel(): void {
    this.abortController ??= new AbortController()
    this.abortController.abort()
  }

  next(): Next {
    return NEXT
  }
}
