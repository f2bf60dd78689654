// The Listener endpoint: owns the Node server, its connections and its lifecycle (start,
// graceful and immediate stop), and answers what Node's parser rejects before a request
// exists. Requests themselves run in pipeline.ts.

import { channel } from 'node:diagnostics_channel'
import { createServer, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { StapleStatus } from '@x/tls'
import { configError, type HttpErrorCode } from '../errors.js'
import { isClusterPrimary, reportWorkerFailure, serveAsWorker, WorkerPool, workerPort } from './cluster.js'
import { type CompiledService, compileService, ServiceTable } from './compile.js'
import { type ListenerOptions, type ResolvedOptions, resolveOptions } from './options.js'
import { Dispatcher } from './pipeline.js'
import { rawProblemResponse } from './problem.js'
import { type Http2Front, serveHttp2 } from './protocols.js'
import type { Service } from './types.js'
import { Upgrades } from './upgrade.js'
import { DOOMED } from './writer.js'

const startChannel = channel('x:http:listener-start')
const stopChannel = channel('x:http:listener-stop')
const clientErrorChannel = channel('x:http:listener-client-error')

/** Options of {@link Listener.gracefulStop}. */
export interface GracefulStopOptions {
  /** Time in-flight requests get to finish, in ms; then the remaining connections are destroyed. @defaultValue 30000 */
  timeout?: number
}

type State = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped'

/** How long a connection answered with a parser error may linger before it is destroyed, in ms. */
const LINGER_MS = 2_000

/**
 * Serves services over HTTP/1.1, and with `httpVersion: '2'` over HTTP/2 too, on one port,
 * in cleartext or over TLS (`secureSocket`): `new Listener({ port })`, `attach(service)`,
 * `await start()`, `await gracefulStop()`.
 */
export class Listener {
  private readonly options: ResolvedOptions
  private readonly dispatcher: Dispatcher
  private readonly upgrades: Upgrades
  private services: CompiledService[] = []
  private server: Server | undefined
  private state: State = 'idle'
  private readonly sockets = new Set<Socket>()
  private readonly answered = new WeakSet<Socket>()
  private stopping: Promise<void> | undefined
  /** The forked workers, in the primary of a clustered Listener. */
  private pool: WorkerPool | undefined
  private http2: Http2Front | undefined
  private detachTls: (() => void) | undefined
  private logsClosed = false

  constructor(options: ListenerOptions) {
    this.options = resolveOptions(options)
    this.dispatcher = new Dispatcher(this.options, new ServiceTable([], this.options))
    this.upgrades = new Upgrades(this.dispatcher)
  }

  /**
   * Adds a service: a plain object, or an instance of a class decorated with `@ServiceConfig`
   * and `@ResourceConfig`. Throws `X_ERR_HTTP_INVALID_SERVICE` for a malformed declaration and
   * `X_ERR_HTTP_DUPLICATE_BASE_PATH` when another service has the same base path (and host).
   * Works before and after `start()`.
   */
  attach(service: Service): this
  attach(service: object): this
  attach(service: object): this {
    this.assertOpen()
    if (this.services.some((s) => s.source === service)) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', 'this service is already attached')
    }
    const compiled = compileService(service, this.options)
    const next = [...this.services, compiled]
    this.dispatcher.table = new ServiceTable(next, this.options)
    this.services = next
    return this
  }

  /** Removes a service given to `attach()`; answers whether it was attached. */
  detach(service: object): boolean {
    const next = this.services.filter((s) => s.source !== service)
    if (next.length === this.services.length) return false
    this.dispatcher.table = new ServiceTable(next, this.options)
    // Its open WebSocket connections stay open until they close or the Listener stops.
    for (const s of this.services) if (s.source === service) this.upgrades.retire(s.upgrades)
    this.services = next
    return true
  }

  /** The bound port once started (the OS's pick when 0 was asked for), else the configured one. */
  get port(): number {
    if (this.pool !== undefined) return this.pool.port
    const address = this.server?.address()
    return typeof address === 'object' && address !== null ? address.port : this.options.port
  }

  /**
   * Resolves once the first OCSP responses for `secureSocket.ocspStapling` were fetched (or
   * failed: handshakes never wait for them); at once without stapling. Call after `start()`.
   */
  stapleReady(): Promise<void> {
    return this.options.tls?.stapleReady() ?? Promise.resolve()
  }

  /** Per served certificate: whether an OCSP response is stapled, until when, and the last error. */
  staplingStatus(): StapleStatus[] {
    return this.options.tls?.staplingStatus() ?? []
  }

  /** Binds the port; resolves once listening. Rejects with `X_ERR_HTTP_LISTEN_FAILED` (cause: Node's error). */
  async start(): Promise<void> {
    if (this.state !== 'idle') {
      throw configError('X_ERR_HTTP_LISTENER_STATE', `start() called on a ${this.state} Listener`)
    }
    this.state = 'starting'
    if (isClusterPrimary(this.options.workers)) return this.startWorkers()
    const server = this.createServer()
    this.server = server
    const port = workerPort(this.options.workers, this.options.port)
    try {
      // A log file that cannot be opened fails start() rather than every line after it.
      for (const log of this.options.ownedLogs) if ('ready' in log) await log.ready()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, this.options.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (e) {
      this.state = 'stopped'
      this.server = undefined
      reportWorkerFailure(this.options.workers, (e as { code?: string }).code)
      this.detachTls?.()
      await this.closeLogs()
      throw configError(
        'X_ERR_HTTP_LISTEN_FAILED',
        `could not listen on ${this.options.host ?? '*'}:${this.options.port}`,
        e,
      )
    }
    this.state = 'started'
    if (startChannel.hasSubscribers) startChannel.publish({ listener: this, port: this.port })
    serveAsWorker(this.options.workers, this.port, this.stopForPrimary)
  }

  /** Process ids of the workers alive now (cluster primary only; empty otherwise). */
  get workerPids(): number[] {
    return this.pool?.pids ?? []
  }

  /** Cluster primary: forks the workers and resolves once every one listens. */
  private async startWorkers(): Promise<void> {
    const pool = new WorkerPool(
      this.options.workers!,
      this.options.port,
      this.options.host,
      this.options.logger,
    )
    this.pool = pool
    try {
      await pool.start()
    } catch (e) {
      this.state = 'stopped'
      throw e
    }
    this.state = 'started'
    if (startChannel.hasSubscribers) startChannel.publish({ listener: this, port: this.port })
  }

  private readonly stopForPrimary = (timeout: number): Promise<void> => this.stop(timeout)

  /**
   * Stops accepting connections and lets in-flight requests finish: each is answered with
   * `Connection: close`, and each keep-alive connection is closed as soon as its response ends
   * (idle ones at once). After `timeout` ms the remaining connections are destroyed.
   */
  gracefulStop(options: GracefulStopOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 30_000
    if (!Number.isInteger(timeout) || timeout < 0) {
      throw configError(
        'X_ERR_HTTP_INVALID_OPTION',
        'gracefulStop timeout must be a non-negative integer (ms)',
      )
    }
    return this.stop(timeout)
  }

  /** Stops at once: closes the port and destroys every connection, in flight or idle. */
  immediateStop(): Promise<void> {
    return this.stop(0)
  }

  private stop(timeout: number): Promise<void> {
    if (this.stopping !== undefined) {
      if (timeout === 0) {
        this.upgrades.stop(0)
        this.destroyAll()
        void this.pool?.stop(0)
      }
      return this.stopping
    }
    if (this.pool !== undefined && this.state === 'started') {
      this.state = 'stopping'
      this.stopping = this.pool.stop(timeout).then(() => {
        this.state = 'stopped'
        if (stopChannel.hasSubscribers)
          stopChannel.publish({ listener: this, graceful: timeout !== 0, forced: 0 })
        return this.closeLogs()
      })
      return this.stopping
    }
    const server = this.server
    if (this.state !== 'started' || server === undefined) {
      this.state = 'stopped'
      return this.closeLogs()
    }
    this.state = 'stopping'
    this.dispatcher.stopping = true
    // WebSocket peers get close 1001 (within the same timeout), or are cut off at once.
    this.upgrades.stop(timeout)
    this.stopping = new Promise<void>((resolve) => {
      let forced = 0
      const timer =
        timeout === 0
          ? undefined
          : setTimeout(() => {
              forced = this.sockets.size
              this.destroyAll()
            }, timeout)
      server.close(() => {
        if (timer !== undefined) clearTimeout(timer)
        this.state = 'stopped'
        if (stopChannel.hasSubscribers)
          stopChannel.publish({ listener: this, graceful: timeout !== 0, forced })
        // Every exchange has ended, so every line is written: flush and close the logs.
        void this.closeLogs().then(resolve)
      })
      if (timeout === 0) {
        forced = this.sockets.size
        this.http2?.stop(false)
        this.destroyAll()
        return
      }
      // HTTP/2: GOAWAY on each session; its streams in flight finish, then it closes.
      this.http2?.stop(true)
      server.closeIdleConnections()
      for (const socket of this.sockets) {
        // A response already under way keeps its keep-alive framing: close the connection once it ends.
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
        if (res?.headersSent && !res.writableFinished) res.once('finish', () => socket.end())
        // Connected but never sent a byte (a browser's speculative preconnect): nothing to finish,
        // and Node counts it as awaiting headers, not idle, so it would hold the stop to its timeout.
        else if (res == null && socket.bytesRead === 0) socket.destroy()
      }
      // Event streams never end on their own: end them, and their clients reconnect elsewhere.
      for (const stream of [...this.dispatcher.eventStreams]) stream.stop()
    })
    return this.stopping
  }

  /** Closes the logs the Listener built (once); a failure to close is reported, never thrown. */
  private closeLogs(): Promise<void> {
    const logs = this.options.ownedLogs
    if (logs.length === 0 || this.logsClosed) return Promise.resolve()
    this.logsClosed = true
    return Promise.all(
      logs.map((log) =>
        log.close().catch((err: unknown) => {
          try {
            this.options.logger.error({ err }, 'closing a log failed')
          } catch {
            // A failing logger must not fail the stop.
          }
        }),
      ),
    ).then(() => {})
  }

  private destroyAll(): void {
    this.http2?.stop(false)
    for (const socket of this.sockets) socket.destroy()
  }

  private assertOpen(): void {
    if (this.state === 'stopping' || this.state === 'stopped') {
      throw configError('X_ERR_HTTP_LISTENER_STATE', `attach() called on a ${this.state} Listener`)
    }
  }

  private createServer(): Server {
    const o = this.options
    const shortest = o.requestTimeout === 0 ? o.headersTimeout : Math.min(o.headersTimeout, o.requestTimeout)
    const httpOptions: ServerOptions = {
      maxHeaderSize: o.maxHeaderSize,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout,
      keepAliveTimeout: o.keepAliveTimeout,
      // Node checks timeouts on this interval (30 s by default): keep it a fraction of the shortest timeout.
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(shortest / 4))),
      // Checked in the pipeline, which answers with a problem body (Node's own 400 has none).
      requireHostHeader: false,
      noDelay: true,
    }
    const tls = o.tls
    // node:https is node:http behind a TLS server: the same options, timeouts and parser.
    const server =
      tls === undefined
        ? createServer(httpOptions, this.dispatcher.onRequest)
        : (createHttpsServer(
            { ...tls.options, ...httpOptions },
            this.dispatcher.onRequest,
          ) as unknown as Server)
    if (o.httpVersion === '2') this.http2 = serveHttp2(server, tls !== undefined, o, this.dispatcher)
    // OCSP stapling, the TLS session cache and the `optional` client check; undone on 'close'.
    if (tls !== undefined) this.detachTls = tls.attach(server as never)
    // Node answers `Expect: 100-continue` itself unless asked: the pipeline sends 100 only
    // once a resource reads the body, so a request refused early (413, 401) never uploads it.
    server.on('checkContinue', this.dispatcher.onRequest)
    // One more than the limit, so the pipeline can tell a request that went over it (Node drops the rest).
    server.maxHeadersCount = o.maxHeaderCount + 1
    server.maxRequestsPerSocket = o.maxRequestsPerSocket
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    server.on('clientError', this.onClientError)
    // HTTP/1.1 upgrades: WebSocket handshakes through the pipeline (upgrade.ts).
    this.upgrades.serve(server)
    return server
  }

  /** Node's parser rejected the bytes on a connection (or timed it out): answer, then close. */
  private readonly onClientError = (
    err: Error & { code?: string; rawPacket?: Buffer },
    socket: Socket,
  ): void => {
    if (this.answered.has(socket)) return
    this.answered.add(socket)
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    const code = err.code
    if (
      !socket.writable ||
      res?.headersSent === true ||
      code === 'ECONNRESET' ||
      code === 'EPIPE' ||
      code === 'HPE_INVALID_EOF_STATE'
    ) {
      socket.destroy()
      return
    }
    if (res?.req.complete === true && code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The request in flight arrived whole; the bytes after it are what is malformed. Answer
      // that request, then close: the bad bytes get no answer of their own.
      ;(socket as Socket & { [DOOMED]?: true })[DOOMED] = true
      res.shouldKeepAlive = false
      return
    }
    let answer: HttpErrorCode
    let detail: string
    if (code === 'HPE_HEADER_OVERFLOW') {
      if (this.uriOverflow(err.rawPacket)) {
        answer = 'X_ERR_HTTP_URI_TOO_LONG'
        detail = 'the URI is too long'
      } else {
        answer = 'X_ERR_HTTP_HEADERS_TOO_LARGE'
        detail = 'the request headers are too large'
      }
    } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = 'X_ERR_HTTP_REQUEST_TIMEOUT'
      detail = 'the request was not received in time'
    } else {
      answer = 'X_ERR_HTTP_BAD_REQUEST'
      detail = 'the request is malformed'
    }
    if (clientErrorChannel.hasSubscribers) clientErrorChannel.publish({ error: err, code: answer, socket })
    if (res != null) res.shouldKeepAlive = false
    socket.end(rawProblemResponse(answer, detail))
    // The client may go on sending: give it a moment to read the answer, then drop the connection.
    socket.setTimeout(LINGER_MS, () => socket.destroy())
  }

  /**
   * Node counts the request line and the headers against one limit (and answers 431 for
   * both). The packet that overflowed starts with the request line when the URI is what is
   * long: then the answer is 414.
   */
  private uriOverflow(packet: Buffer | undefined): boolean {
    if (packet === undefined) return false
    const space = packet.indexOf(32)
    if (space <= 0 || space > 32) return false
    for (let i = 0; i < space; i++) {
      const c = packet[i]!
      if (c < 65 || c > 90) return false
    }
    const nl = packet.indexOf(10)
    const lineEnd = nl === -1 ? packet.length : nl
    // The target runs from after the method's space to before " HTTP/1.1\r".
    return lineEnd - space - 1 - (nl === -1 ? 0 : 10) > this.options.maxUriLength
  }
}
