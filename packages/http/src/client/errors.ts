// The Client's one error class and the classification of foreign errors (undici, Node
// sockets and TLS, zlib, the pool) into its codes by walking the `cause` chain. @x/http has
// two error classes on purpose: the Listener's HttpError answers with a status to a caller;
// ClientError reports why a request to a remote service failed. They are different domains.
import { isClientPoolError } from '@x/client-pool'
import { type TlsErrorCode, toTlsError } from '@x/tls'

/** Every code a {@link ClientError} can carry. */
export type ClientErrorCode =
  | 'X_ERR_CLIENT_INVALID_OPTION'
  | 'X_ERR_CLIENT_INVALID_URL'
  | 'X_ERR_CLIENT_INVALID_HEADER'
  | 'X_ERR_CLIENT_INVALID_BODY'
  | 'X_ERR_CLIENT_INVALID_REQUEST'
  | 'X_ERR_CLIENT_CLOSED'
  | 'X_ERR_CLIENT_ABORTED'
  | 'X_ERR_CLIENT_DEADLINE'
  | 'X_ERR_CLIENT_WAIT_TIMEOUT'
  | 'X_ERR_CLIENT_CONNECT_TIMEOUT'
  | 'X_ERR_CLIENT_HEADERS_TIMEOUT'
  | 'X_ERR_CLIENT_BODY_TIMEOUT'
  | 'X_ERR_CLIENT_CONNECT_FAILED'
  | 'X_ERR_CLIENT_CONNECTION_RESET'
  | 'X_ERR_CLIENT_TLS'
  | 'X_ERR_CLIENT_PROXY'
  | 'X_ERR_CLIENT_PROTOCOL'
  | 'X_ERR_CLIENT_HEADERS_TOO_LARGE'
  | 'X_ERR_CLIENT_BODY_TOO_LARGE'
  | 'X_ERR_CLIENT_DECODED_TOO_LARGE'
  | 'X_ERR_CLIENT_DECODE_FAILED'
  | 'X_ERR_CLIENT_TOO_MANY_REDIRECTS'
  | 'X_ERR_CLIENT_REDIRECT_LOOP'
  | 'X_ERR_CLIENT_REDIRECT_INVALID'
  | 'X_ERR_CLIENT_REDIRECT_BODY'
  | 'X_ERR_CLIENT_BODY_USED'
  | 'X_ERR_CLIENT_BODY_INVALID'
  | 'X_ERR_CLIENT_CIRCUIT_OPEN'
  | 'X_ERR_CLIENT_NO_TARGET'
  | 'X_ERR_CLIENT_ALL_TARGETS_FAILED'
  | 'X_ERR_CLIENT_SSE_REFUSED'
  | 'X_ERR_CLIENT_SSE_EVENT_TOO_LARGE'
  | 'X_ERR_CLIENT_REQUEST_FAILED'

/** What one target did with a request (`ClientError.failures`, code `X_ERR_CLIENT_ALL_TARGETS_FAILED`). */
export interface ClientTargetFailure {
  /** The target's URL. */
  readonly target: string
  /** Its failure, classified; undefined when it answered with a failover status. */
  readonly error: ClientError | undefined
  /** The status it answered with, when that status moved the request on. */
  readonly statusCode: number | undefined
}

const brand = Symbol.for('x.error.http-client')

/** Details a {@link ClientError} may carry. */
export interface ClientErrorDetails {
  method?: string
  url?: string
  statusCode?: number
  option?: string
  failures?: readonly ClientTargetFailure[]
  tlsCode?: TlsErrorCode
  cause?: unknown
}

/** A request made through `Client` (or one of its interceptors) failed; `code` says why. */
export class ClientError extends Error {
  override readonly name = 'ClientError'
  readonly code: ClientErrorCode
  /** The request method, when the error belongs to a request. */
  readonly method: string | undefined
  /** The request URL (the last hop's after redirects), when the error belongs to a request. */
  readonly url: string | undefined
  /** The response status, when a response was received (redirect and body errors). */
  readonly statusCode: number | undefined
  /** The invalid option as a dotted path (`X_ERR_CLIENT_INVALID_OPTION`). */
  readonly option: string | undefined
  /** Each target's failure, in the order tried (`X_ERR_CLIENT_ALL_TARGETS_FAILED`). */
  readonly failures: readonly ClientTargetFailure[] | undefined
  /** Why TLS failed, as `@x/tls` names it (`X_ERR_TLS_CERT_REVOKED`, `X_ERR_TLS_HOSTNAME_MISMATCH`, …), for `X_ERR_CLIENT_TLS`. */
  readonly tlsCode: TlsErrorCode | undefined

  constructor(code: ClientErrorCode, message: string, details: ClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.method = details.method
    this.url = details.url
    this.statusCode = details.statusCode
    this.option = details.option
    this.failures = details.failures
    this.tlsCode = details.tlsCode
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link ClientError} (from any copy of this package), optionally with the given code. */
export function isClientError(value: unknown, code?: ClientErrorCode): value is ClientError {
  return value instanceof ClientError && (code === undefined || value.code === code)
}

const BY_CODE: Record<string, ClientErrorCode> = {
  UND_ERR_CONNECT_TIMEOUT: 'X_ERR_CLIENT_CONNECT_TIMEOUT',
  ETIMEDOUT: 'X_ERR_CLIENT_CONNECT_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'X_ERR_CLIENT_HEADERS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'X_ERR_CLIENT_BODY_TIMEOUT',
  UND_ERR_HEADERS_OVERFLOW: 'X_ERR_CLIENT_HEADERS_TOO_LARGE',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'X_ERR_CLIENT_BODY_TOO_LARGE',
  UND_ERR_ABORTED: 'X_ERR_CLIENT_ABORTED',
  UND_ERR_ABORT: 'X_ERR_CLIENT_ABORTED',
  ABORT_ERR: 'X_ERR_CLIENT_ABORTED',
  UND_ERR_SOCKET: 'X_ERR_CLIENT_CONNECTION_RESET',
  ECONNRESET: 'X_ERR_CLIENT_CONNECTION_RESET',
  EPIPE: 'X_ERR_CLIENT_CONNECTION_RESET',
  ECONNABORTED: 'X_ERR_CLIENT_CONNECTION_RESET',
  ERR_HTTP2_STREAM_ERROR: 'X_ERR_CLIENT_CONNECTION_RESET',
  ERR_HTTP2_SESSION_ERROR: 'X_ERR_CLIENT_CONNECTION_RESET',
  ERR_HTTP2_GOAWAY_SESSION: 'X_ERR_CLIENT_CONNECTION_RESET',
  ERR_HTTP2_STREAM_CANCEL: 'X_ERR_CLIENT_CONNECTION_RESET',
  ECONNREFUSED: 'X_ERR_CLIENT_CONNECT_FAILED',
  ENOTFOUND: 'X_ERR_CLIENT_CONNECT_FAILED',
  EAI_AGAIN: 'X_ERR_CLIENT_CONNECT_FAILED',
  EHOSTUNREACH: 'X_ERR_CLIENT_CONNECT_FAILED',
  ENETUNREACH: 'X_ERR_CLIENT_CONNECT_FAILED',
  EHOSTDOWN: 'X_ERR_CLIENT_CONNECT_FAILED',
  ENETDOWN: 'X_ERR_CLIENT_CONNECT_FAILED',
  EADDRNOTAVAIL: 'X_ERR_CLIENT_CONNECT_FAILED',
  UND_ERR_CLOSED: 'X_ERR_CLIENT_CLOSED',
  UND_ERR_DESTROYED: 'X_ERR_CLIENT_CLOSED',
  UND_ERR_INVALID_ARG: 'X_ERR_CLIENT_INVALID_REQUEST',
  UND_ERR_NOT_SUPPORTED: 'X_ERR_CLIENT_INVALID_REQUEST',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'X_ERR_CLIENT_INVALID_BODY',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'X_ERR_CLIENT_PROTOCOL',
  X_ERR_POOL_WAIT_TIMEOUT: 'X_ERR_CLIENT_WAIT_TIMEOUT',
  X_ERR_POOL_CLOSED: 'X_ERR_CLIENT_CLOSED',
  X_ERR_POOL_PROXY_CONNECT: 'X_ERR_CLIENT_PROXY',
  X_ERR_POOL_INVALID_ORIGIN: 'X_ERR_CLIENT_INVALID_URL',
  X_ERR_POOL_NO_TARGET: 'X_ERR_CLIENT_NO_TARGET',
  X_ERR_POOL_ALL_TARGETS_FAILED: 'X_ERR_CLIENT_ALL_TARGETS_FAILED',
  X_ERR_CIRCUIT_OPEN: 'X_ERR_CLIENT_CIRCUIT_OPEN',
  Z_DATA_ERROR: 'X_ERR_CLIENT_DECODE_FAILED',
  Z_BUF_ERROR: 'X_ERR_CLIENT_DECODE_FAILED',
  ERR_BROTLI_DECOMPRESSION_FAILED: 'X_ERR_CLIENT_DECODE_FAILED',
}

/** The code for one error of the chain, or undefined when this link says nothing we know. */
function codeOf(e: { code?: unknown; name?: unknown }): ClientErrorCode | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined
  if (code !== undefined) {
    const known = BY_CODE[code]
    if (known !== undefined) return known
    if (code.startsWith('X_ERR_TLS_')) return 'X_ERR_CLIENT_TLS'
    if (code.startsWith('HPE_')) return 'X_ERR_CLIENT_PROTOCOL'
    if (code.startsWith('ERR_HTTP2_')) return 'X_ERR_CLIENT_PROTOCOL'
    if (
      code.startsWith('ERR_TLS_') ||
      code.startsWith('ERR_SSL_') ||
      code.includes('CERT') ||
      code.startsWith('UNABLE_TO_') ||
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
      code === 'SELF_SIGNED_CERT_IN_CHAIN'
    ) {
      return 'X_ERR_CLIENT_TLS'
    }
  }
  if (e.name === 'AbortError') return 'X_ERR_CLIENT_ABORTED'
  // undici's HTTPParserError carries no code for some llhttp failures.
  if (e.name === 'HTTPParserError') return 'X_ERR_CLIENT_PROTOCOL'
  return undefined
}

/**
 * `err` as a ClientError: itself when it already is one; otherwise a new one whose code comes
 * from the first link of its `cause` chain that names a known failure, with `err` as cause.
 */
export function toClientError(err: unknown, method?: string, url?: string): ClientError {
  if (isClientError(err)) return err
  let code: ClientErrorCode | undefined
  let e: unknown = err
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null && code === undefined; depth++) {
    if (isClientError(e)) code = e.code
    else code = codeOf(e as { code?: unknown; name?: unknown })
    e = (e as { cause?: unknown }).cause
  }
  const message = err instanceof Error ? err.message : String(err)
  const statusCode = isClientPoolError(err) ? err.statusCode : undefined
  const targets = isClientPoolError(err) ? err.failures : undefined
  // Each target's own failure, classified like any other.
  const failures = targets?.map((f) => ({
    target: f.target,
    error: f.error === undefined ? undefined : toClientError(f.error, method, f.target),
    statusCode: f.statusCode,
  }))
  const tlsCode = code === 'X_ERR_CLIENT_TLS' ? toTlsError(err)?.code : undefined
  return new ClientError(code ?? 'X_ERR_CLIENT_REQUEST_FAILED', message, {
    ...(method === undefined ? {} : { method }),
    ...(url === undefined ? {} : { url }),
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(failures === undefined ? {} : { failures }),
    ...(tlsCode === undefined ? {} : { tlsCode }),
    cause: err,
  })
}
