// The outermost step: one overall time limit for a request, covering every redirect hop,
// retry wait and attempt, and the body. It answers on time even when nothing underneath
// can be aborted yet (a request still queued below), then cancels what runs.
import { ClientError } from './errors.js'
import {
  type Controller,
  type DispatchOptions,
  ForwardingHandler,
  type Handler,
  type Interceptor,
  type ResponseHeaders,
} from './internal/handler.js'
import { DEADLINE } from './internal/symbols.js'
import { MAX_TIMER_MS } from './options.js'

/** Options of {@link deadline}. */
export interface DeadlineOptions {
  /** Milliseconds from dispatch to the end of the response body; 0 for none (a request may still set its own). */
  timeout: number
}

function expire(h: DeadlineHandler): void {
  h.timer = undefined
  if (h.done) return
  h.done = true
  const err = new ClientError('X_ERR_CLIENT_DEADLINE', `no complete response within ${h.ms} ms`, {
    method: h.opts.method,
    url: `${h.opts.origin ?? ''}${h.opts.path}`,
  })
  h.target?.abort(err)
  h.handler.onResponseError?.(h, err)
}

class DeadlineHandler extends ForwardingHandler {
  timer: ReturnType<typeof setTimeout> | undefined
  done = false

  constructor(
    handler: Handler,
    readonly ms: number,
    readonly opts: DispatchOptions,
  ) {
    super(handler)
    this.timer = setTimeout(expire, ms, this)
    this.timer.unref()
  }

  override onRequestStart(controller: Controller, context: unknown): void {
    if (this.done) {
      controller.abort(new ClientError('X_ERR_CLIENT_DEADLINE', 'deadline passed before the request started'))
      return
    }
    super.onRequestStart(controller, context)
  }

  override onResponseStart(
    c: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    if (!this.done) super.onResponseStart(c, statusCode, headers, message)
  }

  override onResponseData(c: Controller, chunk: Buffer): void {
    if (!this.done) super.onResponseData(c, chunk)
  }

  override onResponseEnd(c: Controller, trailers: ResponseHeaders): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    super.onResponseEnd(c, trailers)
  }

  override onResponseError(c: Controller, err: Error): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    super.onResponseError(c, err)
  }
}

/** Checks a timeout value the way every @x/http time option is checked. */
function validTimeout(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIMER_MS
}

/**
 * An interceptor that fails a request with `X_ERR_CLIENT_DEADLINE` when its response has not
 * fully arrived within `timeout` ms, whatever the steps below it are doing (waiting for a
 * connection, between retries, following redirects).
 */
export function deadline(options: DeadlineOptions): Interceptor {
  if (typeof options !== 'object' || options === null || !validTimeout(options.timeout)) {
    throw new ClientError(
      'X_ERR_CLIENT_INVALID_OPTION',
      `timeout must be an integer from 0 to ${MAX_TIMER_MS}`,
      {
        option: 'timeout',
      },
    )
  }
  const timeout = options.timeout
  return (dispatch) =>
    function deadlineDispatch(opts: DispatchOptions, handler: Handler): boolean {
      const own = (opts as { [DEADLINE]?: number })[DEADLINE]
      const ms = own === undefined ? timeout : own
      if (ms === 0) return dispatch(opts, handler)
      return dispatch(opts, new DeadlineHandler(handler, ms, opts))
    }
}
