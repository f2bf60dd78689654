// The one table that maps errors to statuses, and the RFC 9457 problem body built from
// them. Error bodies name the status, the code and a detail written for the client; they
// never carry a stack or an internal message.

import { STATUS_CODES } from 'node:http'
import { HttpError, type HttpErrorCode, type HttpErrorHeaders, type HttpErrorOptions } from '../errors.js'

/** The status each Listener-raised code answers with. `X_ERR_HTTP_STATUS` takes the thrower's status. */
export const STATUS_BY_CODE: Readonly<Record<HttpErrorCode, number>> = {
  X_ERR_HTTP_STATUS: 500,
  X_ERR_HTTP_BAD_REQUEST: 400,
  X_ERR_HTTP_INVALID_PARAM: 400,
  X_ERR_HTTP_INVALID_BODY: 400,
  X_ERR_HTTP_BODY_VALIDATION: 400,
  X_ERR_HTTP_BODY_ABORTED: 400,
  X_ERR_HTTP_NOT_FOUND: 404,
  X_ERR_HTTP_METHOD_NOT_ALLOWED: 405,
  X_ERR_HTTP_NOT_ACCEPTABLE: 406,
  X_ERR_HTTP_REQUEST_TIMEOUT: 408,
  X_ERR_HTTP_PRECONDITION_FAILED: 412,
  X_ERR_HTTP_CORS_REJECTED: 403,
  X_ERR_HTTP_BODY_TOO_LARGE: 413,
  X_ERR_HTTP_URI_TOO_LONG: 414,
  X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  X_ERR_HTTP_HEADERS_TOO_LARGE: 431,
  X_ERR_HTTP_UPGRADE_REQUIRED: 426,
  X_ERR_HTTP_WEBSOCKET_HANDSHAKE: 400,
  X_ERR_HTTP_ORIGIN_NOT_ALLOWED: 403,
  X_ERR_HTTP_UNAVAILABLE: 503,
  X_ERR_HTTP_INTERNAL: 500,
  X_ERR_HTTP_ALREADY_RESPONDED: 500,
  X_ERR_HTTP_INVALID_OPTION: 500,
  X_ERR_HTTP_INVALID_SERVICE: 500,
  X_ERR_HTTP_DUPLICATE_BASE_PATH: 500,
  X_ERR_HTTP_LISTENER_STATE: 500,
  X_ERR_HTTP_LISTEN_FAILED: 500,
  X_ERR_HTTP_WORKER_CRASH_LOOP: 500,
}

/**
 * Creates the error the Listener raises for `code`, with its status from the table. These
 * answer bad requests (404s from scanners, 400s) and are never logged, so they skip the stack
 * trace, which costs more than the rest of such a request.
 */
export function raise(
  code: HttpErrorCode,
  detail: string,
  param?: string,
  headers?: HttpErrorHeaders,
): HttpError {
  const options: HttpErrorOptions = { code }
  if (param !== undefined) options.param = param
  if (headers !== undefined) options.headers = headers
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new HttpError(STATUS_BY_CODE[code], detail, options)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** An error turned into what the client is sent. */
export interface Problem {
  readonly status: number
  readonly code: HttpErrorCode
  /** A server-side failure the client must not learn about: log it. */
  readonly internal: boolean
  readonly headers: HttpError['headers']
  /** The `application/problem+json` body, as an object (response filters may change it). */
  readonly body: Record<string, unknown>
}

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'param'])

/** Maps any thrown value to its problem response. */
export function toProblem(error: unknown): Problem {
  if (error instanceof HttpError) {
    const code = error.code
    const status = code === 'X_ERR_HTTP_STATUS' ? error.status : STATUS_BY_CODE[code]
    // A 503 the Listener raises (stopping, at a connection cap) is an answer, not a fault.
    const internal = status >= 500 && code !== 'X_ERR_HTTP_STATUS' && code !== 'X_ERR_HTTP_UNAVAILABLE'
    const out: Record<string, unknown> = {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
    }
    if (!internal && error.detail !== undefined) out.detail = error.detail
    out.code = internal ? 'X_ERR_HTTP_INTERNAL' : code
    if (error.param !== undefined) out.param = error.param
    if (error.extensions !== undefined && !internal) {
      for (const key of Object.keys(error.extensions)) {
        if (!RESERVED.has(key)) out[key] = error.extensions[key]
      }
    }
    return { status, code, internal, headers: error.headers, body: out }
  }
  return {
    status: 500,
    code: 'X_ERR_HTTP_INTERNAL',
    internal: true,
    headers: undefined,
    body: { type: 'about:blank', title: STATUS_CODES[500], status: 500, code: 'X_ERR_HTTP_INTERNAL' },
  }
}

/** A raw HTTP/1.1 error response for a connection Node's parser rejected (no request object exists). */
export function rawProblemResponse(code: HttpErrorCode, detail: string): string {
  const status = STATUS_BY_CODE[code]
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail, code })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'content-type: application/problem+json\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  )
}
