// Response caching headers per resource: `Cache-Control` built once by @x/cache, validators
// (a strong ETag hashed from the body, or the handler's own ETag / Last-Modified), and the
// RFC 9110 §13.2.2 evaluation of conditional requests. The header logic lives in @x/cache.

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { type CacheControlOptions, cacheControl, isCacheError, parseEtag } from '@x/cache'
import { configError } from '../errors.js'
import type { Context } from './types.js'

/** The validators of a resource's current representation, as `validators(ctx)` reports them. */
export interface ResourceValidators {
  /** The current entity tag, quoted (`'"v42"'` or `'W/"v42"'`). */
  readonly etag?: string
  /** When the representation last changed. */
  readonly lastModified?: Date | number | string
  /** Whether the resource exists now (`If-Match: *` fails and `If-None-Match: *` passes when it does not). @defaultValue true */
  readonly exists?: boolean
}

/** A compiled caching declaration of a resource. */
export interface CachePlan {
  /** The `Cache-Control` value of 2xx and 304 answers to GET and HEAD. */
  readonly cacheControl: string | undefined
  /** Hash buffered 2xx GET/HEAD bodies into a strong ETag. */
  readonly etag: boolean
  readonly validators: ((ctx: Context) => unknown) | undefined
}

/** Validators normalised for sending and comparing. */
export interface CurrentValidators {
  readonly etag: string | undefined
  /** An IMF-fixdate. */
  readonly lastModified: string | undefined
  readonly exists: boolean
}

/** Compiles `cacheControl`, `etag` and `validators` of a resource (undefined when it declares none). */
export function compileCaching(r: Record<string, unknown>, at: string): CachePlan | undefined {
  const { cacheControl: cc, etag, validators } = r
  if (cc === undefined && etag === undefined && validators === undefined) return undefined
  let value: string | undefined
  let noStore = false
  if (cc !== undefined) {
    try {
      value = cacheControl(cc as CacheControlOptions)
    } catch (e) {
      if (isCacheError(e))
        throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: cacheControl ${e.message}`, e)
      throw e
    }
    noStore = (cc as CacheControlOptions).noStore === true
  }
  if (etag !== undefined && typeof etag !== 'boolean') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: etag must be a boolean`)
  }
  if (validators !== undefined && typeof validators !== 'function') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: validators must be a function`)
  }
  return {
    cacheControl: value,
    // A resource that asks caches to keep its answers gets a validator to revalidate them with.
    etag: etag ?? (cc !== undefined && !noStore),
    validators: validators as ((ctx: Context) => unknown) | undefined,
  }
}

/** True when the request carries any precondition. */
export function hasConditional(h: IncomingHttpHeaders): boolean {
  return (
    h['if-none-match'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  )
}

/**
 * Checks what a `validators` function returned. A malformed ETag or date is a fault of the
 * resource, not of the request: it throws (a 500, logged).
 */
export function normaliseValidators(value: unknown): CurrentValidators {
  if (value === undefined || value === null) return { etag: undefined, lastModified: undefined, exists: true }
  if (typeof value !== 'object') throw new TypeError('validators() must return an object')
  const v = value as ResourceValidators
  let etag: string | undefined
  if (v.etag !== undefined) {
    if (typeof v.etag !== 'string' || parseEtag(v.etag) === undefined) {
      throw new TypeError('validators() returned an etag that is not a quoted entity tag')
    }
    etag = v.etag.trim()
  }
  let lastModified: string | undefined
  if (v.lastModified !== undefined) {
    const ms =
      v.lastModified instanceof Date
        ? v.lastModified.getTime()
        : typeof v.lastModified === 'number'
          ? v.lastModified
          : Date.parse(v.lastModified)
    if (!Number.isFinite(ms)) throw new TypeError('validators() returned a lastModified that is not a date')
    lastModified = new Date(ms).toUTCString()
  }
  if (v.exists !== undefined && typeof v.exists !== 'boolean') {
    throw new TypeError('validators() returned an exists that is not a boolean')
  }
  return { etag, lastModified, exists: v.exists ?? true }
}

/** The header value of `name` as one string, when it is one. */
export function single(h: OutgoingHttpHeaders, name: string): string | undefined {
  const v = h[name]
  if (v === undefined) return undefined
  return Array.isArray(v) ? v[0] : String(v)
}
