// The explicit response value a handler or filter can return: a status, headers and a body
// serialised by the same rules as a plain returned value. A brand makes it recognisable
// across ESM and CJS copies of the package.

import { configError } from '../errors.js'
import type { OutgoingHeaders } from './types.js'

/** What {@link HttpResponse} is built from. */
export interface HttpResponseInit {
  /** @defaultValue 200 */
  status?: number
  headers?: OutgoingHeaders
  /** Serialised like a returned value: object → JSON, string → text, bytes, stream or async iterable. */
  body?: unknown
}

const brand = Symbol.for('x.http.response')

/** A response with an explicit status and headers, returned from a handler or filter. */
export class HttpResponse {
  readonly status: number
  readonly headers: OutgoingHeaders | undefined
  readonly body: unknown

  constructor(init: HttpResponseInit = {}) {
    const status = init.status ?? 200
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw configError(
        'X_ERR_HTTP_INVALID_OPTION',
        `HttpResponse status must be an integer from 200 to 599, got ${String(status)}`,
      )
    }
    this.status = status
    this.headers = init.headers
    this.body = init.body
  }

  get [brand](): true {
    return true
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}
