// The RFC 9111 cache as an undici interceptor: lookup, freshness and request directives,
// validation and 304 freshening, stale-while-revalidate / stale-if-error, invalidation by
// unsafe methods, request collapsing. Storage is the store's; the rules are policy.ts's.

import type { Writable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { ClientStream } from './client-stream.js'
import { evaluateConditionals, notModifiedHeaders } from './conditional.js'
import { channels, storeError } from './diagnostics.js'
import { type CacheControlDirectives, parseCacheControl } from './directives.js'
import { CacheError, checkInteger } from './errors.js'
import { weakMatch } from './etag.js'
import { fieldValue, isToken, toHeaderRecord } from './headers.js'
import { MemoryStore } from './memory-store.js'
import { type CachePolicy, decideStore, forbidsStale, freshen, type PolicyConfig } from './policy.js'
import { type ByteRange, parseRange, resolveRange, sliceChunks } from './range.js'
import type { CacheGetResult, CacheKey, CacheStore, CacheValue } from './store.js'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController
type Dispatch = Dispatcher.Dispatch
type DispatchOptions = Dispatcher.DispatchOptions
type Headers = Record<string, string | string[]>

/** Options of {@link cache}. Names map onto Ballerina's `cache: { isShared, capacity, evictionFactor, policy }`. */
export interface CacheOptions {
  /** Where responses are kept. @defaultValue a `MemoryStore` built from `capacity` and `evictionFactor` */
  store?: CacheStore
  /** A shared cache (a proxy, many users) rather than a private one (Ballerina's `isShared`). @defaultValue false */
  shared?: boolean
  /** Which responses are stored. @defaultValue 'CACHE_CONTROL_AND_VALIDATORS' */
  policy?: CachePolicy
  /** Entries of the default MemoryStore (Ballerina's `capacity`); not with `store`. @defaultValue 1024 */
  capacity?: number
  /** Share of entries the default MemoryStore drops when full; not with `store`. @defaultValue 0.2 */
  evictionFactor?: number
  /** Heuristic freshness as a fraction of the time since Last-Modified (RFC 9111 §4.2.2). @defaultValue 0.1 */
  heuristicFraction?: number
  /** Cap on heuristic freshness, seconds. @defaultValue 86400 */
  maxHeuristicAge?: number
  /** How long a stale response with a validator is kept for revalidation, seconds. @defaultValue 86400 */
  retainStale?: number
  /** Concurrent identical misses wait for the first one's response instead of each reaching the origin. @defaultValue true */
  collapseRequests?: boolean
  /** Longest a collapsed request waits for the first one before going to the origin itself, ms. @defaultValue 5000 */
  collapseTimeout?: number
  /**
   * Targeted cache-control fields this cache obeys (RFC 9213), most specific first, such as
   * `['CDN-Cache-Control']` for a gateway: the first one present and valid replaces
   * Cache-Control and Expires for this cache's decisions. `Surrogate-Control` is read with its
   * own syntax (untargeted `max-age` and `no-store`). @defaultValue []
   */
  targets?: readonly string[]
  /** The clock, for tests. @defaultValue Date.now */
  now?: () => number
}

const POLICIES = new Set<CachePolicy>(['CACHE_CONTROL_AND_VALIDATORS', 'RFC_9111'])
// RFC 9110 §9.2.1 safe methods (with WebDAV's): everything else invalidates (RFC 9111 §4.4).
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'REPORT'])
const CLIENT_VALIDATORS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
]
const GATEWAY_TIMEOUT: Headers = Object.freeze({ 'content-length': '0' }) as Headers
const EMPTY: readonly Buffer[] = Object.freeze([]) as readonly Buffer[]
const NO_DIRECTIVES: CacheControlDirectives = Object.freeze({})

function invalidOption(option: string, message: string): never {
  throw new CacheError('X_ERR_CACHE_INVALID_OPTION', message, { option })
}

function onWriteError(err: unknown): void {
  storeError('write', err)
}

function ignoreRejection(err: unknown): void {
  storeError('delete', err)
}

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** The stored body as chunks, synchronously when the store kept it in memory. */
function toChunks(body: CacheGetResult['body']): readonly Buffer[] | Promise<Buffer[]> {
  if (body == null) return EMPTY
  if (Array.isArray(body)) {
    for (const c of body)
      if (typeof c === 'string') return body.map((x) => (typeof x === 'string' ? Buffer.from(x) : x))
    return body as Buffer[]
  }
  if (Buffer.isBuffer(body)) return [body]
  if (typeof body === 'string') return [Buffer.from(body)]
  return (async () => {
    const out: Buffer[] = []
    for await (const c of body as AsyncIterable<Buffer | string>)
      out.push(typeof c === 'string' ? Buffer.from(c) : c)
    return out
  })()
}

function discardBody(entry: CacheGetResult | undefined): void {
  const body = entry?.body as { destroy?: () => void } | undefined
  if (body !== undefined && typeof body.destroy === 'function') body.destroy()
}

function requestPath(opts: DispatchOptions): string {
  const path = opts.path || '/'
  const query = (opts as { query?: Record<string, unknown> }).query
  if (query == null || path.includes('?')) return path
  const qs = new URLSearchParams(query as Record<string, string>).toString()
  return qs === '' ? path : `${path}?${qs}`
}

function originOf(origin: string | URL): string {
  if (typeof origin !== 'string') return origin.origin
  return origin.endsWith('/') ? origin.slice(0, -1) : origin
}

interface Flight {
  /** Re-runs the lookup of each waiting request; `stored` says whether the first answer was stored. */
  waiters: Array<(stored: boolean) => void>
  stored: boolean
  timer: ReturnType<typeof setTimeout> | undefined
  done: boolean
}

/** One cache: its store, its settings, and the requests in flight. */
class HttpCache {
  readonly store: CacheStore
  readonly config: PolicyConfig
  readonly now: () => number
  readonly #collapse: boolean
  readonly #collapseTimeout: number
  readonly #flights = new Map<string, Flight>()
  readonly #revalidating = new Set<string>()

  constructor(options: CacheOptions) {
    if (typeof options !== 'object' || options === null) invalidOption('options', 'options must be an object')
    const { store, shared, policy, capacity, evictionFactor, heuristicFraction, now } = options
    if (store !== undefined) {
      const s = store as unknown as Record<string, unknown>
      if (
        typeof s !== 'object' ||
        s === null ||
        typeof s.get !== 'function' ||
        typeof s.createWriteStream !== 'function' ||
        typeof s.delete !== 'function'
      ) {
        invalidOption('store', 'store must have get, createWriteStream and delete')
      }
      if (capacity !== undefined || evictionFactor !== undefined) {
        invalidOption(
          'capacity',
          'capacity and evictionFactor configure the default store; give them to your store instead',
        )
      }
    }
    if (shared !== undefined && typeof shared !== 'boolean')
      invalidOption('shared', 'shared must be a boolean')
    if (policy !== undefined && !POLICIES.has(policy)) {
      invalidOption('policy', "policy must be 'CACHE_CONTROL_AND_VALIDATORS' or 'RFC_9111'")
    }
    if (
      heuristicFraction !== undefined &&
      (typeof heuristicFraction !== 'number' || !(heuristicFraction >= 0 && heuristicFraction <= 1))
    ) {
      invalidOption('heuristicFraction', 'heuristicFraction must be a number in [0, 1]')
    }
    checkInteger('capacity', capacity, 1)
    checkInteger('maxHeuristicAge', options.maxHeuristicAge, 0)
    checkInteger('retainStale', options.retainStale, 0)
    checkInteger('collapseTimeout', options.collapseTimeout, 0, 2_147_483_647)
    if (options.collapseRequests !== undefined && typeof options.collapseRequests !== 'boolean') {
      invalidOption('collapseRequests', 'collapseRequests must be a boolean')
    }
    if (now !== undefined && typeof now !== 'function') invalidOption('now', 'now must be a function')
    const targets = options.targets
    if (
      targets !== undefined &&
      (!Array.isArray(targets) ||
        targets.some((t) => typeof t !== 'string' || !isToken(t) || t.toLowerCase() === 'cache-control'))
    ) {
      invalidOption('targets', 'targets must be an array of field names other than Cache-Control')
    }
    this.now = now ?? Date.now
    const memoryOptions: { maxEntries?: number; evictionFactor?: number; now?: () => number } = {
      now: this.now,
    }
    if (capacity !== undefined) memoryOptions.maxEntries = capacity
    if (evictionFactor !== undefined) memoryOptions.evictionFactor = evictionFactor
    this.store = store ?? new MemoryStore(memoryOptions)
    this.config = {
      shared: shared ?? false,
      policy: policy ?? 'CACHE_CONTROL_AND_VALIDATORS',
      heuristicFraction: heuristicFraction ?? 0.1,
      maxHeuristicMs: (options.maxHeuristicAge ?? 86_400) * 1000,
      retainStaleMs: (options.retainStale ?? 86_400) * 1000,
      targets: Object.freeze((targets ?? []).map((t) => t.toLowerCase())),
    }
    this.#collapse = options.collapseRequests ?? true
    this.#collapseTimeout = options.collapseTimeout ?? 5000
  }

  dispatch(dispatch: Dispatch, opts: DispatchOptions, handler: Handler): boolean {
    const method = opts.method
    if (opts.origin == null || (opts.upgrade != null && opts.upgrade !== false) || method === 'CONNECT') {
      return dispatch(opts, handler)
    }
    if (method !== 'GET' && method !== 'HEAD') {
      if (SAFE.has(method)) return dispatch(opts, handler)
      return dispatch(opts, new InvalidatingHandler(this, originOf(opts.origin), requestPath(opts), handler))
    }
    const headers = toHeaderRecord(opts.headers)
    // Preconditions other than cache validators are the origin's to answer.
    if (
      headers['if-match'] !== undefined ||
      headers['if-unmodified-since'] !== undefined ||
      headers['if-range'] !== undefined
    ) {
      return dispatch(opts, handler)
    }
    // A single byte range of a GET may be cut from a stored complete response (RFC 9111 §3.4
    // needs no partial storage for that); any other range goes to the origin untouched.
    let range: ByteRange | null = null
    if (headers.range !== undefined) {
      range = method === 'GET' ? parseRange(headers.range) : null
      if (range === null) return dispatch(opts, handler)
    }
    const ccField = headers['cache-control']
    let reqCc = ccField === undefined ? NO_DIRECTIVES : parseCacheControl(ccField, true)
    if (
      ccField === undefined &&
      headers.pragma !== undefined &&
      /(^|,)\s*no-cache\s*(,|$)/i.test(fieldValue(headers.pragma)!)
    ) {
      reqCc = { 'no-cache': true }
    }
    const key: CacheKey = { origin: originOf(opts.origin), method: 'GET', path: requestPath(opts), headers }
    return this.lookup(dispatch, opts, handler, key, reqCc, false, range)
  }

  lookup(
    dispatch: Dispatch,
    opts: DispatchOptions,
    handler: Handler,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    follower: boolean,
    range: ByteRange | null = null,
  ): boolean {
    let result: ReturnType<CacheStore['get']>
    try {
      result = this.store.get(key)
    } catch (err) {
      storeError('get', err)
      result = undefined
    }
    if (isThenable<CacheGetResult | undefined>(result)) {
      result.then(
        (entry) => this.#decideLater(dispatch, opts, handler, key, reqCc, entry, follower, range),
        (err) => {
          storeError('get', err)
          this.#decideLater(dispatch, opts, handler, key, reqCc, undefined, follower, range)
        },
      )
      return true
    }
    return this.decide(dispatch, opts, handler, key, reqCc, result, follower, range)
  }

  /** `decide` off the caller's stack: what would have thrown to the caller goes to its handler. */
  #decideLater(
    dispatch: Dispatch,
    opts: DispatchOptions,
    handler: Handler,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    entry: CacheGetResult | undefined,
    follower: boolean,
    range: ByteRange | null,
  ): void {
    try {
      this.decide(dispatch, opts, handler, key, reqCc, entry, follower, range)
    } catch (err) {
      new ClientStream(handler).fail(err as Error)
    }
  }

  #reusable(entry: CacheGetResult, headers: Headers, now: number): boolean {
    if (!(entry.deleteAt > now) || typeof entry.cachedAt !== 'number' || typeof entry.staleAt !== 'number')
      return false
    if (entry.vary != null && '*' in entry.vary) return false
    // RFC 9111 §3.5: a shared cache answers a request with Authorization only from a
    // response that said so.
    if (this.config.shared && headers.authorization !== undefined) {
      const cc = entry.cacheControlDirectives ?? NO_DIRECTIVES
      if (cc.public !== true && cc['s-maxage'] === undefined && cc['must-revalidate'] !== true) return false
    }
    return true
  }

  decide(
    dispatch: Dispatch,
    opts: DispatchOptions,
    handler: Handler,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    entry: CacheGetResult | undefined,
    follower: boolean,
    range: ByteRange | null = null,
  ): boolean {
    const now = this.now()
    const headers = key.headers!
    if (entry != null && !this.#reusable(entry, headers, now)) {
      discardBody(entry)
      entry = undefined
    }
    if (entry == null) return this.#miss(dispatch, opts, handler, key, reqCc, follower, range)

    const cc = entry.cacheControlDirectives ?? NO_DIRECTIVES
    const age = Math.max(0, now - entry.cachedAt)
    const lifetime = entry.staleAt - entry.cachedAt
    const shared = this.config.shared
    let serve: 'fresh' | 'max-stale' | 'stale-while-revalidate' | undefined
    if (reqCc['no-cache'] !== true && cc['no-cache'] !== true) {
      const reqMaxAge = reqCc['max-age']
      // max-age=0 always asks for validation, whatever the clock's resolution; RFC 8246: an
      // immutable response is not revalidated on a reload (max-age=0) while fresh.
      const withinMaxAge =
        reqMaxAge === undefined ||
        (reqMaxAge > 0 && age <= reqMaxAge * 1000) ||
        (cc.immutable === true && age < lifetime)
      const minFresh = reqCc['min-fresh']
      if (age < lifetime && withinMaxAge && (minFresh === undefined || lifetime - age >= minFresh * 1000)) {
        serve = 'fresh'
      } else if (age >= lifetime && withinMaxAge && !forbidsStale(cc, shared)) {
        const staleness = age - lifetime
        const maxStale = reqCc['max-stale']
        const swr = cc['stale-while-revalidate']
        if (maxStale !== undefined && staleness <= maxStale * 1000) serve = 'max-stale'
        else if (
          swr !== undefined &&
          staleness <= swr * 1000 &&
          reqMaxAge === undefined &&
          minFresh === undefined
        ) {
          serve = 'stale-while-revalidate'
        }
      }
    }
    if (serve !== undefined) {
      if (serve === 'stale-while-revalidate' && opts.method === 'GET') this.#background(dispatch, key, entry)
      if (channels.hit.hasSubscribers) {
        channels.hit.publish({
          origin: key.origin,
          path: key.path,
          method: opts.method,
          age: Math.floor(age / 1000),
          ...(serve === 'fresh' ? {} : { stale: serve }),
        })
      }
      destroyRequestBody(opts)
      const chunks = toChunks(entry.body)
      const stream = new ClientStream(handler)
      if (Array.isArray(chunks))
        this.respond(stream, entry, chunks as Buffer[], opts.method, headers, false, range)
      else {
        const e = entry
        ;(chunks as Promise<Buffer[]>).then(
          (c) => this.respond(stream, e, c, opts.method, headers, false, range),
          (err) => {
            storeError('get', err)
            this.#miss(dispatch, opts, handler, key, reqCc, true, range)
          },
        )
      }
      return true
    }
    if (reqCc['only-if-cached'] === true) {
      discardBody(entry)
      new ClientStream(handler).serve(504, { ...GATEWAY_TIMEOUT }, 'Gateway Timeout', EMPTY)
      return true
    }
    if (range !== null) {
      // Only a response the cache may serve as it is is cut into ranges.
      discardBody(entry)
      return dispatch(opts, handler)
    }
    if (opts.method === 'HEAD') {
      // Forwarded as is; its 200 freshens or invalidates the stored GET (RFC 9111 §4.3.5).
      const chunks = toChunks(entry.body)
      const value = entry
      const send = (c: readonly Buffer[]) =>
        dispatch(opts, new HeadHandler(this, key, value, c, this.now(), handler))
      if (Array.isArray(chunks)) return send(chunks as Buffer[])
      ;(chunks as Promise<Buffer[]>).then(send, (err) => {
        storeError('get', err)
        dispatch(opts, handler)
      })
      return true
    }
    // Stale, or validation required: ask the origin, conditionally when we hold a validator.
    let sieUntil = -1
    if (!forbidsStale(cc, shared)) {
      const sie = Math.max(cc['stale-if-error'] ?? -1, reqCc['stale-if-error'] ?? -1)
      if (sie >= 0) sieUntil = entry.staleAt + sie * 1000
    }
    const chunks = toChunks(entry.body)
    const stream = new ClientStream(handler)
    const value = entry
    const go = (c: readonly Buffer[]) => {
      const revalidation = new RevalidationHandler(
        this,
        dispatch,
        opts,
        key,
        reqCc,
        value,
        c,
        stream,
        sieUntil,
      )
      try {
        revalidation.send(true)
      } catch (err) {
        stream.fail(err as Error)
      }
    }
    if (Array.isArray(chunks)) go(chunks as Buffer[])
    else {
      ;(chunks as Promise<Buffer[]>).then(go, (err) => {
        storeError('get', err)
        this.#miss(dispatch, opts, handler, key, reqCc, true)
      })
    }
    return true
  }

  #miss(
    dispatch: Dispatch,
    opts: DispatchOptions,
    handler: Handler,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    follower: boolean,
    range: ByteRange | null = null,
  ): boolean {
    if (reqCc['only-if-cached'] === true) {
      new ClientStream(handler).serve(504, { ...GATEWAY_TIMEOUT }, 'Gateway Timeout', EMPTY)
      return true
    }
    if (!follower && channels.miss.hasSubscribers) {
      channels.miss.publish({ origin: key.origin, path: key.path, method: opts.method })
    }
    // A range answer is partial: it is passed on and never stored.
    if (opts.method === 'HEAD' || reqCc['no-store'] === true || range !== null) return dispatch(opts, handler)
    let flight: Flight | undefined
    if (this.#collapse && !follower && reqCc['no-cache'] !== true) {
      const fk = `${key.origin} ${key.path}`
      const current = this.#flights.get(fk)
      if (current !== undefined) {
        if (channels.collapse.hasSubscribers)
          channels.collapse.publish({ origin: key.origin, path: key.path })
        // A waiter whose Vary values did not match a stored answer may collapse again; after
        // an answer that was not stored it goes to the origin directly (no serialising).
        current.waiters.push((stored) => {
          try {
            this.lookup(dispatch, opts, handler, key, reqCc, !stored)
          } catch (err) {
            new ClientStream(handler).fail(err as Error)
          }
        })
        if (current.timer === undefined && this.#collapseTimeout > 0) {
          current.timer = setTimeout(() => this.release(fk, current), this.#collapseTimeout)
          current.timer.unref?.()
        }
        return true
      }
      flight = { waiters: [], stored: false, timer: undefined, done: false }
      this.#flights.set(fk, flight)
      const f = flight
      const storing = new StoringHandler(this, key, reqCc, handler, this.now(), (stored) => {
        f.stored = stored
        this.release(fk, f)
      })
      try {
        return dispatch(opts, storing)
      } catch (err) {
        this.release(fk, f)
        throw err
      }
    }
    return dispatch(opts, new StoringHandler(this, key, reqCc, handler, this.now(), undefined))
  }

  release(fk: string, flight: Flight): void {
    if (flight.done) return
    flight.done = true
    if (flight.timer !== undefined) clearTimeout(flight.timer)
    if (this.#flights.get(fk) === flight) this.#flights.delete(fk)
    for (const w of flight.waiters) w(flight.stored)
  }

  /** Serves a stored response to `stream`, answering the client's own validators with 304 (RFC 9111 §4.3.2). */
  respond(
    stream: ClientStream,
    entry: CacheValue,
    chunks: readonly Buffer[],
    method: string,
    reqHeaders: Headers,
    validated: boolean,
    range: ByteRange | null = null,
  ): void {
    const now = this.now()
    const stored = entry.headers
    const headers: Headers = {}
    const cc = entry.cacheControlDirectives ?? NO_DIRECTIVES
    // no-cache="field": the field is not sent without a successful validation (RFC 9111 §5.2.2.4).
    const hidden = !validated && Array.isArray(cc['no-cache']) ? cc['no-cache'] : undefined
    for (const name in stored) {
      if (hidden?.includes(name)) continue
      headers[name] = stored[name]!
    }
    headers.age = String(Math.floor(Math.max(0, now - entry.cachedAt) / 1000))
    if (
      (reqHeaders['if-none-match'] !== undefined || reqHeaders['if-modified-since'] !== undefined) &&
      evaluateConditionals({
        method,
        headers: reqHeaders,
        etag: fieldValue(stored.etag),
        lastModified: fieldValue(stored['last-modified']) ?? fieldValue(stored.date) ?? entry.cachedAt,
        status: entry.statusCode,
      }).kind === 'not-modified'
    ) {
      const head = notModifiedHeaders(headers)
      head.age = headers.age
      stream.serve(304, head, 'Not Modified', EMPTY)
      return
    }
    if (range !== null && entry.statusCode === 200 && stored['content-range'] === undefined) {
      let total = 0
      for (const c of chunks) total += c.length
      const r = resolveRange(range, total)
      // An unsatisfiable range is ignored (RFC 9110 §14.2 lets a server send the whole 200).
      if (r !== null) {
        headers['content-range'] = `bytes ${r.start}-${r.end}/${total}`
        headers['content-length'] = String(r.end - r.start + 1)
        stream.serve(206, headers, 'Partial Content', sliceChunks(chunks, r.start, r.end + 1))
        return
      }
    }
    stream.serve(entry.statusCode, headers, entry.statusMessage, method === 'HEAD' ? EMPTY : chunks)
  }

  /** Starts writing a response to the store if the rules allow; undefined when not stored. */
  beginStore(
    key: CacheKey,
    reqCc: CacheControlDirectives,
    status: number,
    statusMessage: string,
    resHeaders: Record<string, string | string[] | undefined>,
    requestTime: number,
    redirected: boolean,
  ): Writable | undefined {
    if (redirected) return undefined
    const decision = decideStore(
      this.config,
      key.headers ?? {},
      reqCc,
      status,
      statusMessage,
      resHeaders,
      requestTime,
      this.now(),
    )
    if (decision.kind === 'skip') return undefined
    return this.write(key, decision.value)
  }

  write(key: CacheKey, value: CacheValue): Writable | undefined {
    let ws: Writable | undefined
    try {
      ws = this.store.createWriteStream(key, value)
    } catch (err) {
      storeError('write', err)
      return undefined
    }
    if (ws == null) return undefined
    ws.on('error', onWriteError)
    if (channels.store.hasSubscribers) {
      channels.store.publish({ origin: key.origin, path: key.path, statusCode: value.statusCode })
    }
    return ws
  }

  /** Drops every stored response for origin + path. */
  drop(origin: string, path: string): void {
    try {
      const r = this.store.delete({ origin, method: 'GET', path })
      if (isThenable(r)) (r as Promise<void>).catch(ignoreRejection)
    } catch (err) {
      storeError('delete', err)
    }
  }

  /** RFC 9111 §4.4: the target URI and same-origin Location / Content-Location. */
  invalidate(origin: string, path: string, headers: Record<string, string | string[] | undefined>): void {
    this.drop(origin, path)
    if (channels.invalidate.hasSubscribers) channels.invalidate.publish({ origin, path })
    for (const field of ['location', 'content-location']) {
      const v = fieldValue(headers[field])
      if (v === undefined) continue
      let url: URL
      try {
        url = new URL(v.trim(), origin + path)
      } catch {
        continue
      }
      if (url.origin !== origin) continue
      const target = url.pathname + url.search
      this.drop(origin, target)
      if (channels.invalidate.hasSubscribers) channels.invalidate.publish({ origin, path: target })
    }
  }

  #background(dispatch: Dispatch, key: CacheKey, entry: CacheGetResult): void {
    const rk = `${key.origin} ${key.path}`
    if (this.#revalidating.has(rk)) return
    this.#revalidating.add(rk)
    const chunks = toChunks(entry.body)
    const opts: DispatchOptions = {
      origin: key.origin,
      path: key.path,
      method: 'GET',
      headers: key.headers ?? {},
    }
    const start = (c: readonly Buffer[]) => {
      const r = new RevalidationHandler(this, dispatch, opts, key, NO_DIRECTIVES, entry, c, null, -1, () =>
        this.#revalidating.delete(rk),
      )
      try {
        r.send(true)
      } catch (err) {
        this.#revalidating.delete(rk)
        storeError('get', err)
      }
    }
    // Off the caller's stack: the stale answer goes out first.
    queueMicrotask(() => {
      if (Array.isArray(chunks)) start(chunks as Buffer[])
      else (chunks as Promise<Buffer[]>).then(start, () => this.#revalidating.delete(rk))
    })
  }
}

function destroyRequestBody(opts: DispatchOptions): void {
  const body = opts.body as
    | { destroy?: () => void; on?: (e: string, f: () => void) => void }
    | null
    | undefined
  if (body != null && typeof body.destroy === 'function' && typeof body.on === 'function') {
    body.on('error', noop)
    body.destroy()
  }
}

function noop(): void {}

/**
 * The redirect interceptor's history, shared by reference and filled as hops answer: by
 * the final response it holds every URL that answered, so more than one means the
 * response came from somewhere else than the URL it would be stored under.
 */
function historyOf(context: unknown): unknown[] | undefined {
  const history = (context as { history?: unknown } | null | undefined)?.history
  return Array.isArray(history) ? history : undefined
}

/** A miss: forwards the origin's response and writes it to the store when the rules allow. */
class StoringHandler implements Handler {
  readonly #cache: HttpCache
  readonly #key: CacheKey
  readonly #reqCc: CacheControlDirectives
  readonly #handler: Handler
  readonly #requestTime: number
  readonly #release: ((stored: boolean) => void) | undefined
  #ws: Writable | undefined
  #history: unknown[] | undefined

  constructor(
    cache: HttpCache,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    handler: Handler,
    requestTime: number,
    release: ((stored: boolean) => void) | undefined,
  ) {
    this.#cache = cache
    this.#key = key
    this.#reqCc = reqCc
    this.#handler = handler
    this.#requestTime = requestTime
    this.#release = release
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#history = historyOf(context)
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    socket: import('node:stream').Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    // An interim (1xx) response is passed on; the final one follows on the same request.
    if (statusCode < 200) {
      this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
      return
    }
    this.#ws?.destroy()
    this.#ws = this.#cache.beginStore(
      this.#key,
      this.#reqCc,
      statusCode,
      statusMessage ?? '',
      headers,
      this.#requestTime,
      (this.#history?.length ?? 0) > 1,
    )
    const release = this.#release
    if (release !== undefined) {
      const ws = this.#ws
      if (ws === undefined) release(false)
      else ws.once('close', () => release(ws.writableFinished))
    }
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#ws?.write(chunk)
    this.#handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#ws?.end()
    this.#ws = undefined
    this.#handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Controller, err: Error): void {
    const ws = this.#ws
    this.#ws = undefined
    if (ws !== undefined) ws.destroy()
    else this.#release?.(false)
    this.#handler.onResponseError?.(controller, err)
  }
}

/**
 * A stale entry's trip to the origin: a 304 freshens the entry and the cache answers;
 * a 5xx or a network error inside stale-if-error serves the stale entry; anything else
 * is forwarded and stored like a miss. With no client stream it runs in the background.
 */
class RevalidationHandler implements Handler {
  readonly #cache: HttpCache
  readonly #dispatch: Dispatch
  readonly #opts: DispatchOptions
  readonly #key: CacheKey
  readonly #reqCc: CacheControlDirectives
  readonly #entry: CacheValue
  readonly #chunks: readonly Buffer[]
  readonly #client: ClientStream | null
  readonly #sieUntil: number
  readonly #done: (() => void) | undefined
  #mode: 'pending' | 'forward' | 'answered' | 'refetch' = 'pending'
  #conditional = false
  #requestTime = 0
  #history: unknown[] | undefined
  #ws: Writable | undefined

  constructor(
    cache: HttpCache,
    dispatch: Dispatch,
    opts: DispatchOptions,
    key: CacheKey,
    reqCc: CacheControlDirectives,
    entry: CacheValue,
    chunks: readonly Buffer[],
    client: ClientStream | null,
    sieUntil: number,
    done?: () => void,
  ) {
    this.#cache = cache
    this.#dispatch = dispatch
    this.#opts = opts
    this.#key = key
    this.#reqCc = reqCc
    this.#entry = entry
    this.#chunks = chunks
    this.#client = client
    this.#sieUntil = sieUntil
    this.#done = done
  }

  /** Sends the request: conditional on the entry's validators, or plain when asked (or when it has none). */
  send(conditional: boolean): void {
    const headers: Headers = {}
    const src = this.#key.headers ?? {}
    for (const name in src) if (!CLIENT_VALIDATORS.includes(name)) headers[name] = src[name]!
    this.#conditional = false
    if (conditional) {
      const tag = this.#entry.etag ?? fieldValue(this.#entry.headers.etag)
      const lm = fieldValue(this.#entry.headers['last-modified'])
      if (tag !== undefined) headers['if-none-match'] = tag
      if (lm !== undefined) headers['if-modified-since'] = lm
      this.#conditional = tag !== undefined || lm !== undefined
    }
    this.#mode = 'pending'
    this.#requestTime = this.#cache.now()
    this.#dispatch({ ...this.#opts, headers }, this)
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#history = historyOf(context)
    const client = this.#client
    if (client === null) return
    client.upstream = controller
    if (client.aborted) {
      controller.abort(client.reason!)
      return
    }
    client.start(context)
  }

  onRequestUpgrade(): void {}

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    const cache = this.#cache
    const key = this.#key
    const now = cache.now()
    const client = this.#client
    if (statusCode < 200) {
      if (this.#mode === 'pending') client?.informational(statusCode, headers, statusMessage ?? '')
      return
    }
    if (statusCode === 304 && this.#conditional) {
      const tag = fieldValue(headers.etag)
      const stored = this.#entry.etag ?? fieldValue(this.#entry.headers.etag)
      if (
        (this.#history?.length ?? 0) > 1 ||
        (tag !== undefined && (stored === undefined || !weakMatch(tag, stored)))
      ) {
        // The 304 is for another representation: fetch the full response instead.
        this.#mode = 'refetch'
        return
      }
      const value = freshen(cache.config, this.#entry, headers, this.#requestTime, now)
      const ws = this.#reqCc['no-store'] === true ? undefined : cache.write(key, value)
      if (ws !== undefined) {
        for (const c of this.#chunks) ws.write(c)
        ws.end()
      }
      this.#publish('not-modified')
      this.#mode = 'answered'
      if (client !== null) {
        client.cached = true
        cache.respond(client, value, this.#chunks, this.#opts.method, key.headers ?? {}, true)
      }
      return
    }
    if (statusCode >= 500 && now <= this.#sieUntil) {
      this.#publish('error')
      this.#mode = 'answered'
      if (client !== null) this.#serveStale(client)
      return
    }
    this.#publish('modified')
    this.#mode = 'forward'
    this.#ws = cache.beginStore(
      key,
      this.#reqCc,
      statusCode,
      statusMessage ?? '',
      headers,
      this.#requestTime,
      (this.#history?.length ?? 0) > 1,
    )
    if (this.#ws === undefined && statusCode < 500) cache.drop(key.origin, key.path)
    if (client !== null) {
      try {
        client.forwardStart(statusCode, headers, statusMessage ?? '')
      } catch (err) {
        controller.abort(err as Error)
      }
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#mode !== 'forward') return
    this.#ws?.write(chunk)
    if (this.#client !== null) {
      try {
        this.#client.forwardData(chunk)
      } catch (err) {
        controller.abort(err as Error)
      }
    }
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    if (this.#mode === 'refetch') {
      try {
        this.send(false)
      } catch (err) {
        this.#fail(err as Error)
      }
      return
    }
    if (this.#mode === 'forward') {
      this.#ws?.end()
      this.#ws = undefined
      this.#client?.end(trailers)
    }
    this.#done?.()
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#ws?.destroy()
    this.#ws = undefined
    if (this.#mode === 'answered') {
      this.#done?.()
      return
    }
    this.#fail(err)
  }

  #fail(err: Error): void {
    const client = this.#client
    if (
      (this.#mode === 'pending' || this.#mode === 'refetch') &&
      this.#cache.now() <= this.#sieUntil &&
      client !== null &&
      !client.aborted
    ) {
      this.#publish('error')
      this.#mode = 'answered'
      this.#serveStale(client)
    } else {
      if (this.#mode === 'pending') this.#publish('error')
      client?.fail(err)
    }
    this.#done?.()
  }

  #serveStale(client: ClientStream): void {
    client.cached = true
    const key = this.#key
    if (channels.hit.hasSubscribers) {
      channels.hit.publish({
        origin: key.origin,
        path: key.path,
        method: this.#opts.method,
        age: Math.floor(Math.max(0, this.#cache.now() - this.#entry.cachedAt) / 1000),
        stale: 'stale-if-error',
      })
    }
    this.#cache.respond(client, this.#entry, this.#chunks, this.#opts.method, key.headers ?? {}, false)
  }

  #publish(result: 'not-modified' | 'modified' | 'error'): void {
    if (channels.revalidate.hasSubscribers) {
      channels.revalidate.publish({
        origin: this.#key.origin,
        path: this.#key.path,
        result,
        background: this.#client === null,
      })
    }
  }
}

/**
 * A HEAD sent to the origin while a stale GET is stored: a 200 whose validators and length
 * agree with the stored response freshens its headers; one that disagrees drops it (§4.3.5).
 */
class HeadHandler implements Handler {
  readonly #cache: HttpCache
  readonly #key: CacheKey
  readonly #entry: CacheValue
  readonly #chunks: readonly Buffer[]
  readonly #requestTime: number
  readonly #handler: Handler

  constructor(
    cache: HttpCache,
    key: CacheKey,
    entry: CacheValue,
    chunks: readonly Buffer[],
    requestTime: number,
    handler: Handler,
  ) {
    this.#cache = cache
    this.#key = key
    this.#entry = entry
    this.#chunks = chunks
    this.#requestTime = requestTime
    this.#handler = handler
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    socket: import('node:stream').Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    if (statusCode === 200) {
      const stored = this.#entry.headers
      const differs = (name: string) => {
        const a = fieldValue(headers[name])
        const b = fieldValue(stored[name])
        return a !== undefined && b !== undefined && a !== b
      }
      const key = this.#key
      if (differs('etag') || differs('last-modified') || differs('content-length'))
        this.#cache.drop(key.origin, key.path)
      else if (fieldValue(headers.etag) !== undefined || fieldValue(headers['last-modified']) !== undefined) {
        const value = freshen(this.#cache.config, this.#entry, headers, this.#requestTime, this.#cache.now())
        const ws = this.#cache.write(key, value)
        if (ws !== undefined) {
          for (const c of this.#chunks) ws.write(c)
          ws.end()
        }
      }
    }
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Controller, err: Error): void {
    this.#handler.onResponseError?.(controller, err)
  }
}

/** Forwards an unsafe request and, on a non-error answer, invalidates what it changed (RFC 9111 §4.4). */
class InvalidatingHandler implements Handler {
  readonly #cache: HttpCache
  readonly #origin: string
  readonly #path: string
  readonly #handler: Handler

  constructor(cache: HttpCache, origin: string, path: string, handler: Handler) {
    this.#cache = cache
    this.#origin = origin
    this.#path = path
    this.#handler = handler
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    socket: import('node:stream').Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    if (statusCode >= 200 && statusCode < 400) this.#cache.invalidate(this.#origin, this.#path, headers)
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Controller, err: Error): void {
    this.#handler.onResponseError?.(controller, err)
  }
}

/**
 * An RFC 9111 HTTP cache as an undici interceptor, for `Agent.compose(cache())`,
 * `undici.request` and `fetch(url, { dispatcher })`. Throws X_ERR_CACHE_INVALID_OPTION.
 */
export function cache(options: CacheOptions = {}): Dispatcher.DispatcherComposeInterceptor {
  const c = new HttpCache(options)
  return (dispatch) => (opts, handler) => c.dispatch(dispatch, opts, handler)
}
