// The Client's end of the chain: the handler that turns undici's callbacks into a
// ClientResponse. The body is buffered until someone reads it; text(), json() and bytes()
// read the buffer directly, and a Readable is only made when `body` is asked for.
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { ClientError, toClientError } from './errors.js'
import type { Controller, Handler, ResponseHeaders } from './internal/handler.js'

/** A Standard Schema (zod, valibot, arktype, ...): anything with a `~standard.validate`. */
export interface ResponseSchema<T> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardResult<T> | Promise<StandardResult<T>>
  }
}

type StandardResult<T> =
  | { readonly value: T; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string }> }

/** A type guard or a Standard Schema that checks a decoded JSON body. */
export type BodyCheck<T> = ((value: unknown) => value is T) | ResponseSchema<T>

// Buffered bytes before the connection is paused while nobody reads the body yet.
const HIGH_WATER = 64 * 1024

const OPEN = 0
const ENDED = 1
const FAILED = 2

type Waiter = { resolve: (b: Buffer) => void; reject: (e: Error) => void }

/** A response received by `Client`: status, headers and a body read once, as text, JSON, bytes or a stream. */
export class ClientResponse {
  /** The status code. */
  readonly status: number
  /** The reason phrase (HTTP/1.1 only; empty on HTTP/2). */
  readonly statusText: string
  /** Response headers, names in lower case; repeated fields are arrays. */
  readonly headers: IncomingHttpHeaders
  /** Trailers, once the body has ended. */
  trailers: IncomingHttpHeaders = {}
  readonly #h: ResponseHandler
  #chunks: Buffer[] = []
  #size = 0
  #state = OPEN
  #error: ClientError | null = null
  #used = false
  #stream: Readable | null = null
  #waiter: Waiter | null = null

  constructor(h: ResponseHandler, status: number, headers: ResponseHeaders, statusText: string | undefined) {
    this.#h = h
    this.status = status
    this.headers = headers as IncomingHttpHeaders
    this.statusText = statusText ?? ''
  }

  /** The URL that answered: the request's, or the last redirect's. */
  get url(): string {
    return this.#h.url()
  }

  /** Whether the body was read (or handed out as a stream). */
  get bodyUsed(): boolean {
    return this.#used
  }

  /** The body as a Node Readable (with back-pressure). Throws `X_ERR_CLIENT_BODY_USED` once text/json/bytes read it. */
  get body(): Readable {
    if (this.#stream !== null) return this.#stream
    if (this.#used) throw this.#usedError()
    this.#used = true
    const h = this.#h
    const stream = new Readable({
      highWaterMark: HIGH_WATER,
      read() {
        h.controller?.resume()
      },
    })
    this.#stream = stream
    for (const c of this.#chunks) stream.push(c)
    this.#chunks = []
    if (this.#state === ENDED) stream.push(null)
    else if (this.#state === FAILED) stream.destroy(this.#error ?? undefined)
    return stream
  }

  /** The body as bytes. */
  bytes(): Promise<Uint8Array> {
    return this.#buffer()
  }

  /** The body as text, decoded by the `charset` of `Content-Type` (UTF-8 by default). */
  async text(): Promise<string> {
    return this.#decode(await this.#buffer())
  }

  /**
   * The body parsed as JSON. Rejects with `X_ERR_CLIENT_BODY_INVALID` when it is not JSON, or
   * when `check` (a type guard or a Standard Schema) refuses it.
   */
  async json<T = unknown>(check?: BodyCheck<T>): Promise<T> {
    const text = await this.text()
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      throw this.#invalid(
        `the body is not JSON (Content-Type: ${this.headers['content-type'] ?? 'none'})`,
        cause,
      )
    }
    if (check === undefined) return value as T
    if (typeof check === 'function') {
      if (!check(value)) throw this.#invalid('the JSON body was refused by its check')
      return value
    }
    const result = await check['~standard'].validate(value)
    if (result.issues !== undefined) {
      throw this.#invalid(
        `the JSON body does not match its schema: ${result.issues.map((i) => i.message).join('; ')}`,
        result.issues,
      )
    }
    return result.value
  }

  #invalid(message: string, cause?: unknown): ClientError {
    return new ClientError('X_ERR_CLIENT_BODY_INVALID', message, {
      method: this.#h.method,
      url: this.url,
      statusCode: this.status,
      ...(cause === undefined ? {} : { cause }),
    })
  }

  #usedError(): ClientError {
    return new ClientError('X_ERR_CLIENT_BODY_USED', 'the body was already read', {
      method: this.#h.method,
      url: this.url,
      statusCode: this.status,
    })
  }

  #decode(buf: Buffer): string {
    const type = this.headers['content-type']
    const charset = type === undefined ? undefined : charsetOf(type)
    if (charset === undefined || charset === 'utf-8' || charset === 'utf8') {
      // Like fetch: a UTF-8 byte order mark is not part of the text.
      const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0
      return buf.toString('utf8', start)
    }
    try {
      return new TextDecoder(charset).decode(buf)
    } catch (cause) {
      throw this.#invalid(`unknown charset "${charset}"`, cause)
    }
  }

  #buffer(): Promise<Buffer> {
    if (this.#used) return Promise.reject(this.#usedError())
    this.#used = true
    if (this.#state === ENDED) return Promise.resolve(this.#take())
    if (this.#state === FAILED) return Promise.reject(this.#error)
    return new Promise<Buffer>((resolve, reject) => {
      this.#waiter = { resolve, reject }
      this.#h.controller?.resume()
    })
  }

  #take(): Buffer {
    const chunks = this.#chunks
    this.#chunks = []
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size)
  }

  /** @internal a body chunk arrived. */
  push(chunk: Buffer): void {
    this.#size += chunk.length
    const stream = this.#stream
    if (stream !== null) {
      if (!stream.push(chunk)) this.#h.controller?.pause()
      return
    }
    this.#chunks.push(chunk)
    if (this.#waiter === null && this.#size > HIGH_WATER) this.#h.controller?.pause()
  }

  /** @internal the body ended. */
  end(trailers: ResponseHeaders): void {
    this.#state = ENDED
    this.trailers = trailers as IncomingHttpHeaders
    if (this.#stream !== null) this.#stream.push(null)
    const w = this.#waiter
    if (w !== null) {
      this.#waiter = null
      w.resolve(this.#take())
    }
  }

  /** @internal the body failed. */
  fail(err: ClientError): void {
    this.#state = FAILED
    this.#error = err
    this.#chunks = []
    if (this.#stream !== null) this.#stream.destroy(err)
    const w = this.#waiter
    if (w !== null) {
      this.#waiter = null
      w.reject(err)
    }
  }

  /** @internal bytes received so far. */
  get received(): number {
    return this.#size
  }
}

function charsetOf(contentType: string): string | undefined {
  const i = contentType.toLowerCase().indexOf('charset=')
  if (i === -1) return undefined
  let v = contentType.slice(i + 8)
  const semi = v.indexOf(';')
  if (semi !== -1) v = v.slice(0, semi)
  v = v.trim()
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1)
  return v.toLowerCase()
}

/** The handler at the end of the Client's chain: resolves with a ClientResponse, or rejects with a ClientError. */
/** Receives an interim (1xx) response: its status and its header fields, lower-case names. */
export type InformationalListener = (
  statusCode: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
) => void

export class ResponseHandler implements Handler {
  controller: Controller | null = null
  response: ClientResponse | null = null
  history: string[] | null = null
  /** The context of a balancer below, whose `url` is where it sent the request (read only when needed). */
  sentTo: { readonly url: string } | null = null
  resolve!: (r: ClientResponse) => void
  reject!: (e: Error) => void
  readonly promise: Promise<ClientResponse>
  #signal: AbortSignal | undefined
  #done = false
  /** Told of each interim (1xx) response; without it they are dropped. */
  informational: InformationalListener | undefined = undefined

  constructor(
    readonly method: string,
    readonly origin: string,
    readonly path: string,
    readonly maxBodySize: number,
    signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<ClientResponse>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    if (signal !== undefined) {
      this.#signal = signal
      signal.addEventListener('abort', this)
    }
  }

  url(): string {
    const h = this.history
    if (h !== null) return h[h.length - 1]!
    return this.sentTo?.url ?? `${this.origin}${this.path}`
  }

  /** The caller's AbortSignal fired. */
  handleEvent(): void {
    const signal = this.#signal
    if (signal === undefined) return
    const err = new ClientError('X_ERR_CLIENT_ABORTED', 'the request was aborted', {
      method: this.method,
      url: this.url(),
      cause: signal.reason,
    })
    if (this.controller !== null) this.controller.abort(err)
    else this.onResponseError(null, err)
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.controller = controller
    if (context !== undefined && context !== null) {
      const c = context as { history?: unknown; url?: unknown }
      if (Array.isArray(c.history)) this.history = c.history as string[]
      // `in`, not a read: a balancer's context builds its URL string only when asked.
      if ('url' in c) this.sentTo = c as { readonly url: string }
    }
  }

  onResponseStart(_c: Controller, statusCode: number, headers: ResponseHeaders, message?: string): void {
    if (this.#done) return
    // An interim response (103 Early Hints, 102 Processing) comes before the final one.
    if (statusCode < 200) {
      this.informational?.(statusCode, headers)
      return
    }
    const res = new ClientResponse(this, statusCode, headers, message)
    this.response = res
    this.resolve(res)
  }

  onResponseData(c: Controller, chunk: Buffer): void {
    const res = this.response
    if (this.#done || res === null) return
    if (res.received + chunk.length > this.maxBodySize) {
      c.abort(
        new ClientError('X_ERR_CLIENT_BODY_TOO_LARGE', `the body exceeds ${this.maxBodySize} bytes`, {
          method: this.method,
          url: this.url(),
          statusCode: res.status,
        }),
      )
      return
    }
    res.push(chunk)
  }

  onResponseEnd(_c: Controller, trailers: ResponseHeaders): void {
    if (this.#done) return
    this.#done = true
    this.#unlisten()
    if (this.response === null) {
      // A response with no head cannot end; keep the caller from hanging all the same.
      this.reject(new ClientError('X_ERR_CLIENT_PROTOCOL', 'the response ended before its head'))
      return
    }
    this.response.end(trailers)
  }

  onResponseError(_c: Controller | null, err: Error): void {
    if (this.#done) return
    this.#done = true
    this.#unlisten()
    const e = toClientError(err, this.method, this.url())
    if (this.response === null) this.reject(e)
    else this.response.fail(e)
  }

  #unlisten(): void {
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener('abort', this)
      this.#signal = undefined
    }
  }
}
