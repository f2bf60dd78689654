// The router's one error class. Thrown only while building a route table (add), never
// by find(): lookups answer with a result.

/** Every code a {@link RouterError} can carry. */
export type RouterErrorCode =
  | 'X_ERR_ROUTER_INVALID_TEMPLATE'
  | 'X_ERR_ROUTER_DUPLICATE_ROUTE'
  | 'X_ERR_ROUTER_INVALID_METHOD'
  | 'X_ERR_ROUTER_INVALID_OPTION'

const brand = Symbol.for('x.error.router')

/** A route table could not be built: the template, method or option is named in `template` / `method`. */
export class RouterError extends Error {
  override readonly name = 'RouterError'
  readonly code: RouterErrorCode
  /** The template that was being added, when there was one. */
  readonly template: string | undefined
  /** The method that was being added, when there was one. */
  readonly method: string | undefined

  constructor(
    code: RouterErrorCode,
    message: string,
    details: { template?: string; method?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.template = details.template
    this.method = details.method
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link RouterError} (from any copy of this package), optionally with the given code. */
export function isRouterError(value: unknown, code?: RouterErrorCode): value is RouterError {
  return value instanceof RouterError && (code === undefined || value.code === code)
}
