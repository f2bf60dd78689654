// ClientPool: an undici Dispatcher holding one pool per origin. It adds what undici's Agent
// lacks: a hard connection cap with a wait queue that times out on time, idle eviction a
// server hint cannot extend, HTTP/2 sessions sized by the stream limit, and statistics.
import { buildConnector, Dispatcher } from 'undici'
import { ClientPoolError } from './errors.js'
import { LegacyHandler } from './internal/legacy-handler.js'
import { OriginPool, type OriginStats } from './internal/origin-pool.js'
import { PoolRequest } from './internal/pool-request.js'
import { forwardConnector, tunnelConnector } from './internal/proxy.js'
import { type ClientPoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options.js'

type Handler = Dispatcher.DispatchHandler

function originKey(origin: Dispatcher.DispatchOptions['origin']): string | null {
  if (typeof origin === 'string') return origin
  if (origin instanceof URL) return origin.origin
  return null
}

/** Parses an origin string; null unless it is `http(s)://host[:port]` with nothing after. */
function normaliseOrigin(key: string): string | null {
  let url: URL
  try {
    url = new URL(key)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null
  if (url.pathname !== '/' && url.pathname !== '') return null
  return url.origin
}

/**
 * An undici `Dispatcher` with one connection pool per origin. Use it as `dispatcher` for
 * undici's `request()` and `fetch()`, compose interceptors over it, or let `@x/http`'s Client own one.
 */
export class ClientPool extends Dispatcher {
  readonly #options: ResolvedPoolOptions
  readonly #connector: buildConnector.connector
  readonly #origins = new Map<string, OriginPool>()
  #closed = false
  #destroyed = false
  #onEmpty = (pool: OriginPool): void => {
    for (const [key, p] of this.#origins) if (p === pool) this.#origins.delete(key)
  }

  /** Throws `ClientPoolError` (`X_ERR_POOL_INVALID_OPTION`) for an invalid option. */
  constructor(options?: ClientPoolOptions) {
    super()
    const o = resolvePoolOptions(options)
    this.#options = o
    let base = o.connector
    if (base === undefined) {
      try {
        base = buildConnector({
          ...(o.tls as buildConnector.BuildOptions),
          allowH2: o.httpVersion === '2',
          timeout: o.connectTimeout,
        })
      } catch (cause) {
        throw new ClientPoolError('X_ERR_POOL_INVALID_OPTION', 'tls options were refused', {
          option: 'tls',
          cause,
        })
      }
    }
    const proxy = o.proxy
    if (proxy === undefined) this.#connector = base
    else {
      const tunnel = tunnelConnector(proxy, o.connectTimeout, base)
      const forward = forwardConnector(proxy, base)
      this.#connector = (opts, cb) => (opts.protocol === 'https:' ? tunnel(opts, cb) : forward(opts, cb))
    }
  }

  /** The options in force, defaults applied. */
  get options(): ResolvedPoolOptions {
    return this.#options
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (handler === null || typeof handler !== 'object') {
      throw new ClientPoolError('X_ERR_POOL_INVALID_OPTION', 'handler must be an object', {
        option: 'handler',
      })
    }
    const h: Handler = typeof handler.onRequestStart === 'function' ? handler : new LegacyHandler(handler)
    const key = originKey(opts?.origin)
    let pool = key === null ? undefined : this.#origins.get(key)
    if (pool === undefined) {
      const origin = key === null ? null : normaliseOrigin(key)
      if (origin === null) {
        fail(
          h,
          new ClientPoolError('X_ERR_POOL_INVALID_ORIGIN', `not an http(s) origin: ${String(opts?.origin)}`, {
            origin: String(opts?.origin),
          }),
        )
        return false
      }
      if (this.#closed) {
        fail(h, new ClientPoolError('X_ERR_POOL_CLOSED', 'the pool is closed', { origin }))
        return false
      }
      pool = this.#origins.get(origin)
      if (pool === undefined) {
        pool = new OriginPool(origin, this.#options, this.#connector, this.#onEmpty)
        this.#origins.set(origin, pool)
      }
      if (key !== origin) this.#origins.set(key as string, pool)
    } else if (this.#closed) {
      fail(h, new ClientPoolError('X_ERR_POOL_CLOSED', 'the pool is closed', { origin: pool.origin }))
      return false
    }
    const req = new PoolRequest(pool, opts, h)
    h.onRequestStart?.(req, undefined)
    if (req.aborted) {
      req.fail(req.reason ?? new Error('aborted'))
      return false
    }
    pool.submit(req)
    return true
  }

  /**
   * Statistics per origin (keyed by `scheme://host:port`): connections, active, idle, queued,
   * in-flight, and the protocol in use.
   */
  stats(): Record<string, OriginStats> {
    const out: Record<string, OriginStats> = {}
    for (const pool of new Set(this.#origins.values())) out[pool.origin] = pool.stats()
    return out
  }

  /** Stops taking requests, lets waiting and running ones finish, then closes every connection. */
  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | undefined {
    this.#closed = true
    const pools = [...new Set(this.#origins.values())]
    const done = Promise.all(pools.map((p) => p.close())).then(() => {
      for (const p of pools) this.#onEmpty(p)
    })
    if (callback === undefined) return done
    done.then(callback, callback)
    return undefined
  }

  /** Fails waiting and running requests with `err` (default `X_ERR_POOL_CLOSED`) and closes every socket. */
  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(
    errOrCallback?: Error | null | (() => void),
    callback?: () => void,
  ): Promise<void> | undefined {
    if (typeof errOrCallback === 'function') {
      callback = errOrCallback
      errOrCallback = null
    }
    this.#closed = true
    this.#destroyed = true
    const err = errOrCallback ?? new ClientPoolError('X_ERR_POOL_CLOSED', 'the pool was destroyed')
    const pools = [...new Set(this.#origins.values())]
    this.#origins.clear()
    const done = Promise.all(pools.map((p) => p.destroy(err))).then(() => {})
    if (callback === undefined) return done
    done.then(callback, callback)
    return undefined
  }
}

function fail(handler: Handler, err: Error): void {
  const req = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} }
  handler.onRequestStart?.(req, undefined)
  handler.onResponseError?.(req, err)
}

export type { OriginStats }
