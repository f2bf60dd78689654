// The base of every Client interceptor's handler: it forwards undici's controller-API calls
// to the next handler and stands as the stable controller that handler sees, whatever
// attempt or hop is running underneath. Subclasses override the steps they change.
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

export type Controller = Dispatcher.DispatchController
export type Handler = Dispatcher.DispatchHandler
export type DispatchOptions = Dispatcher.DispatchOptions
export type Dispatch = Dispatcher.Dispatch
export type Interceptor = Dispatcher.DispatcherComposeInterceptor
export type ResponseHeaders = Parameters<NonNullable<Handler['onResponseStart']>>[2]
export type RawHeaders = NonNullable<Controller['rawHeaders']> | null

export class ForwardingHandler implements Handler, Controller {
  /** The controller of what runs underneath (the current attempt or hop). */
  target: Controller | null = null
  #paused = false
  #aborted = false
  #reason: Error | null = null

  constructor(readonly handler: Handler) {}

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
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    // Without a target yet, onRequestStart passes the abort on when one arrives.
    this.target?.abort(reason)
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.target = controller
    if (this.#aborted) {
      controller.abort(this.#reason as Error)
      return
    }
    if (this.#paused) controller.pause()
    this.handler.onRequestStart?.(this, context)
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    socket: Duplex,
  ): void {
    this.handler.onRequestUpgrade?.(this, statusCode, headers, socket)
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    this.handler.onResponseStart?.(this, statusCode, headers, message)
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.handler.onResponseData?.(this, chunk)
  }

  onResponseEnd(_controller: Controller, trailers: ResponseHeaders): void {
    this.handler.onResponseEnd?.(this, trailers)
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.handler.onResponseError?.(this, err)
  }
}
