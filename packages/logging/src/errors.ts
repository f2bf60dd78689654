// The logging package's one error class. Thrown for bad options at construction and for a
// destination that cannot be opened; the request path never throws.

/** Every code a {@link LoggingError} can carry. */
export type LoggingErrorCode =
  | 'X_ERR_LOGGING_INVALID_OPTION'
  | 'X_ERR_LOGGING_PRETTY_UNAVAILABLE'
  | 'X_ERR_LOGGING_DESTINATION_FAILED'

const brand = Symbol.for('x.error.logging')

/** A logger, access log or trace log could not be set up; `option` names the culprit when there is one. */
export class LoggingError extends Error {
  override readonly name = 'LoggingError'
  readonly code: LoggingErrorCode
  /** The option path that was rejected, for example `destination.port`. */
  readonly option: string | undefined

  constructor(code: LoggingErrorCode, message: string, details: { option?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.option = details.option
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link LoggingError} (from any copy of this package), optionally with the given code. */
export function isLoggingError(value: unknown, code?: LoggingErrorCode): value is LoggingError {
  return value instanceof LoggingError && (code === undefined || value.code === code)
}

/** Shorthand for the invalid-option error. */
export function invalidOption(option: string, message: string): LoggingError {
  return new LoggingError('X_ERR_LOGGING_INVALID_OPTION', `${option}: ${message}`, { option })
}
