// Server-Sent Events on the Listener: a resource declared with `sse` returns an async iterable
// of events, written as text/event-stream (HTML §9.2) one event per write, with a comment
// heartbeat on silence. The iterator is returned when the client leaves or the Listener stops.

import type { OutgoingHttpHeaders } from 'node:http'
import { configError } from '../errors.js'
import type { RequestContext } from './context.js'

/** One event a resource yields (a bare string is `{ data: string }`). */
export interface ServerSentEvent {
  /** The payload: a string (sent line by line), or any other value sent as JSON. */
  readonly data?: unknown
  /** The event type (`addEventListener(type)` in a browser); no CR or LF. */
  readonly event?: string
  /** The event ID the client sends back as `Last-Event-ID` when it reconnects; no CR, LF or NUL. */
  readonly id?: string | number
  /** The reconnection time the client should use, in ms. */
  readonly retry?: number
  /** A comment line: ignored by clients, useful to keep proxies from timing out. */
  readonly comment?: string
}

/** Options of an SSE resource (`sse: { heartbeat }`). */
export interface SseResourceOptions {
  /** Send a comment line after this many ms without an event; 0 sends none. @defaultValue 15000 */
  readonly heartbeat?: number
}

/** A compiled `sse` declaration. */
export interface SsePlan {
  readonly heartbeat: number
}

/** Compiles a resource's `sse` option. */
export function compileSse(value: unknown, at: string): SsePlan | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return { heartbeat: 15_000 }
  if (typeof value !== 'object' || value === null) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: sse must be a boolean or { heartbeat }`)
  }
  for (const key of Object.keys(value)) {
    if (key !== 'heartbeat')
      throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: sse has an unknown option ${key}`)
  }
  const heartbeat = (value as SseResourceOptions).heartbeat ?? 15_000
  if (!Number.isInteger(heartbeat) || heartbeat < 0 || heartbeat > 2_147_483_647) {
    throw configError(
      'X_ERR_HTTP_INVALID_SERVICE',
      `${at}: sse heartbeat must be a non-negative integer (ms)`,
    )
  }
  return { heartbeat }
}

/** True for what an SSE resource streams as events: anything async-iterable. */
export function isEventSource(body: object): body is AsyncIterable<unknown> {
  return typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
}

function invalidEvent(message: string): TypeError {
  const e = new TypeError(message) as TypeError & { code: string }
  e.code = 'X_ERR_HTTP_INVALID_EVENT'
  return e
}

function hasLineBreak(s: string, nul: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 10 || c === 13 || (nul && c === 0)) return true
  }
  return false
}

/** Appends `prefix` + each line of `text` (CRLF, CR and LF all end a line, as clients read them). */
function lines(prefix: string, text: string): string {
  let out = ''
  let start = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || c === 13) {
      out += `${prefix}${text.slice(start, i)}\n`
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++
      start = i + 1
    }
  }
  return `${out}${prefix}${text.slice(start)}\n`
}

/**
 * Encodes one event as the HTML standard's event stream reads it back. Throws a TypeError
 * (code `X_ERR_HTTP_INVALID_EVENT`) for a field a client would misread: a line break in the
 * event type or ID, a NUL in the ID, a retry that is not a non-negative integer.
 */
export function encodeEvent(value: unknown): string {
  if (typeof value === 'string') return `${lines('data: ', value)}\n`
  if (typeof value !== 'object' || value === null)
    throw invalidEvent('an event must be an object or a string')
  const ev = value as ServerSentEvent
  let out = ''
  if (ev.comment !== undefined) out += lines(': ', String(ev.comment))
  if (ev.event !== undefined) {
    if (typeof ev.event !== 'string' || hasLineBreak(ev.event, false)) {
      throw invalidEvent('an event type must be a string without CR or LF')
    }
    out += `event: ${ev.event}\n`
  }
  if (ev.id !== undefined) {
    const id = typeof ev.id === 'number' ? String(ev.id) : ev.id
    if (typeof id !== 'string' || hasLineBreak(id, true))
      throw invalidEvent('an event id must be a string without CR, LF or NUL')
    out += `id: ${id}\n`
  }
  if (ev.retry !== undefined) {
    if (!Number.isInteger(ev.retry) || ev.retry < 0)
      throw invalidEvent('retry must be a non-negative integer (ms)')
    out += `retry: ${ev.retry}\n`
  }
  if (ev.data !== undefined) {
    const data = typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data)
    if (data === undefined) throw invalidEvent('event data cannot be serialised')
    out += lines('data: ', data)
  }
  return `${out}\n`
}

const HEARTBEAT = ':\n\n'

/** One open event stream; the Listener ends every one of them on graceful stop. */
export class EventStreamWriter {
  private readonly iterator: AsyncIterator<unknown>
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  private waitingDrain: (() => void) | undefined

  constructor(
    private readonly ctx: RequestContext,
    source: AsyncIterable<unknown>,
    private readonly heartbeat: number,
  ) {
    this.iterator = source[Symbol.asyncIterator]()
  }

  /** Writes the head (`h` already carries CORS and the caller's headers) and starts pumping. */
  start(status: number, h: OutgoingHttpHeaders): void {
    const res = this.ctx.res
    h['content-type'] ??= 'text/event-stream'
    h['cache-control'] ??= 'no-cache'
    delete h['content-length']
    delete h['content-encoding']
    res.writeHead(status, h)
    if (this.ctx.method === 'HEAD') {
      res.end()
      this.finish()
      return
    }
    // Sends the head now: the client's EventSource opens before the first event.
    res.flushHeaders()
    this.ctx.dispatcher.eventStreams.add(this)
    res.once('close', () => this.finish())
    if (this.heartbeat > 0) {
      this.timer = setTimeout(() => this.beat(), this.heartbeat)
      this.timer.unref?.()
    }
    void this.pump()
  }

  /** Returns the iterator without writing anything (the response went another way). */
  discard(): void {
    this.finish()
  }

  /** Ends the stream from the server side (graceful stop): the client sees a clean end and reconnects elsewhere. */
  stop(): void {
    const res = this.ctx.res
    if (!res.writableEnded && !res.destroyed) res.end()
    this.finish()
  }

  private beat(): void {
    const res = this.ctx.res
    if (this.closed || res.writableEnded || res.destroyed) return
    res.write(HEARTBEAT)
    this.timer?.refresh()
  }

  private async pump(): Promise<void> {
    const res = this.ctx.res
    try {
      for (;;) {
        const step = await this.iterator.next()
        if (this.closed) return
        if (step.done === true) {
          res.end()
          this.finish(false)
          return
        }
        const chunk = encodeEvent(step.value)
        this.timer?.refresh()
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            this.waitingDrain = resolve
            res.once('drain', resolve)
          })
          this.waitingDrain = undefined
          if (this.closed) return
        }
      }
    } catch (e) {
      if (this.closed) return
      // A throwing iterator is finished already; an event that does not encode leaves it open.
      this.finish((e as { code?: unknown } | null)?.code === 'X_ERR_HTTP_INVALID_EVENT')
      this.ctx.dispatcher.streamFailed(this.ctx, e)
    }
  }

  /** Stops the heartbeat, forgets the stream and returns the iterator unless it finished (once). */
  private finish(returnIterator = true): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.ctx.dispatcher.eventStreams.delete(this)
    const wake = this.waitingDrain
    if (wake !== undefined) {
      this.ctx.res.off('drain', wake)
      wake()
    }
    // A generator parked on ctx.signal wakes up, so the return below can run.
    if (returnIterator) this.ctx.cancel()
    const ret = this.iterator.return
    if (returnIterator && typeof ret === 'function') {
      // A generator parked on an await finishes it first; its finally blocks run then.
      Promise.resolve()
        .then(() => ret.call(this.iterator))
        .catch(() => undefined)
    }
  }
}
