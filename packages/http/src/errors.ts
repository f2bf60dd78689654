// The Listener's error class: thrown by handlers and filters to answer with a status, and
// raised by the Listener itself for bad requests, bad options and bad services. Which
// status each code answers with lives in one table: listener/problem.ts.

/** Every code an {@link HttpError} can carry. */
export type HttpErrorCode =
  /** Thrown by application code: `new HttpError(status, detail)`. */
  | 'X_ERR_HTTP_STATUS'
  | 'X_ERR_HTTP_BAD_REQUEST'
  | 'X_ERR_HTTP_NOT_FOUND'
  | 'X_ERR_HTTP_METHOD_NOT_ALLOWED'
  | 'X_ERR_HTTP_INVALID_PARAM'
  | 'X_ERR_HTTP_INVALID_BODY'
  | 'X_ERR_HTTP_BODY_VALIDATION'
  | 'X_ERR_HTTP_BODY_ABORTED'
  | 'X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE'
  | 'X_ERR_HTTP_NOT_ACCEPTABLE'
  | 'X_ERR_HTTP_BODY_TOO_LARGE'
  | 'X_ERR_HTTP_URI_TOO_LONG'
  | 'X_ERR_HTTP_HEADERS_TOO_LARGE'
  | 'X_ERR_HTTP_REQUEST_TIMEOUT'
  | 'X_ERR_HTTP_PRECONDITION_FAILED'
  | 'X_ERR_HTTP_CORS_REJECTED'
  | 'X_ERR_HTTP_UPGRADE_REQUIRED'
  | 'X_ERR_HTTP_WEBSOCKET_HANDSHAKE'
  | 'X_ERR_HTTP_ORIGIN_NOT_ALLOWED'
  | 'X_ERR_HTTP_UNAVAILABLE'
  | 'X_ERR_HTTP_INTERNAL'
  | 'X_ERR_HTTP_ALREADY_RESPONDED'
  | 'X_ERR_HTTP_INVALID_OPTION'
  | 'X_ERR_HTTP_INVALID_SERVICE'
  | 'X_ERR_HTTP_DUPLICATE_BASE_PATH'
  | 'X_ERR_HTTP_LISTENER_STATE'
  | 'X_ERR_HTTP_LISTEN_FAILED'
  | 'X_ERR_HTTP_WORKER_CRASH_LOOP'

/** Header values an {@link HttpError} adds to its response (for example `www-authenticate`). */
export type HttpErrorHeaders = Readonly<Record<string, string | number | readonly string[]>>

/** Options of {@link HttpError}. */
export interface HttpErrorOptions {
  /** The code; `X_ERR_HTTP_STATUS` for errors thrown by application code. */
  code?: HttpErrorCode
  /** Headers added to the error response. */
  headers?: HttpErrorHeaders
  /** A request parameter the error is about; the problem body names it. */
  param?: string
  /** Extra RFC 9457 members for the problem body (never put secrets here). */
  extensions?: Readonly<Record<string, unknown>>
  cause?: unknown
}

const brand = Symbol.for('x.error.http')

/**
 * An error with an HTTP status. Thrown by a handler or filter, it becomes an
 * `application/problem+json` response with that status and `detail`.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly code: HttpErrorCode
  /** The response status (400–599). */
  readonly status: number
  /** The RFC 9457 `detail` sent to the client: write it for the client, not for the logs. */
  readonly detail: string | undefined
  readonly headers: HttpErrorHeaders | undefined
  readonly param: string | undefined
  readonly extensions: Readonly<Record<string, unknown>> | undefined

  constructor(status: number, detail?: string, options: HttpErrorOptions = {}) {
    const valid = Number.isInteger(status) && status >= 400 && status <= 599
    super(detail ?? `HTTP ${status}`, options.cause === undefined ? undefined : { cause: options.cause })
    if (!valid) {
      // Not thrown from here: a handler throwing new HttpError(200) gets a 500 and a coded error in the log.
      this.code = 'X_ERR_HTTP_INVALID_OPTION'
      this.status = 500
      this.detail = undefined
      this.message = `HttpError status must be an integer from 400 to 599, got ${String(status)}`
    } else {
      this.code = options.code ?? 'X_ERR_HTTP_STATUS'
      this.status = status
      this.detail = detail
    }
    this.headers = options.headers
    this.param = options.param
    this.extensions = options.extensions
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is an {@link HttpError} (from any copy of this package), optionally with the given code. */
export function isHttpError(value: unknown, code?: HttpErrorCode): value is HttpError {
  return value instanceof HttpError && (code === undefined || value.code === code)
}

/** A configuration error: thrown eagerly by constructors and `attach()`. */
export function configError(code: HttpErrorCode, message: string, cause?: unknown): HttpError {
  const e = new HttpError(500, undefined, { code, cause })
  e.message = message
  return e
}
