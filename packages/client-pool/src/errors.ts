// The pool's one error class: bad options at construction, and the few failures the pool or
// the balancer itself decides (a request waited too long, the pool is closed, a proxy refused
// the tunnel, no target could take a request, every target failed). Socket and protocol
// failures stay undici's errors: both pass them through unchanged.

/** Every code a {@link ClientPoolError} can carry. */
export type ClientPoolErrorCode =
  | 'X_ERR_POOL_INVALID_OPTION'
  | 'X_ERR_POOL_INVALID_ORIGIN'
  | 'X_ERR_POOL_WAIT_TIMEOUT'
  | 'X_ERR_POOL_CLOSED'
  | 'X_ERR_POOL_PROXY_CONNECT'
  | 'X_ERR_POOL_NO_TARGET'
  | 'X_ERR_POOL_ALL_TARGETS_FAILED'
  | 'X_ERR_POOL_BALANCER_RULE'

/** What one target did with a request the balancer moved on from (see `ClientPoolError.failures`). */
export interface TargetFailure {
  /** The target's URL, as configured. */
  readonly target: string
  /** The error it failed with; undefined when it answered with a failover status. */
  readonly error: Error | undefined
  /** The status it answered with, when that status made the balancer move on. */
  readonly statusCode: number | undefined
}

const brand = Symbol.for('x.error.client-pool')

/** A pool option was invalid, or the pool refused or failed a request; `code` says which. */
export class ClientPoolError extends Error {
  override readonly name = 'ClientPoolError'
  readonly code: ClientPoolErrorCode
  /** The origin the request was for, when there was one. */
  readonly origin: string | undefined
  /** The option that was invalid (`X_ERR_POOL_INVALID_OPTION`), as a dotted path. */
  readonly option: string | undefined
  /** The proxy's answer to CONNECT (`X_ERR_POOL_PROXY_CONNECT`), when it answered. */
  readonly statusCode: number | undefined
  /** Each target's failure, in the order they were tried (`X_ERR_POOL_ALL_TARGETS_FAILED`). */
  readonly failures: readonly TargetFailure[] | undefined

  constructor(
    code: ClientPoolErrorCode,
    message: string,
    details: {
      origin?: string
      option?: string
      statusCode?: number
      failures?: readonly TargetFailure[]
      cause?: unknown
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.origin = details.origin
    this.option = details.option
    this.statusCode = details.statusCode
    this.failures = details.failures
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link ClientPoolError} (from any copy of this package), optionally with the given code. */
export function isClientPoolError(value: unknown, code?: ClientPoolErrorCode): value is ClientPoolError {
  return value instanceof ClientPoolError && (code === undefined || value.code === code)
}
