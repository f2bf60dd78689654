// Request ids: taken from the request's X-Request-Id when it is safe to log (bounded length,
// a conservative character set), generated otherwise. Generation is a per-Listener random
// prefix and a counter: unique across processes and restarts, and a quarter of randomUUID's cost.
import { randomBytes } from 'node:crypto'
import { configError } from '../errors.js'

/**
 * Set on each request the Listener receives (when ids or logs are on): `Client.forward()`
 * finds the request id there, from any copy of @x/http.
 */
export const REQUEST_LINK: unique symbol = Symbol.for('x.http.request-link') as never

/** What {@link REQUEST_LINK} offers `Client.forward()`: the exchange's id and the header it travels in. */
export interface RequestIdLink {
  readonly requestId: string | undefined
  readonly requestIdHeader: string | undefined
}

/** How the Listener finds, makes and echoes request ids. */
export interface RequestIdOptions {
  /** The request (and echoed response) header. @defaultValue 'x-request-id' */
  header?: string
  /** Take the id from the request header when it is valid (else generate one). @defaultValue true */
  fromRequest?: boolean
  /** Longest id accepted from a request, in characters (1–1024). @defaultValue 128 */
  maxLength?: number
  /** Send the id back in the response header. @defaultValue false */
  echo?: boolean
  /** Makes a new id; its result is used as given. @defaultValue a random per-Listener prefix and a counter */
  generate?: () => string
}

/** Request-id settings after defaults. */
export interface ResolvedRequestId {
  readonly header: string
  readonly fromRequest: boolean
  readonly maxLength: number
  readonly echo: boolean
  readonly generate: (() => string) | undefined
}

const KNOWN = new Set(['header', 'fromRequest', 'maxLength', 'echo', 'generate'])
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Validates the `requestId` option; `false` turns request ids off (undefined). */
export function resolveRequestId(value: unknown): ResolvedRequestId | undefined {
  if (value === false) return undefined
  const o = (value === undefined || value === true ? {} : value) as Record<string, unknown>
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'requestId must be a boolean or an object')
  }
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw configError('X_ERR_HTTP_INVALID_OPTION', `unknown requestId option ${key}`)
  }
  const header = o.header ?? 'x-request-id'
  if (typeof header !== 'string' || !TOKEN.test(header)) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'requestId.header must be a header name')
  }
  for (const name of ['fromRequest', 'echo'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') {
      throw configError('X_ERR_HTTP_INVALID_OPTION', `requestId.${name} must be a boolean`)
    }
  }
  const maxLength = o.maxLength ?? 128
  if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 1 || maxLength > 1024) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'requestId.maxLength must be an integer from 1 to 1024')
  }
  if (o.generate !== undefined && typeof o.generate !== 'function') {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'requestId.generate must be a function')
  }
  return {
    header: header.toLowerCase(),
    fromRequest: o.fromRequest !== false,
    maxLength,
    echo: o.echo === true,
    generate: o.generate as (() => string) | undefined,
  }
}

/**
 * True when `id` may be logged and echoed as it is: 1 to `max` characters, each a letter, a
 * digit or one of `-._~:/+=@;` — enough for UUIDs, ULIDs, base64 and AWS/W3C trace ids, and
 * nothing that can break a log line (spaces, quotes, backslashes, controls, non-ASCII).
 */
export function isSafeRequestId(id: string, max: number): boolean {
  const n = id.length
  if (n === 0 || n > max) return false
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i)
    if (c >= 0x61 && c <= 0x7a) continue // a-z
    if (c >= 0x41 && c <= 0x5a) continue // A-Z
    if (c >= 0x2d && c <= 0x3b) continue // - . / 0-9 : ;
    if (c === 0x2b || c === 0x3d || c === 0x40 || c === 0x5f || c === 0x7e) continue // + = @ _ ~
    return false
  }
  return true
}

/** Makes ids `<12 hex>-<counter base 36>`: the prefix is random per instance. */
export class RequestIdGenerator {
  private readonly prefix = `${randomBytes(6).toString('hex')}-`
  private count = 0

  next(): string {
    this.count++
    return this.prefix + this.count.toString(36)
  }
}
