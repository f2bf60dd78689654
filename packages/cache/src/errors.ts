// The cache's one error class. Thrown only while configuring (options, Cache-Control
// builder input); on the request path the cache answers with results, never throws.

/** Every code a {@link CacheError} can carry. */
export type CacheErrorCode = 'X_ERR_CACHE_INVALID_OPTION' | 'X_ERR_CACHE_INVALID_DIRECTIVES'

const brand = Symbol.for('x.error.cache')

/** A cache, store or Cache-Control value could not be built; `option` names the offending field. */
export class CacheError extends Error {
  override readonly name = 'CacheError'
  readonly code: CacheErrorCode
  /** The option or directive at fault, when there is one. */
  readonly option: string | undefined

  constructor(code: CacheErrorCode, message: string, details: { option?: string; cause?: unknown } = {}) {
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

/** True when `value` is a {@link CacheError} (from any copy of this package), optionally with the given code. */
export function isCacheError(value: unknown, code?: CacheErrorCode): value is CacheError {
  return value instanceof CacheError && (code === undefined || value.code === code)
}

/** Throws X_ERR_CACHE_INVALID_OPTION unless `value` is an integer in [min, max] (or undefined). */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CacheError('X_ERR_CACHE_INVALID_OPTION', `${name} must be an integer in [${min}, ${max}]`, {
      option: name,
    })
  }
}
