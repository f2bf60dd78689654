// The controller the caller's handler sees whenever the cache may answer: it serves a
// stored body chunk by chunk (pause, resume and abort work as on a socket) or forwards
// an origin response, switching from one to the other when a revalidation decides.

import type { Dispatcher } from 'undici'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController

const NO_TRAILERS = Object.freeze({}) as Record<string, string>

export class ClientStream implements Controller {
  readonly handler: Handler
  /** The origin request's controller while the origin is the source. */
  upstream: Controller | null = null
  /** The body comes from the cache (pause/abort stay here) rather than the origin. */
  cached = false
  started = false
  responded = false
  done = false
  #paused = false
  #aborted = false
  #reason: Error | null = null
  #chunks: readonly Buffer[] = []
  #index = 0
  #pumping = false

  constructor(handler: Handler) {
    this.handler = handler
  }

  get paused(): boolean {
    return this.#paused
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get reason(): Error | null {
    return this.#reason
  }

  pause(): void {
    this.#paused = true
    if (!this.cached) this.upstream?.pause()
  }

  resume(): void {
    this.#paused = false
    if (this.cached) this.#pump()
    else this.upstream?.resume()
  }

  abort(reason?: Error): void {
    if (this.#aborted || this.done) return
    this.#aborted = true
    this.#reason = reason ?? new Error('request aborted')
    if (!this.cached) this.upstream?.abort(this.#reason)
    else if (this.responded && !this.#pumping) this.fail(this.#reason)
  }

  /** Delivers onRequestStart once. */
  start(context: unknown): void {
    if (this.started) return
    this.started = true
    this.handler.onRequestStart?.(this, context)
  }

  /** Answers from the cache: status, headers and the stored chunks (none for HEAD). */
  serve(
    status: number,
    headers: Record<string, string | string[]>,
    message: string,
    chunks: readonly Buffer[],
  ): void {
    this.cached = true
    try {
      this.start(null)
      if (this.#aborted) {
        this.fail(this.#reason!)
        return
      }
      this.responded = true
      this.handler.onResponseStart?.(this, status, headers, message)
      if (this.#aborted) {
        this.fail(this.#reason!)
        return
      }
    } catch (err) {
      this.fail(err as Error)
      return
    }
    this.#chunks = chunks
    this.#pump()
  }

  #pump(): void {
    if (this.#pumping || this.done || !this.responded) return
    this.#pumping = true
    const chunks = this.#chunks
    try {
      while (!this.#paused && !this.#aborted && this.#index < chunks.length) {
        this.handler.onResponseData?.(this, chunks[this.#index++]!)
      }
    } catch (err) {
      this.#pumping = false
      this.fail(err as Error)
      return
    }
    this.#pumping = false
    if (this.#aborted) this.fail(this.#reason!)
    else if (this.#index >= chunks.length && !this.#paused) this.end(NO_TRAILERS)
  }

  /** Passes an interim (1xx) response on, before the final one. */
  informational(
    status: number,
    headers: Record<string, string | string[] | undefined>,
    message: string,
  ): void {
    if (this.responded || this.done) return
    this.handler.onResponseStart?.(this, status, headers as Record<string, string | string[]>, message)
  }

  /** Forwards the origin's response head. */
  forwardStart(
    status: number,
    headers: Record<string, string | string[] | undefined>,
    message: string,
  ): void {
    this.responded = true
    this.handler.onResponseStart?.(this, status, headers as Record<string, string | string[]>, message)
  }

  forwardData(chunk: Buffer): void {
    if (!this.done) this.handler.onResponseData?.(this, chunk)
  }

  end(trailers: Record<string, string | string[] | undefined>): void {
    if (this.done) return
    this.done = true
    try {
      this.handler.onResponseEnd?.(this, trailers as Record<string, string | string[]>)
    } catch (err) {
      this.done = false
      this.fail(err as Error)
    }
  }

  fail(err: Error): void {
    if (this.done) return
    this.done = true
    try {
      this.handler.onResponseError?.(this, err)
    } catch {
      // The caller's error callback threw while being told of an error: nothing is left to tell.
    }
  }
}
