// The package's one error class. An open circuit rejects with it (code X_ERR_CIRCUIT_OPEN);
// constructors and factories throw it for a bad option (X_ERR_CIRCUIT_INVALID_OPTION), and
// execute() rejects with it when given no function (X_ERR_CIRCUIT_INVALID_ARGUMENT).

/** Every code a {@link CircuitBreakerError} can carry. */
export type CircuitBreakerErrorCode =
  | 'X_ERR_CIRCUIT_OPEN'
  | 'X_ERR_CIRCUIT_INVALID_OPTION'
  | 'X_ERR_CIRCUIT_INVALID_ARGUMENT'

/** The states a breaker reports. */
export type CircuitState = 'closed' | 'open' | 'half-open'

const brand = Symbol.for('x.error.circuit-breaker')

/** Details a {@link CircuitBreakerError} can carry. */
export interface CircuitBreakerErrorDetails {
  /** The breaker's name (its key, for keyed breakers). */
  name?: string | undefined
  /** The state that rejected the call: `open`, or `half-open` when every probe slot was taken. */
  state?: CircuitState | undefined
  /** Milliseconds until the breaker next lets a probe through; undefined while forced open. */
  retryAfterMs?: number | undefined
  /** When, in the breaker's clock, the next probe is allowed; undefined while forced open. */
  nextProbeAt?: number | undefined
  /** The option that was rejected, as a dotted path (`rollingWindow.bucketSize`). */
  option?: string | undefined
  cause?: unknown
}

/** A call was rejected by an open circuit, or a breaker could not be built from its options. */
export class CircuitBreakerError extends Error {
  override readonly name = 'CircuitBreakerError'
  readonly code: CircuitBreakerErrorCode
  /** The breaker's name (its key, for keyed breakers), when it has one. */
  readonly breaker: string | undefined
  /** The state that rejected the call (X_ERR_CIRCUIT_OPEN only). */
  readonly state: CircuitState | undefined
  /** Milliseconds until the next probe is allowed (X_ERR_CIRCUIT_OPEN; undefined while forced open). */
  readonly retryAfterMs: number | undefined
  /** When the next probe is allowed, in the breaker's clock (X_ERR_CIRCUIT_OPEN; undefined while forced open). */
  readonly nextProbeAt: number | undefined
  /** The rejected option, as a dotted path (X_ERR_CIRCUIT_INVALID_OPTION). */
  readonly option: string | undefined

  constructor(code: CircuitBreakerErrorCode, message: string, details: CircuitBreakerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.breaker = details.name
    this.state = details.state
    this.retryAfterMs = details.retryAfterMs
    this.nextProbeAt = details.nextProbeAt
    this.option = details.option
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link CircuitBreakerError} (from any copy of this package), optionally with the given code. */
export function isCircuitBreakerError(
  value: unknown,
  code?: CircuitBreakerErrorCode,
): value is CircuitBreakerError {
  return value instanceof CircuitBreakerError && (code === undefined || value.code === code)
}

/** Shorthand for {@link isCircuitBreakerError} with code `X_ERR_CIRCUIT_OPEN`. */
export function isCircuitOpenError(value: unknown): value is CircuitBreakerError {
  return value instanceof CircuitBreakerError && value.code === 'X_ERR_CIRCUIT_OPEN'
}

export function invalidOption(option: string, message: string): CircuitBreakerError {
  return new CircuitBreakerError('X_ERR_CIRCUIT_INVALID_OPTION', `${option}: ${message}`, { option })
}
