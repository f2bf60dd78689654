// Lets callers that still speak undici's legacy handler protocol (`onConnect`, `onHeaders`,
// ...: undici's own `request()` and `fetch()` do) use the pool, which speaks the controller
// protocol. Raw headers come from the controller, so nothing is re-serialised.
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController
type Handler = Dispatcher.DispatchHandler
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2]

function toRaw(headers: Headers | null | undefined): Buffer[] {
  const raw: Buffer[] = []
  if (headers == null) return raw
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value))
      for (const v of value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(v, 'latin1'))
    else raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(value), 'latin1'))
  }
  return raw
}

function rawOf(value: Controller['rawHeaders'], parsed: Headers | null | undefined): Buffer[] {
  return Array.isArray(value) && (value.length === 0 || Buffer.isBuffer(value[0]))
    ? (value as Buffer[])
    : toRaw(parsed)
}

export class LegacyHandler implements Handler {
  #controller: Controller | null = null

  constructor(readonly legacy: Handler) {}

  #resume = (): void => {
    this.#controller?.resume()
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#controller = controller
    this.legacy.onConnect?.((reason?: Error) => controller.abort(reason ?? new Error('aborted')))
    void context
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.legacy.onUpgrade?.(statusCode, rawOf(controller.rawHeaders, headers), socket)
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, message?: string): void {
    const raw = rawOf(controller.rawHeaders, headers)
    if (this.legacy.onHeaders?.(statusCode, raw, this.#resume, message ?? '') === false) controller.pause()
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.legacy.onData?.(chunk) === false) controller.pause()
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.legacy.onComplete?.(rawOf(controller.rawTrailers, trailers) as unknown as string[])
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (typeof this.legacy.onError !== 'function') throw err
    this.legacy.onError(err)
  }
}
