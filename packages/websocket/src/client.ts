// A WebSocket client driven by a callback service, with reconnection and back-off after
// failures and unexpected closes. The client is the caller its callbacks receive, so the
// same object keeps working across reconnections.
import { randomUUID } from 'node:crypto'
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import type { TimerHandle } from './clock.js'
import { Connection, ConnectionHub, type ConnectionOwner, closeArgumentsProblem } from './connection.js'
import { WebSocketError } from './errors.js'
import { reconnectChannel } from './internal/channels.js'
import {
  bool,
  CONNECTION_KEYS,
  checkKeys,
  finite,
  integer,
  invalidOption,
  MAX_TIMER,
  resolveConnectionOptions,
  serviceObject,
  subProtocolList,
  type WebSocketClientOptions,
} from './options.js'
import type { WebSocketCaller } from './service.js'

/** Where a {@link WebSocketClient} is in its life. */
export type WebSocketClientState = 'idle' | 'connecting' | 'open' | 'waiting-to-reconnect' | 'closed'

const CLIENT_KEYS = new Set<string>([
  ...CONNECTION_KEYS,
  'callbackService',
  'subProtocols',
  'customHeaders',
  'readyOnConnect',
  'retry',
  'secureSocket',
  'handshakeTimeout',
])
const RETRY_KEYS = new Set(['maxCount', 'interval', 'backOffFactor', 'maxInterval'])
const SECURE_KEYS = new Set([
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'minVersion',
  'maxVersion',
  'ciphers',
  'checkServerIdentity',
])

interface ResolvedRetry {
  readonly maxCount: number
  readonly interval: number
  readonly backOffFactor: number
  readonly maxInterval: number
}

function noop(): void {}

function parseUrl(url: string | URL): URL {
  let parsed: URL
  try {
    parsed = new URL(String(url))
  } catch (cause) {
    throw new WebSocketError(
      'X_ERR_WEBSOCKET_INVALID_OPTION',
      'url must be a ws:, wss:, http: or https: URL',
      {
        cause,
      },
    )
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol) || parsed.hash !== '') {
    throw new WebSocketError(
      'X_ERR_WEBSOCKET_INVALID_OPTION',
      'url must be a ws:, wss:, http: or https: URL without a fragment',
    )
  }
  return parsed
}

/**
 * A WebSocket client: `connect()` opens the connection and the callback service handles it,
 * with the client itself as caller. With `retry`, a failed attempt or an unexpected close
 * (anything but close code 1000, or the client's own `close()`) leads to reconnection with
 * back-off; `onOpen` runs again on every new connection.
 */
export class WebSocketClient implements WebSocketCaller {
  /** The URL connected to. */
  readonly url: string
  readonly id: string = randomUUID()
  readonly attributes: Map<string | symbol, unknown> = new Map()
  private readonly hub: ConnectionHub
  // The owner hooks stay off the public type, so the declarations do not expose ws or Connection.
  private readonly owner: ConnectionOwner = {
    handshakeFailed: (connection, error) => this.onHandshakeFailed(connection, error),
    closed: (connection, code, reason) => this.onConnectionClosed(connection, code, reason),
  }
  private readonly wsOptions: Record<string, unknown>
  private readonly protocols: string[]
  private readonly retry: ResolvedRetry | undefined
  private readonly secure: boolean
  private current: Connection | undefined = undefined
  private lifecycle: WebSocketClientState = 'idle'
  private isReady: boolean
  /** Attempts made since the last open connection. */
  private attempts = 0
  /** Reconnections scheduled since the last open connection. */
  private retries = 0
  private retryTimer: TimerHandle | undefined = undefined
  private pendingConnect: { resolve: () => void; reject: (e: unknown) => void } | undefined = undefined
  private connectPromise: Promise<void> | undefined = undefined
  private lastFailure: unknown = undefined
  private statusCode: number | undefined = undefined

  constructor(url: string | URL, options: WebSocketClientOptions = {}) {
    const parsed = parseUrl(url)
    this.url = parsed.href
    this.secure = parsed.protocol === 'wss:' || parsed.protocol === 'https:'
    checkKeys(options, CLIENT_KEYS, 'WebSocketClient')
    const resolved = resolveConnectionOptions(options)
    const service = serviceObject(options.callbackService ?? {}, 'callbackService')
    this.hub = new ConnectionHub(service, resolved, 'client')
    this.protocols = [...subProtocolList(options.subProtocols, 'subProtocols')]
    this.isReady = bool(options.readyOnConnect, 'readyOnConnect', true)
    const headers: Record<string, string> = {}
    if (options.customHeaders !== undefined) {
      if (typeof options.customHeaders !== 'object' || options.customHeaders === null) {
        throw invalidOption('customHeaders', 'an object of header names and string values')
      }
      for (const [name, value] of Object.entries(options.customHeaders)) {
        if (
          typeof value !== 'string' ||
          !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) ||
          /[\r\n\0]/.test(value)
        ) {
          throw invalidOption('customHeaders', 'an object of header names and string values')
        }
        headers[name] = value
      }
    }
    if (options.retry !== undefined) {
      checkKeys(options.retry, RETRY_KEYS, 'retry')
      const interval = integer(options.retry.interval, 'retry.interval', 0, MAX_TIMER, 1000)
      const maxInterval = integer(options.retry.maxInterval, 'retry.maxInterval', 0, MAX_TIMER, 30_000)
      this.retry = Object.freeze({
        maxCount: integer(options.retry.maxCount, 'retry.maxCount', 0, Number.MAX_SAFE_INTEGER, 0),
        interval,
        backOffFactor: finite(options.retry.backOffFactor, 'retry.backOffFactor', 1, 1),
        maxInterval: Math.max(maxInterval, interval),
      })
    }
    const wsOptions: Record<string, unknown> = {
      headers,
      maxPayload: resolved.maxMessageSize,
      autoPong: resolved.autoPong,
      closeTimeout: resolved.closeTimeout,
      perMessageDeflate: resolved.perMessageDeflate,
      handshakeTimeout: integer(options.handshakeTimeout, 'handshakeTimeout', 1, MAX_TIMER, 10_000),
      followRedirects: false,
    }
    if (options.secureSocket !== undefined) {
      checkKeys(options.secureSocket, SECURE_KEYS, 'secureSocket')
      Object.assign(wsOptions, options.secureSocket)
    }
    this.wsOptions = wsOptions
  }

  /** Where the client is: connecting, open, waiting to reconnect, or closed for good. */
  get state(): WebSocketClientState {
    return this.lifecycle
  }

  get remoteAddress(): string | undefined {
    return this.current?.remoteAddress
  }

  get negotiatedSubProtocol(): string | undefined {
    return this.current?.negotiatedSubProtocol
  }

  get isSecure(): boolean {
    return this.secure
  }

  get isOpen(): boolean {
    return this.current?.isOpen === true
  }

  get bufferedAmount(): number {
    return this.current === undefined ? 0 : this.current.bufferedAmount
  }

  /**
   * Opens the connection. Resolves once it is open; rejects with `X_ERR_WEBSOCKET_CONNECT_FAILED`
   * (without `retry`), `X_ERR_WEBSOCKET_RETRY_EXHAUSTED`, or `X_ERR_WEBSOCKET_CLOSED` when
   * `close()` is called first. Calling it again returns the same promise; a closed client
   * stays closed (rejects with `X_ERR_WEBSOCKET_CLOSED`): make a new one to start over.
   */
  connect(): Promise<void> {
    if (this.lifecycle === 'closed') {
      return Promise.reject(new WebSocketError('X_ERR_WEBSOCKET_CLOSED', 'the client was closed'))
    }
    if (this.connectPromise !== undefined) return this.connectPromise
    this.connectPromise = new Promise<void>((resolve, reject) => {
      this.pendingConnect = { resolve, reject }
    })
    this.attempt()
    return this.connectPromise
  }

  /** Starts reading messages (for a client created with `readyOnConnect: false`). */
  ready(): void {
    this.isReady = true
    if (this.current?.paused === true) this.current.setPaused(false)
  }

  pushText(text: string, final?: boolean): Promise<void> {
    return this.current === undefined ? this.notOpen() : this.current.pushText(text, final)
  }

  pushBinary(data: Uint8Array | ArrayBuffer, final?: boolean): Promise<void> {
    return this.current === undefined ? this.notOpen() : this.current.pushBinary(data, final)
  }

  ping(data?: Uint8Array | string): Promise<void> {
    return this.current === undefined ? this.notOpen() : this.current.ping(data)
  }

  pong(data?: Uint8Array | string): Promise<void> {
    return this.current === undefined ? this.notOpen() : this.current.pong(data)
  }

  /**
   * Closes the connection for good (no reconnection follows) and resolves once it has closed;
   * a pending `connect()` rejects with `X_ERR_WEBSOCKET_CLOSED`.
   */
  close(code?: number, reason?: string, timeout?: number): Promise<void> {
    const problem = closeArgumentsProblem(code ?? 1000, reason ?? '', timeout ?? 0)
    if (problem !== undefined) {
      return Promise.reject(new WebSocketError('X_ERR_WEBSOCKET_INVALID_ARGUMENT', problem))
    }
    this.finish()
    const connection = this.current
    if (connection === undefined) return Promise.resolve()
    if (connection.isOpen) return connection.close(code, reason, timeout)
    const closed = connection.whenClosed()
    connection.terminate()
    return closed
  }

  private finish(): void {
    if (this.lifecycle === 'closed') return
    this.lifecycle = 'closed'
    if (this.retryTimer !== undefined) {
      this.hub.options.clock.clearTimeout(this.retryTimer)
      this.retryTimer = undefined
    }
    this.settleConnect(new WebSocketError('X_ERR_WEBSOCKET_CLOSED', 'the client was closed'))
  }

  private notOpen(): Promise<void> {
    const p = Promise.reject(new WebSocketError('X_ERR_WEBSOCKET_NOT_OPEN', 'the client is not connected'))
    p.catch(noop)
    return p
  }

  private attempt(): void {
    this.retryTimer = undefined
    if (this.lifecycle === 'closed') return
    this.lifecycle = 'connecting'
    this.attempts++
    this.lastFailure = undefined
    this.statusCode = undefined
    const ws = new WebSocket(this.url, this.protocols, this.wsOptions)
    // The Connection attaches the 'error' listener before the socket can emit anything.
    const connection = new Connection(ws, this.hub, undefined, this.secure, this.owner)
    connection.caller = this
    this.current = connection
    ws.on('upgrade', (res: IncomingMessage) => {
      const socket = res.socket as Socket | null
      ;(connection as { remoteAddress: string | undefined }).remoteAddress = socket?.remoteAddress
    })
    ws.on('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      this.statusCode = res.statusCode
      // Aborting the handshake destroys the request and its socket, then emits 'error' and 'close'.
      connection.terminate()
    })
    ws.on('open', () => {
      if (this.lifecycle === 'closed') {
        connection.terminate()
        return
      }
      this.attempts = 0
      this.retries = 0
      this.lifecycle = 'open'
      if (!this.isReady) connection.setPaused(true)
      connection.open()
      this.settleConnect(undefined)
    })
  }

  /** An attempt failed before the connection opened. */
  private onHandshakeFailed(_connection: Connection, error: unknown): void {
    this.lastFailure = error
  }

  /** A connection (or an attempt) ended. */
  private onConnectionClosed(connection: Connection, code: number, _reason: string): void {
    if (connection !== this.current) return
    if (this.lifecycle === 'closed') return
    const wasOpen = connection.opened
    if (wasOpen && code === 1000) {
      this.finish()
      return
    }
    if (!wasOpen) {
      const failure = new WebSocketError(
        'X_ERR_WEBSOCKET_CONNECT_FAILED',
        `could not connect to ${this.url}`,
        {
          cause: this.lastFailure,
          attempts: this.attempts,
          ...(this.statusCode === undefined ? {} : { statusCode: this.statusCode }),
        },
      )
      if (this.retry === undefined) {
        this.lifecycle = 'closed'
        this.settleConnect(failure)
        return
      }
      this.lastFailure = failure
    }
    if (this.retry === undefined) {
      this.lifecycle = 'closed'
      return
    }
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    const retry = this.retry!
    if (retry.maxCount > 0 && this.retries >= retry.maxCount) {
      const error = new WebSocketError(
        'X_ERR_WEBSOCKET_RETRY_EXHAUSTED',
        `gave up on ${this.url} after ${this.attempts} attempts`,
        { cause: this.lastFailure, attempts: this.attempts },
      )
      this.lifecycle = 'closed'
      if (this.pendingConnect !== undefined) this.settleConnect(error)
      else this.current?.reportError(error)
      return
    }
    // The n-th reconnection of an outage waits interval × factor^(n-1), capped at maxInterval.
    const delay = Math.min(retry.interval * retry.backOffFactor ** this.retries, retry.maxInterval)
    this.retries++
    this.lifecycle = 'waiting-to-reconnect'
    if (reconnectChannel.hasSubscribers) {
      reconnectChannel.publish({ client: this, retry: this.retries, delay })
    }
    const handle = this.hub.options.clock.setTimeout(() => this.attempt(), delay)
    // Not unref'd: a client waiting to reconnect keeps the process alive, as a connection does.
    this.retryTimer = handle
  }

  private settleConnect(error: unknown): void {
    const pending = this.pendingConnect
    if (pending === undefined) return
    this.pendingConnect = undefined
    if (error === undefined) pending.resolve()
    else {
      this.connectPromise?.catch(noop)
      pending.reject(error)
    }
  }
}
