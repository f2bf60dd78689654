// The connections of one origin and the requests waiting for them. Each connection is an
// undici Client (one socket at a time); this file decides how many exist, which one a request
// runs on, how long a request may wait, and when an idle one is closed.
import { type buildConnector, type Dispatcher, Client as UndiciClient } from 'undici'
import { ClientPoolError } from '../errors.js'
import type { ResolvedPoolOptions } from '../options.js'
import { publishConnect, publishDisconnect, publishEvict, publishWaitTimeout } from './diagnostics.js'
import { DONE, type PoolRequest, QUEUED, RUNNING } from './pool-request.js'

type Protocol = 'unknown' | 'h1' | 'h2'

/** One connection slot: an undici Client and what the pool knows about it. */
export class Connection {
  readonly client: UndiciClient
  inflight = 0
  /** Requests it may carry at once: 1 on HTTP/1.1 (and before ALPN), the stream limit on h2. */
  capacity = 1
  protocol: Protocol = 'unknown'
  connected = false
  /** Whether it sits on the origin's stack of connections with spare capacity. */
  inFree = false
  closed = false
  idleSince = 0
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(pool: OriginPool, options: UndiciClient.Options) {
    this.client = new UndiciClient(pool.origin, { ...options, connect: pool.connectorFor(this) })
    const origin = pool.origin
    this.client.on('connect', () => {
      this.connected = true
      publishConnect(origin, this.protocol)
    })
    this.client.on('disconnect', (_o, _t, err) => {
      this.connected = false
      publishDisconnect(origin, err)
    })
    this.client.on('connectionError', (_o, _t, err) => {
      this.connected = false
      pool.onConnectionError(this, err)
    })
  }
}

function onIdleTimer(conn: Connection, pool: OriginPool): void {
  conn.idleTimer = undefined
  if (conn.closed || conn.inflight > 0) return
  const idle = Date.now() - conn.idleSince
  const left = pool.options.idleTimeout - idle
  if (left > 0) {
    conn.idleTimer = setTimeout(onIdleTimer, left, conn, pool)
    conn.idleTimer.unref()
    return
  }
  pool.evict(conn, idle)
}

/**
 * Closes a connection that carries none of our requests. destroy(), not close(): with nothing
 * in flight they do the same, and undici's close() never settles after some connect failures
 * (a certificate for another host name leaves its request counted as running).
 */
function shut(conn: Connection): Promise<void> {
  return conn.client.destroy().catch(() => {})
}

function onWaitTimeout(req: PoolRequest): void {
  req.timer = undefined
  if (req.state !== QUEUED) return
  const pool = req.pool
  pool.drop(req)
  publishWaitTimeout(pool.origin, pool.options.waitTime)
  req.fail(
    new ClientPoolError(
      'X_ERR_POOL_WAIT_TIMEOUT',
      `no connection to ${pool.origin} became free within ${pool.options.waitTime} ms`,
      { origin: pool.origin },
    ),
  )
}

const NO_IDEMPOTENT_NEEDED = new Set(['GET', 'HEAD'])

export class OriginPool {
  readonly conns: Connection[] = []
  /** Connections with spare capacity, most recently freed last (reused first). */
  readonly free: Connection[] = []
  head: PoolRequest | null = null
  tail: PoolRequest | null = null
  queued = 0
  inflight = 0
  /** The protocol the last connection negotiated; 'unknown' until one connects (h2 origins only). */
  protocol: Protocol
  /** While the first connection of an h2-capable origin negotiates, no other one is opened. */
  probe: Connection | null = null
  #closing: (() => void) | null = null
  readonly #clientOptions: UndiciClient.Options
  readonly #h2: boolean
  /** `http://host:port` through a forward proxy: requests are written in absolute form. */
  readonly #absoluteForm: boolean

  constructor(
    readonly origin: string,
    readonly options: ResolvedPoolOptions,
    readonly connector: buildConnector.connector,
    readonly onEmpty: (pool: OriginPool) => void,
  ) {
    const https = origin.startsWith('https:')
    this.#h2 = https && options.httpVersion === '2'
    this.#absoluteForm = !https && options.proxy !== undefined
    this.protocol = this.#h2 ? 'unknown' : 'h1'
    const neverKeepAlive = options.keepAlive === 'NEVER'
    this.#clientOptions = {
      // pipelining 0 is undici's "no keep-alive": Connection: close and a socket per request.
      pipelining: neverKeepAlive ? 0 : 1,
      // Both bounds set, so a server's Keep-Alive hint can shorten the idle time, never extend it.
      keepAliveTimeout: options.idleTimeout,
      keepAliveMaxTimeout: options.idleTimeout,
      keepAliveTimeoutThreshold: Math.min(2_000, Math.floor(options.idleTimeout / 2)),
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      maxHeaderSize: options.maxHeaderSize,
      maxResponseSize: options.maxResponseSize === Number.POSITIVE_INFINITY ? -1 : options.maxResponseSize,
      allowH2: this.#h2,
      maxConcurrentStreams: options.maxActiveStreamsPerConnection,
    }
  }

  /** The connector of one connection: records the protocol ALPN chose and sizes the connection for it. */
  connectorFor(conn: Connection): buildConnector.connector {
    return (opts, callback) => {
      this.connector(opts, (err, socket) => {
        if (err !== null) {
          callback(err, null)
          return
        }
        const h2 = (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2'
        conn.protocol = h2 ? 'h2' : 'h1'
        this.protocol = conn.protocol
        if (this.probe === conn) this.probe = null
        if (h2) {
          conn.capacity = this.options.maxActiveStreamsPerConnection
          conn.client.pipelining = conn.capacity
        } else {
          conn.capacity = 1
          conn.client.pipelining = this.options.keepAlive === 'NEVER' ? 0 : 1
        }
        callback(null, socket)
        if (!conn.closed && conn.inflight < conn.capacity && !conn.inFree) {
          conn.inFree = true
          this.free.push(conn)
        }
        this.drain()
      })
    }
  }

  onConnectionError(conn: Connection, _err: Error): void {
    if (this.probe === conn) {
      this.probe = null
      // Let the next waiting request try a fresh connection.
      queueMicrotask(() => this.drain())
    }
  }

  /** A connection with room for one more request: a free one, else a new one if the cap allows. */
  pick(): Connection | null {
    const free = this.free
    while (free.length > 0) {
      const c = free[free.length - 1]!
      if (!c.closed && c.inflight < c.capacity) return c
      free.pop()
      c.inFree = false
    }
    if (this.conns.length >= this.options.maxActiveConnections) return null
    if (this.probe !== null) return null
    const conn = new Connection(this, this.#clientOptions)
    this.conns.push(conn)
    if (this.protocol === 'unknown') this.probe = conn
    else if (this.protocol === 'h2') {
      // The origin spoke h2 last time: size the new connection for it before ALPN answers,
      // so a burst fills it instead of opening a connection per request.
      conn.capacity = this.options.maxActiveStreamsPerConnection
      conn.client.pipelining = conn.capacity
    }
    return conn
  }

  submit(req: PoolRequest): void {
    const conn = this.head === null ? this.pick() : null
    if (conn !== null) this.run(conn, req)
    else this.enqueue(req)
  }

  run(conn: Connection, req: PoolRequest): void {
    conn.inflight++
    this.inflight++
    if (conn.inflight < conn.capacity) {
      if (!conn.inFree) {
        conn.inFree = true
        this.free.push(conn)
      }
    } else if (conn.inFree) {
      const free = this.free
      if (free[free.length - 1] === conn) free.pop()
      else free.splice(free.lastIndexOf(conn), 1)
      conn.inFree = false
    }
    req.conn = conn
    req.state = RUNNING
    let opts = req.opts
    if (this.#absoluteForm) opts = this.absoluteForm(opts)
    if (this.options.keepAlive === 'ALWAYS') opts = withoutConnectionHeader(opts)
    // undici keeps a non-idempotent request alone on a connection; h2 streams are independent,
    // so requests may share a session whatever their method.
    if (conn.protocol === 'h2' && opts.idempotent !== true && !NO_IDEMPOTENT_NEEDED.has(opts.method)) {
      opts = { ...opts, idempotent: true }
    }
    conn.client.dispatch(opts, req)
  }

  absoluteForm(opts: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
    const auth = this.options.proxy?.authorization
    const path = opts.path.startsWith('/') ? `${this.origin}${opts.path}` : opts.path
    if (auth === undefined) return { ...opts, path }
    return { ...opts, path, headers: appendHeader(opts.headers, 'proxy-authorization', auth) }
  }

  enqueue(req: PoolRequest): void {
    const wait = this.options.waitTime
    req.state = QUEUED
    req.prev = this.tail
    if (this.tail === null) this.head = req
    else this.tail.next = req
    this.tail = req
    this.queued++
    if (wait === 0) onWaitTimeout(req)
    else if (wait !== Number.POSITIVE_INFINITY) req.timer = setTimeout(onWaitTimeout, wait, req)
  }

  unqueue(req: PoolRequest): void {
    if (req.timer !== undefined) {
      clearTimeout(req.timer)
      req.timer = undefined
    }
    if (req.prev === null) this.head = req.next
    else req.prev.next = req.next
    if (req.next === null) this.tail = req.prev
    else req.next.prev = req.prev
    req.prev = null
    req.next = null
    this.queued--
  }

  /** Takes a request out of the queue for good (it timed out or was aborted). */
  drop(req: PoolRequest): void {
    this.unqueue(req)
    this.#checkClosed()
  }

  /** Runs waiting requests while connections have room. */
  drain(): void {
    while (this.head !== null) {
      const conn = this.pick()
      if (conn === null) return
      const req = this.head
      this.unqueue(req)
      if (req.state === QUEUED) this.run(conn, req)
    }
  }

  release(conn: Connection): void {
    conn.inflight--
    this.inflight--
    if (conn.closed) {
      this.drain()
      this.#checkClosed()
      return
    }
    const next = this.head
    if (next !== null) {
      // Hand the slot straight to the oldest waiting request.
      this.unqueue(next)
      this.run(conn, next)
      return
    }
    if (conn.inflight === 0) {
      conn.idleSince = Date.now()
      if (conn.idleTimer === undefined) {
        conn.idleTimer = setTimeout(onIdleTimer, this.options.idleTimeout, conn, this)
        conn.idleTimer.unref()
      }
    }
    if (!conn.inFree) {
      conn.inFree = true
      this.free.push(conn)
    }
    this.#checkClosed()
  }

  evict(conn: Connection, idleMs: number): void {
    this.#remove(conn)
    publishEvict(this.origin, idleMs)
    void shut(conn)
    if (this.conns.length === 0 && this.head === null) this.onEmpty(this)
  }

  #remove(conn: Connection): void {
    conn.closed = true
    if (conn.idleTimer !== undefined) {
      clearTimeout(conn.idleTimer)
      conn.idleTimer = undefined
    }
    const i = this.conns.indexOf(conn)
    if (i !== -1) this.conns.splice(i, 1)
    if (conn.inFree) {
      const j = this.free.indexOf(conn)
      if (j !== -1) this.free.splice(j, 1)
      conn.inFree = false
    }
    if (this.probe === conn) this.probe = null
  }

  /** Resolves once every waiting and running request is done, then closes every connection. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#closing = resolve
      this.#checkClosed()
    })
  }

  #checkClosed(): void {
    const done = this.#closing
    if (done === null || this.head !== null || this.inflight > 0) return
    this.#closing = null
    const conns = this.conns.splice(0)
    for (const c of conns) this.#remove(c)
    void Promise.all(conns.map(shut)).then(() => done())
  }

  /** Fails every waiting request with `err` and destroys every connection (running requests fail). */
  destroy(err: Error): Promise<void> {
    while (this.head !== null) {
      const req = this.head
      this.unqueue(req)
      req.fail(err)
    }
    const conns = this.conns.splice(0)
    for (const c of conns) this.#remove(c)
    return Promise.all(conns.map((c) => c.client.destroy(err).catch(() => {}))).then(() => {
      const done = this.#closing
      this.#closing = null
      done?.()
    })
  }

  stats(): OriginStats {
    let connected = 0
    let active = 0
    let idle = 0
    for (const c of this.conns) {
      if (c.connected) connected++
      if (c.inflight > 0) active++
      else if (c.connected) idle++
    }
    return {
      protocol: this.protocol === 'unknown' ? null : this.protocol,
      connections: this.conns.length,
      connected,
      active,
      idle,
      inflight: this.inflight,
      queued: this.queued,
    }
  }
}

/** Statistics of one origin's pool at one moment. */
export interface OriginStats {
  /** What the last connection negotiated: `'h1'` or `'h2'`; `null` before the first one. */
  readonly protocol: 'h1' | 'h2' | null
  /** Connections the pool holds (connected, connecting, or waiting to reconnect). */
  readonly connections: number
  /** Connections with an open socket. */
  readonly connected: number
  /** Connections carrying at least one request. */
  readonly active: number
  /** Connected connections carrying none. */
  readonly idle: number
  /** Requests running on a connection. */
  readonly inflight: number
  /** Requests waiting for a connection. */
  readonly queued: number
}

type Headers = Dispatcher.DispatchOptions['headers']

function appendHeader(headers: Headers, name: string, value: string): string[] {
  const out = flatHeaders(headers)
  out.push(name, value)
  return out
}

/** Any undici header shape as a flat `[name, value, ...]` list (arrays of values kept as repeats). */
export function flatHeaders(headers: Headers): string[] {
  const out: string[] = []
  if (headers == null) return out
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [k, v] of headers as unknown as Array<[string, string | string[]]>) pushValue(out, k, v)
    } else {
      for (let i = 0; i < headers.length; i += 2) out.push(String(headers[i]), String(headers[i + 1]))
    }
    return out
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string | string[] | undefined]>) pushValue(out, k, v)
    return out
  }
  const record = headers as Record<string, string | string[] | undefined>
  for (const k of Object.keys(record)) pushValue(out, k, record[k])
  return out
}

function pushValue(out: string[], name: string, value: string | string[] | undefined): void {
  if (value === undefined) return
  if (Array.isArray(value)) for (const v of value) out.push(name, v)
  else out.push(name, String(value))
}

function withoutConnectionHeader(opts: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
  const headers = opts.headers
  if (headers == null) return opts
  const flat = flatHeaders(headers)
  let found = false
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i]!.length === 10 && flat[i]!.toLowerCase() === 'connection') found = true
  }
  if (!found) return opts
  const kept: string[] = []
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i]!.toLowerCase() !== 'connection') kept.push(flat[i]!, flat[i + 1]!)
  }
  return { ...opts, headers: kept }
}

export { DONE }
