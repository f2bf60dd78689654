// `client.sse(path)`: Server-Sent Events as an async iterable, reconnecting the way a browser's
// EventSource does (Last-Event-ID, the server's `retry`), with a bound on consecutive failed
// attempts, back-pressure on the connection, and close() / an AbortSignal to stop.
import { channel } from 'node:diagnostics_channel'
import { ClientError, toClientError } from './errors.js'
import type { Controller, Handler, ResponseHeaders } from './internal/handler.js'
import { EventStreamParser, EventTooLarge, type SseEvent } from './sse-parser.js'

/** Options of `client.sse(path, options)`. */
export interface EventStreamOptions {
  /** Headers of every connection (Accept, Cache-Control and Last-Event-ID are set by the stream). */
  headers?: Readonly<Record<string, string | number | readonly string[] | undefined>>
  /** Stops the stream: iteration then rejects with `X_ERR_CLIENT_ABORTED`. */
  signal?: AbortSignal
  /** The ID to resume from: sent as `Last-Event-ID` on the first connection too. */
  lastEventId?: string
  /** The reconnection time until the server sends `retry`, in ms. @defaultValue 3000 */
  retry?: number
  /** Consecutive failed reconnection attempts before giving up; 0 never reconnects. @defaultValue 5 */
  maxReconnects?: number
  /** Largest line or event, in characters; a larger one fails the stream (`X_ERR_CLIENT_SSE_EVENT_TOO_LARGE`). @defaultValue 1048576 */
  maxEventSize?: number
  /** Longest silence (no event, no heartbeat) before the connection counts as dropped, in ms; 0 for none. @defaultValue the Client's `bodyTimeout` */
  idleTimeout?: number
}

/** What the Client gives a stream: one connection attempt with these extra headers. */
export type SseConnect = (headers: string[], idleTimeout: number, handler: Handler) => void

const reconnectChannel = channel('x:http:client:sse-reconnect')

// Events queued before the connection is paused until the consumer catches up.
const HIGH_WATER = 64
// A run of failed attempts backs off from the reconnection time up to this (or the reconnection time, if longer).
const MAX_BACKOFF_MS = 30_000
const MAX_TIMER_MS = 2_147_483_647

type State = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed'

/**
 * A stream of Server-Sent Events: `for await (const e of client.sse('/events'))`. It connects
 * on the first `next()`, reconnects after a dropped connection (sending `Last-Event-ID`,
 * waiting the server's `retry`), and ends on `close()`, a `break`, or a 204 from the server.
 */
export class EventStream implements AsyncIterableIterator<SseEvent> {
  /** The stream's URL. */
  readonly url: string
  #lastEventId: string
  #retry: number
  readonly #connect: SseConnect
  readonly #maxReconnects: number
  readonly #maxEventSize: number
  readonly #idleTimeout: number
  readonly #signal: AbortSignal | undefined
  #state: State = 'idle'
  #queue: SseEvent[] = []
  #waiter: { resolve: (r: IteratorResult<SseEvent>) => void; reject: (e: Error) => void } | null = null
  #failure: ClientError | null = null
  #attempts = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #current: SseHandler | null = null

  /** @internal built by `Client.sse()`, which validates the options. */
  constructor(
    url: string,
    connect: SseConnect,
    options: Required<Omit<EventStreamOptions, 'headers' | 'signal'>> & { signal?: AbortSignal | undefined },
  ) {
    this.url = url
    this.#connect = connect
    this.#lastEventId = options.lastEventId
    this.#retry = options.retry
    this.#maxReconnects = options.maxReconnects
    this.#maxEventSize = options.maxEventSize
    this.#idleTimeout = options.idleTimeout
    this.#signal = options.signal
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.#abort()
      else options.signal.addEventListener('abort', this.#onAbort, { once: true })
    }
  }

  /** The last event ID received (or given as `lastEventId`): what a reconnection sends. */
  get lastEventId(): string {
    return this.#lastEventId
  }

  /** The reconnection time in ms: the `retry` option, then the server's latest `retry` field. */
  get retry(): number {
    return this.#retry
  }

  /** Whether the stream ended (closed, aborted, failed, or told to stop by a 204). */
  get closed(): boolean {
    return this.#state === 'closed'
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<SseEvent>> {
    const ev = this.#queue.shift()
    if (ev !== undefined) {
      if (this.#queue.length === HIGH_WATER >> 1) this.#current?.controller?.resume()
      return Promise.resolve({ value: ev, done: false })
    }
    if (this.#state === 'closed') {
      const failure = this.#failure
      if (failure !== null) {
        this.#failure = null
        return Promise.reject(failure)
      }
      return Promise.resolve({ value: undefined, done: true })
    }
    if (this.#waiter !== null) {
      return Promise.reject(
        new ClientError(
          'X_ERR_CLIENT_INVALID_REQUEST',
          'next() was called while another next() was pending',
          {
            url: this.url,
          },
        ),
      )
    }
    const pending = new Promise<IteratorResult<SseEvent>>((resolve, reject) => {
      this.#waiter = { resolve, reject }
    })
    if (this.#state === 'idle') this.#open()
    return pending
  }

  /** Ends the stream (what `break` in a `for await` calls). */
  return(): Promise<IteratorResult<SseEvent>> {
    this.close()
    return Promise.resolve({ value: undefined, done: true })
  }

  /** Closes the connection and ends the iteration; events not yet read are dropped. */
  close(): void {
    this.#finish(null, true)
  }

  #onAbort = (): void => {
    this.#abort()
  }

  #abort(): void {
    this.#finish(
      new ClientError('X_ERR_CLIENT_ABORTED', 'the event stream was aborted', {
        method: 'GET',
        url: this.url,
        cause: this.#signal?.reason,
      }),
      true,
    )
  }

  /**
   * Ends the stream: `failure` is what the pending or next `next()` rejects with, once the
   * events already received are read (unless `drop`: close() and abort drop them).
   */
  #finish(failure: ClientError | null, drop = false): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    if (drop) this.#queue = []
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
    const current = this.#current
    this.#current = null
    current?.stop()
    const w = this.#waiter
    this.#waiter = null
    if (w === null) this.#failure = failure
    else if (failure !== null) w.reject(failure)
    else w.resolve({ value: undefined, done: true })
  }

  #open(): void {
    this.#state = 'connecting'
    const handler = new SseHandler(this)
    this.#current = handler
    const headers = ['accept', 'text/event-stream', 'cache-control', 'no-cache']
    // Header values are Latin-1 on the wire; an ID is any string, so it travels as UTF-8 bytes.
    if (this.#lastEventId.length !== 0) {
      headers.push('last-event-id', Buffer.from(this.#lastEventId, 'utf8').toString('latin1'))
    }
    try {
      this.#connect(headers, this.#idleTimeout, handler)
    } catch (err) {
      handler.onResponseError(null, err as Error)
    }
  }

  /** @internal the response head arrived. */
  opened(h: SseHandler, status: number, headers: ResponseHeaders): boolean {
    if (h !== this.#current) return false
    if (status === 204) {
      // HTML §9.2.3: a 204 tells the client to stop reconnecting.
      this.#finish(null)
      return false
    }
    const type = headers['content-type']
    const essence = (Array.isArray(type) ? type[0] : type)?.split(';')[0]?.trim().toLowerCase()
    if (status !== 200 || essence !== 'text/event-stream') {
      this.#finish(
        new ClientError(
          'X_ERR_CLIENT_SSE_REFUSED',
          `the server answered ${status} ${essence ?? 'without a Content-Type'}, not 200 text/event-stream`,
          { method: 'GET', url: this.url, statusCode: status },
        ),
      )
      return false
    }
    this.#state = 'open'
    this.#attempts = 0
    h.parser = new EventStreamParser(
      this.#lastEventId,
      (ev) => this.#deliver(h, ev),
      (ms) => {
        this.#retry = Math.min(ms, MAX_TIMER_MS)
      },
      this.#maxEventSize,
    )
    return true
  }

  #deliver(h: SseHandler, ev: SseEvent): void {
    if (h !== this.#current) return
    this.#lastEventId = ev.id
    const w = this.#waiter
    if (w !== null) {
      this.#waiter = null
      w.resolve({ value: ev, done: false })
      return
    }
    this.#queue.push(ev)
    if (this.#queue.length === HIGH_WATER) h.controller?.pause()
  }

  /** @internal a line or event was too large: the server is not one to reconnect to. */
  tooLarge(h: SseHandler): void {
    if (h !== this.#current) return
    this.#finish(
      new ClientError(
        'X_ERR_CLIENT_SSE_EVENT_TOO_LARGE',
        `an event is larger than ${this.#maxEventSize} characters`,
        {
          method: 'GET',
          url: this.url,
        },
      ),
    )
  }

  /** @internal the connection ended (cleanly, or with `err`): reconnect, or give up. */
  dropped(h: SseHandler, err: Error | null): void {
    if (h !== this.#current || this.#state === 'closed') return
    this.#current = null
    if (h.parser !== null) this.#lastEventId = h.parser.lastEventId
    const failure = err === null ? null : toClientError(err, 'GET', this.url)
    if (this.#attempts >= this.#maxReconnects) {
      this.#finish(failure)
      return
    }
    this.#attempts++
    const base = this.#retry
    const delay = Math.min(base * 2 ** (this.#attempts - 1), Math.max(base, MAX_BACKOFF_MS), MAX_TIMER_MS)
    if (reconnectChannel.hasSubscribers) {
      reconnectChannel.publish({
        url: this.url,
        attempt: this.#attempts,
        delayMs: delay,
        lastEventId: this.#lastEventId,
        error: failure,
      })
    }
    this.#state = 'waiting'
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#state === 'waiting') this.#open()
    }, delay)
  }
}

/** The undici handler of one connection attempt. */
class SseHandler implements Handler {
  controller: Controller | null = null
  parser: EventStreamParser | null = null
  #stopped = false

  constructor(private readonly stream: EventStream) {}

  /** Closes this connection from our side; nothing it reports afterwards counts. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.controller?.abort(new ClientError('X_ERR_CLIENT_ABORTED', 'the event stream was closed'))
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller
    if (this.#stopped)
      controller.abort(new ClientError('X_ERR_CLIENT_ABORTED', 'the event stream was closed'))
  }

  onResponseStart(_c: Controller, status: number, headers: ResponseHeaders): void {
    if (this.#stopped) return
    if (!this.stream.opened(this, status, headers)) this.stop()
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    const parser = this.parser
    if (this.#stopped || parser === null) return
    try {
      parser.push(chunk)
    } catch (e) {
      if (!(e instanceof EventTooLarge)) throw e
      this.stream.tooLarge(this)
    }
  }

  onResponseEnd(): void {
    if (this.#stopped) return
    this.#stopped = true
    try {
      this.parser?.end()
    } catch {
      // What is left at the end is discarded anyway (HTML §9.2.6).
    }
    this.stream.dropped(this, null)
  }

  onResponseError(_c: Controller | null, err: Error): void {
    if (this.#stopped) return
    this.#stopped = true
    this.stream.dropped(this, err)
  }
}
