// CORS as the Fetch standard's CORS protocol defines it (§3.2): policies compiled per resource
// (its fields over the service's), the answer to a preflight, and the headers of an actual
// response. A refused origin, method or header gets no CORS header at all.

import type { OutgoingHttpHeaders } from 'node:http'
import { isToken } from '../client/internal/headers.js'
import { configError } from '../errors.js'

/** CORS settings of a service or a resource (a resource's fields override its service's). */
export interface CorsOptions {
  /**
   * Origins allowed to read responses: serialised origins (`'https://app.example'`, `'null'`),
   * `'*'` for any origin (never with `allowCredentials`), or a predicate. Required.
   */
  readonly allowOrigins?: readonly string[] | '*' | ((origin: string) => boolean)
  /** Let pages send cookies and read responses to credentialed requests. @defaultValue false */
  readonly allowCredentials?: boolean
  /** Request header names a page may send (case-insensitive), or `'*'` for any. @defaultValue '*' */
  readonly allowHeaders?: readonly string[] | '*'
  /** Methods a page may use, or `'*'` for any. @defaultValue the methods the resource answers */
  readonly allowMethods?: readonly string[] | '*'
  /** Response header names a page may read beyond the safelisted ones; `'*'` only without credentials. @defaultValue [] */
  readonly exposeHeaders?: readonly string[] | '*'
  /** Seconds a browser may cache a preflight answer (Chromium caps it at 7200). @defaultValue none sent */
  readonly maxAge?: number
}

/** A compiled policy: what a resource answers to preflights and cross-origin requests. */
export interface CorsPolicy {
  readonly origins: '*' | ReadonlySet<string> | ((origin: string) => boolean)
  readonly credentials: boolean
  /** Lower-case names, or '*' (the requested names are echoed). */
  readonly headers: '*' | ReadonlySet<string>
  /** '*' (the requested method is echoed), a list, or undefined: the methods the route answers. */
  readonly methods: '*' | readonly string[] | undefined
  readonly methodsValue: string | undefined
  readonly expose: string | undefined
  readonly maxAge: string | undefined
  /** The answer depends on the Origin header: responses carry `Vary: Origin`. */
  readonly varyOrigin: boolean
}

const KNOWN = new Set([
  'allowOrigins',
  'allowCredentials',
  'allowHeaders',
  'allowMethods',
  'exposeHeaders',
  'maxAge',
])

/** More requested header names than a request can even carry under the default limits is hostile. */
export const MAX_REQUESTED_HEADERS = 100

function invalid(where: string, message: string): never {
  throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: cors ${message}`)
}

function checkSection(value: unknown, where: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(where, 'must be an object')
  for (const key of Object.keys(value)) if (!KNOWN.has(key)) invalid(where, `has an unknown option ${key}`)
  return value as Record<string, unknown>
}

function origin(value: unknown, where: string): string {
  if (typeof value !== 'string') invalid(where, 'allowOrigins members must be strings')
  if (value === 'null') return value
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    return invalid(where, `allowOrigins member ${JSON.stringify(value)} is not an origin`)
  }
  // A serialised origin is scheme://host[:port], nothing more: what browsers send in Origin.
  if (parsed.origin === 'null' || parsed.origin.toLowerCase() !== value.toLowerCase()) {
    invalid(
      where,
      `allowOrigins member ${JSON.stringify(value)} is not a serialised origin like https://app.example`,
    )
  }
  return parsed.origin
}

function names(value: unknown, where: string, option: string, lower: boolean): readonly string[] | '*' {
  if (value === '*') return '*'
  if (!Array.isArray(value)) invalid(where, `${option} must be an array of names or '*'`)
  const out: string[] = []
  for (const v of value) {
    if (v === '*' && value.length === 1) return '*'
    if (typeof v !== 'string' || !isToken(v))
      invalid(where, `${option} has an invalid name ${JSON.stringify(v)}`)
    out.push(lower ? v.toLowerCase() : v)
  }
  return out
}

/**
 * Compiles the policy of a resource from its service's settings and its own (field by field;
 * `false` turns CORS off for the resource). Throws `X_ERR_HTTP_INVALID_SERVICE`, also for
 * `'*'` origins (or exposed headers) together with credentials, which browsers refuse.
 */
export function compileCors(service: unknown, own: unknown, where: string): CorsPolicy | undefined {
  if (own === false) return undefined
  const s = checkSection(service, where)
  const r = checkSection(own, where)
  if (s === undefined && r === undefined) return undefined
  const o: Record<string, unknown> = { ...s }
  if (r !== undefined) for (const key of Object.keys(r)) if (r[key] !== undefined) o[key] = r[key]

  const credentials = o.allowCredentials ?? false
  if (typeof credentials !== 'boolean') invalid(where, 'allowCredentials must be a boolean')

  let origins: CorsPolicy['origins']
  const ao = o.allowOrigins
  if (ao === undefined) invalid(where, 'needs allowOrigins (a list of origins, "*" or a function)')
  if (ao === '*') origins = '*'
  else if (typeof ao === 'function') origins = ao as (origin: string) => boolean
  else if (Array.isArray(ao)) {
    if (ao.length === 0) invalid(where, 'allowOrigins must list at least one origin')
    if (ao.length === 1 && ao[0] === '*') origins = '*'
    else origins = new Set(ao.map((v) => origin(v, where)))
  } else invalid(where, 'allowOrigins must be an array of origins, "*" or a function')
  if (origins === '*' && credentials) {
    invalid(
      where,
      'allowOrigins "*" cannot go with allowCredentials: browsers refuse credentialed responses to "*"',
    )
  }

  const allowHeaders = o.allowHeaders === undefined ? '*' : names(o.allowHeaders, where, 'allowHeaders', true)
  const methods =
    o.allowMethods === undefined ? undefined : names(o.allowMethods, where, 'allowMethods', false)
  const expose = o.exposeHeaders === undefined ? [] : names(o.exposeHeaders, where, 'exposeHeaders', true)
  if (expose === '*' && credentials) {
    invalid(where, 'exposeHeaders "*" means a header named * on credentialed responses: list the names')
  }
  const maxAge = o.maxAge
  if (
    maxAge !== undefined &&
    (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > 2_147_483_647)
  ) {
    invalid(where, 'maxAge must be a non-negative integer number of seconds')
  }
  return {
    origins,
    credentials,
    headers: allowHeaders === '*' ? '*' : new Set(allowHeaders),
    methods,
    methodsValue: methods === undefined || methods === '*' ? undefined : methods.join(', '),
    expose: expose === '*' ? '*' : expose.length === 0 ? undefined : expose.join(', '),
    maxAge: maxAge === undefined ? undefined : String(maxAge),
    varyOrigin: origins !== '*',
  }
}

/** Told about a predicate that threw: the origin is refused and the error reported. */
export type CorsFault = (error: unknown) => void

/** The `Access-Control-Allow-Origin` value for `origin`, or undefined when it is not allowed. */
function allowOrigin(policy: CorsPolicy, origin: string, fault: CorsFault): string | undefined {
  const o = policy.origins
  if (o === '*') return '*'
  if (typeof o === 'function') {
    try {
      return o(origin) === true ? origin : undefined
    } catch (e) {
      fault(e)
      return undefined
    }
  }
  return o.has(origin) ? origin : undefined
}

/** Adds `token` to the Vary field of `h` unless it is listed already (or Vary is `*`). */
export function addVary(h: OutgoingHttpHeaders, token: string): void {
  const current = h.vary
  if (current === undefined) {
    h.vary = token
    return
  }
  const value = Array.isArray(current) ? current.join(', ') : String(current)
  const lower = token.toLowerCase()
  for (const part of value.split(',')) {
    const p = part.trim().toLowerCase()
    if (p === lower || p === '*') return
  }
  h.vary = value.length === 0 ? token : `${value}, ${token}`
}

/** The request header names of `Access-Control-Request-Headers`, lower-cased; undefined when malformed or too many. */
function requestedHeaders(value: string | undefined): string[] | undefined {
  const out: string[] = []
  if (value === undefined) return out
  let start = 0
  const n = value.length
  while (start <= n) {
    let end = value.indexOf(',', start)
    if (end === -1) end = n
    const name = value.slice(start, end).trim()
    start = end + 1
    if (name.length === 0) continue
    if (!isToken(name) || out.length === MAX_REQUESTED_HEADERS) return undefined
    out.push(name.toLowerCase())
  }
  return out
}

/**
 * The headers of an allowed preflight answer, or undefined when the origin, the method or a
 * header is refused. `routed` says whether the route answers the requested method (the
 * default for `allowMethods`).
 */
export function preflightHeaders(
  policy: CorsPolicy,
  origin: string,
  method: string,
  requested: string | undefined,
  routed: boolean,
  fault: CorsFault,
): OutgoingHttpHeaders | undefined {
  const allowed = allowOrigin(policy, origin, fault)
  if (allowed === undefined || !isToken(method)) return undefined
  let methods: string
  const pm = policy.methods
  if (pm === '*') methods = method
  else if (pm === undefined) {
    if (!routed) return undefined
    methods = method
  } else {
    if (!pm.includes(method)) return undefined
    methods = policy.methodsValue!
  }
  const list = requestedHeaders(requested)
  if (list === undefined) return undefined
  const ph = policy.headers
  if (ph !== '*') for (const name of list) if (!ph.has(name)) return undefined
  const h: OutgoingHttpHeaders = { 'access-control-allow-origin': allowed }
  if (policy.credentials) h['access-control-allow-credentials'] = 'true'
  h['access-control-allow-methods'] = methods
  if (list.length !== 0) h['access-control-allow-headers'] = list.join(', ')
  if (policy.maxAge !== undefined) h['access-control-max-age'] = policy.maxAge
  if (policy.varyOrigin) h.vary = 'Origin'
  return h
}

/**
 * Adds the headers of an actual (non-preflight) response: `Vary: Origin` whenever the answer
 * depends on the origin, and the allow / credentials / expose headers for an allowed origin.
 */
export function applyCors(
  policy: CorsPolicy,
  origin: string | undefined,
  h: OutgoingHttpHeaders,
  fault: CorsFault,
): void {
  if (policy.varyOrigin) addVary(h, 'Origin')
  let allowed: string | undefined
  if (policy.origins === '*') allowed = '*'
  else if (origin === undefined) return
  else allowed = allowOrigin(policy, origin, fault)
  if (allowed === undefined) return
  h['access-control-allow-origin'] = allowed
  if (policy.credentials) h['access-control-allow-credentials'] = 'true'
  if (policy.expose !== undefined) h['access-control-expose-headers'] = policy.expose
}
