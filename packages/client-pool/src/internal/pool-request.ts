// One request's passage through the pool: it waits in the origin's queue (with its wait
// timer), then runs on a connection. It is both the handler undici calls and the stable
// controller the caller's handler sees from the moment of dispatch, so an abort works at
// once even while the request is still waiting for a connection.
import type { Dispatcher } from 'undici'
import type { Connection, OriginPool } from './origin-pool.js'

type Controller = Dispatcher.DispatchController
type RawHeaders = NonNullable<Controller['rawHeaders']> | null
type Handler = Dispatcher.DispatchHandler
type IncomingHttpHeaders = Parameters<NonNullable<Handler['onResponseStart']>>[2]

export const NEW = 0
export const QUEUED = 1
export const RUNNING = 2
export const DONE = 3

export class PoolRequest implements Controller, Handler {
  // Links of the origin's wait queue (an intrusive list: no allocation per wait).
  prev: PoolRequest | null = null
  next: PoolRequest | null = null
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  state = NEW
  conn: Connection | null = null
  /** undici's controller for the running attempt, once undici has started it. */
  target: Controller | null = null
  #paused = false
  #aborted = false
  #reason: Error | null = null

  constructor(
    readonly pool: OriginPool,
    readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Handler,
  ) {}

  // --- the controller the caller's handler sees ---

  get paused(): boolean {
    return this.#paused
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get reason(): Error | null {
    return this.#reason
  }

  get rawHeaders(): RawHeaders {
    return this.target?.rawHeaders ?? null
  }

  get rawTrailers(): RawHeaders {
    return this.target?.rawTrailers ?? null
  }

  pause(): void {
    this.#paused = true
    this.target?.pause()
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.target?.resume()
  }

  abort(reason: Error): void {
    if (this.#aborted || this.state === DONE) return
    this.#aborted = true
    this.#reason = reason
    if (this.state === QUEUED) {
      this.pool.drop(this)
      this.fail(reason)
    } else if (this.target !== null) {
      this.target.abort(reason)
    } else if (this.state === RUNNING) {
      // Handed to undici but not started yet (undici starts it when the socket is free):
      // answer the caller now; undici aborts it when it starts (see onRequestStart).
      this.state = DONE
      this.handler.onResponseError?.(this, reason)
    }
  }

  /** Ends the request with `err` before undici has it (wait timeout, abort while queued, closed pool). */
  fail(err: Error): void {
    if (this.state === DONE) return
    this.state = DONE
    this.handler.onResponseError?.(this, err)
  }

  // --- the handler undici calls ---

  onRequestStart(controller: Controller, _context: unknown): void {
    this.target = controller
    if (this.#aborted) {
      controller.abort(this.#reason ?? new Error('aborted'))
      return
    }
    if (this.#paused) controller.pause()
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: import('node:stream').Duplex,
  ): void {
    this.release()
    if (this.state === DONE) return
    this.state = DONE
    this.handler.onRequestUpgrade?.(this, statusCode, headers, socket)
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    message?: string,
  ): void {
    if (this.state === DONE) return
    this.handler.onResponseStart?.(this, statusCode, headers, message)
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.state === DONE) return
    this.handler.onResponseData?.(this, chunk)
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    this.release()
    if (this.state === DONE) return
    this.state = DONE
    this.handler.onResponseEnd?.(this, trailers)
  }

  onResponseError(_controller: Controller, err: Error): void {
    // undici may be failing every request of a connection in one loop; handing the slot to
    // the next request inside that loop would put it on the failing connection mid-loop.
    this.releaseLater()
    if (this.state === DONE) return
    this.state = DONE
    this.handler.onResponseError?.(this, err)
  }

  releaseLater(): void {
    const conn = this.conn
    if (conn !== null) {
      this.conn = null
      queueMicrotask(() => this.pool.release(conn))
    }
  }

  /** Gives the connection slot back, once. */
  release(): void {
    const conn = this.conn
    if (conn !== null) {
      this.conn = null
      this.pool.release(conn)
    }
  }
}
