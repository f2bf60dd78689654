// One open ws socket bound to a callback service: event dispatch, pushes with send
// callbacks, the close handshake with its timeout, idle timeouts and the heartbeat.
// Handshakes live in upgrader.ts (server side) and client.ts.
import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import { type TimerHandle, unrefTimer } from './clock.js'
import { fromWsError, WebSocketError } from './errors.js'
import { closeChannel, errorChannel, heartbeatTimeoutChannel, openChannel } from './internal/channels.js'
import type { ResolvedConnectionOptions } from './options.js'
import type { WebSocketCaller, WebSocketService } from './service.js'

const CONNECTING = 0
const OPEN = 1
const CLOSED = 3

const kConnection = Symbol('x.websocket.connection')
type BoundSocket = WebSocket & { [kConnection]?: Connection }

/** Which end of the connection this process is. */
export type Side = 'server' | 'client'

/** Told about what happens before a connection opens and when it closes (the client's reconnection logic). */
export interface ConnectionOwner {
  handshakeFailed(connection: Connection, error: unknown): void
  closed(connection: Connection, code: number, reason: string): void
}

// ws reads these per send; sharing them saves an object per push.
interface SendOptions {
  readonly binary: boolean
  readonly fin: boolean
}
const TEXT: SendOptions = Object.freeze({ binary: false, fin: true })
const TEXT_FRAGMENT: SendOptions = Object.freeze({ binary: false, fin: false })
const BINARY: SendOptions = Object.freeze({ binary: true, fin: true })
const BINARY_FRAGMENT: SendOptions = Object.freeze({ binary: true, fin: false })

function noop(): void {}

function notOpen(): Promise<void> {
  const p = Promise.reject(new WebSocketError('X_ERR_WEBSOCKET_NOT_OPEN', 'the connection is not open'))
  // A failed fire-and-forget push is not an unhandled rejection: onClose tells the service.
  p.catch(noop)
  return p
}

function badArgument(message: string): Promise<void> {
  return Promise.reject(new WebSocketError('X_ERR_WEBSOCKET_INVALID_ARGUMENT', message))
}

/** RFC 6455 §7.4: the codes an endpoint may send in a close frame. */
export function isSendableCloseCode(code: unknown): code is number {
  return (
    typeof code === 'number' &&
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  )
}

/** What is wrong with the arguments of a `close()` call, or undefined. */
export function closeArgumentsProblem(code: unknown, reason: unknown, timeout: unknown): string | undefined {
  if (!isSendableCloseCode(code)) return 'close code must be 1000-1014 (not 1004-1006) or 3000-4999'
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) {
    return 'close reason must be a string of at most 123 UTF-8 bytes'
  }
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
    return 'close timeout must be a non-negative integer of ms'
  }
  return undefined
}

function settle(connection: Connection, name: string, result: unknown): void {
  if (result !== undefined && result !== null && typeof (result as Promise<unknown>).then === 'function') {
    ;(result as Promise<unknown>).then(undefined, (e: unknown) => connection.callbackFailed(name, e))
  }
}

/**
 * The connections of one upgrader or one client: their service, options and the one
 * heartbeat timer that serves them all (one timer per hub, not per connection).
 */
export class ConnectionHub {
  readonly connections = new Set<Connection>()
  private heartbeatTimer: TimerHandle | undefined = undefined
  private readonly tick = (): void => this.beat()

  constructor(
    readonly service: WebSocketService,
    readonly options: ResolvedConnectionOptions,
    readonly side: Side,
  ) {}

  add(connection: Connection): void {
    this.connections.add(connection)
    if (this.options.heartbeatInterval > 0 && this.heartbeatTimer === undefined) this.arm()
  }

  remove(connection: Connection): void {
    this.connections.delete(connection)
    if (this.connections.size === 0 && this.heartbeatTimer !== undefined) {
      this.options.clock.clearTimeout(this.heartbeatTimer)
      this.heartbeatTimer = undefined
    }
  }

  private arm(): void {
    const handle = this.options.clock.setTimeout(this.tick, this.options.heartbeatInterval)
    unrefTimer(handle)
    this.heartbeatTimer = handle
  }

  private beat(): void {
    this.heartbeatTimer = undefined
    for (const connection of this.connections) connection.heartbeat()
    if (this.connections.size > 0) this.arm()
  }
}

/** One ws socket and the service that handles it; on the server side it is also the caller. */
export class Connection implements WebSocketCaller {
  /** What callbacks receive as their caller: this connection, or the client that owns it. */
  caller: WebSocketCaller = this
  readonly remoteAddress: string | undefined
  readonly isSecure: boolean
  /** Set by any frame from the peer; cleared by each heartbeat ping. */
  alive = true
  /** True while reading is paused (a client not yet ready). */
  paused = false
  opened = false
  private isClosed = false
  private lastActivity = 0
  private idleCheck: (() => void) | undefined = undefined
  private idleTimer: TimerHandle | undefined = undefined
  private closeTimer: TimerHandle | undefined = undefined
  private closedPromise: Promise<void> | undefined = undefined
  private resolveClosed: (() => void) | undefined = undefined
  private lazyId: string | undefined = undefined
  private lazyAttributes: Map<string | symbol, unknown> | undefined = undefined
  /**
   * The promise of the push made during the current message callback. A callback that returns
   * it (`onText: (c, t) => c.pushText(t)`) needs no watching: a push only rejects when the
   * connection has gone, which onClose reports; skipping the `.then` spares a closure and a
   * microtask per message.
   */
  private lastPush: Promise<void> | undefined = undefined
  /** The callbacks of this connection: the hub's service, or one the upgrader was given for it alone. */
  service: WebSocketService

  constructor(
    readonly ws: WebSocket,
    readonly hub: ConnectionHub,
    remoteAddress: string | undefined,
    isSecure: boolean,
    private readonly owner: ConnectionOwner | undefined = undefined,
  ) {
    this.remoteAddress = remoteAddress
    this.isSecure = isSecure
    this.service = hub.service
    ;(ws as BoundSocket)[kConnection] = this
    // Every socket gets an 'error' listener before anything can arrive: ws rethrows an
    // unhandled 'error', and one malformed frame would take the process down.
    ws.on('error', onSocketError)
    ws.on('close', onSocketClose)
    ws.on('message', onSocketMessage)
    ws.on('ping', onSocketPing)
    ws.on('pong', onSocketPong)
  }

  get id(): string {
    if (this.lazyId === undefined) this.lazyId = randomUUID()
    return this.lazyId
  }

  get attributes(): Map<string | symbol, unknown> {
    if (this.lazyAttributes === undefined) this.lazyAttributes = new Map()
    return this.lazyAttributes
  }

  get negotiatedSubProtocol(): string | undefined {
    return this.ws.protocol === '' ? undefined : this.ws.protocol
  }

  get isOpen(): boolean {
    return this.ws.readyState === OPEN
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  /** Marks the connection open: joins the hub, starts the idle timer, calls `onOpen`. */
  open(): void {
    this.opened = true
    this.hub.add(this)
    const { idleTimeout, clock } = this.hub.options
    if (idleTimeout > 0) {
      this.idleCheck = () => this.checkIdle()
      this.lastActivity = clock.now()
      this.armIdle(idleTimeout)
    }
    if (openChannel.hasSubscribers) openChannel.publish({ caller: this.caller, side: this.hub.side })
    const service = this.service
    if (service.onOpen !== undefined) {
      try {
        settle(this, 'onOpen', service.onOpen(this.caller))
      } catch (e) {
        this.callbackFailed('onOpen', e)
      }
    }
  }

  pushText(text: string, final = true): Promise<void> {
    if (typeof text !== 'string') return badArgument('pushText takes a string')
    // A Buffer, not the string: node writes a frame of Buffers with one writev, while a string
    // chunk sends the whole batch down the slower generic path that encodes in C++.
    return this.send(Buffer.from(text), final ? TEXT : TEXT_FRAGMENT)
  }

  pushBinary(data: Uint8Array | ArrayBuffer, final = true): Promise<void> {
    if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) {
      return badArgument('pushBinary takes a Uint8Array or an ArrayBuffer')
    }
    return this.send(data, final ? BINARY : BINARY_FRAGMENT)
  }

  private send(data: string | Uint8Array | ArrayBuffer, options: SendOptions): Promise<void> {
    const ws = this.ws
    if (ws.readyState !== OPEN) return notOpen()
    if (this.idleCheck !== undefined) this.lastActivity = this.hub.options.clock.now()
    let promise: Promise<void> | undefined
    promise = new Promise<void>((resolve, reject) => {
      // ws calls back once the frame has been written to the socket (or failed to be).
      ws.send(data, options, (error) => {
        if (error === undefined || error === null) resolve()
        else {
          promise?.catch(noop)
          reject(
            new WebSocketError('X_ERR_WEBSOCKET_NOT_OPEN', 'the connection closed before the data was sent', {
              cause: error,
            }),
          )
        }
      })
    })
    this.lastPush = promise
    return promise
  }

  ping(data?: Uint8Array | string): Promise<void> {
    return this.control(true, data)
  }

  pong(data?: Uint8Array | string): Promise<void> {
    return this.control(false, data)
  }

  private control(ping: boolean, data: Uint8Array | string | undefined): Promise<void> {
    if (data !== undefined && typeof data !== 'string' && !(data instanceof Uint8Array)) {
      return badArgument('control frame data must be a string or a Uint8Array')
    }
    const size = data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    if (size > 125) return badArgument('control frame data is limited to 125 bytes')
    const ws = this.ws
    if (ws.readyState !== OPEN) return notOpen()
    let promise: Promise<void> | undefined
    promise = new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        if (error === undefined || error === null) resolve()
        else {
          promise?.catch(noop)
          reject(new WebSocketError('X_ERR_WEBSOCKET_NOT_OPEN', 'the connection closed', { cause: error }))
        }
      }
      if (ping) ws.ping(data, undefined, done)
      else ws.pong(data, undefined, done)
    })
    return promise
  }

  close(code = 1000, reason = '', timeout: number = this.hub.options.closeTimeout): Promise<void> {
    const problem = closeArgumentsProblem(code, reason, timeout)
    if (problem !== undefined) return badArgument(problem)
    const closed = this.whenClosed()
    const ws = this.ws
    if (this.isClosed || ws.readyState === CLOSED) return closed
    if (ws.readyState === CONNECTING) {
      ws.terminate()
      return closed
    }
    ws.close(code, reason)
    if (this.closeTimer === undefined) {
      // ws has a close timer of its own (closeTimeout); this one honours the timeout of this call.
      this.closeTimer = this.hub.options.clock.setTimeout(() => this.ws.terminate(), timeout)
      unrefTimer(this.closeTimer)
    }
    return closed
  }

  /** Ends the TCP connection without a close handshake. */
  terminate(): void {
    this.ws.terminate()
  }

  /** Pauses or resumes reading from the peer (for clients that are not `readyOnConnect`). */
  setPaused(paused: boolean): void {
    this.paused = paused
    if (paused) this.ws.pause()
    else this.ws.resume()
  }

  whenClosed(): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    if (this.closedPromise === undefined) {
      this.closedPromise = new Promise<void>((resolve) => {
        this.resolveClosed = resolve
      })
    }
    return this.closedPromise
  }

  /** One heartbeat: a peer that sent nothing since the previous ping is terminated. */
  heartbeat(): void {
    const ws = this.ws
    if (ws.readyState !== OPEN || this.paused) return
    if (!this.alive) {
      if (heartbeatTimeoutChannel.hasSubscribers) {
        heartbeatTimeoutChannel.publish({ caller: this.caller, side: this.hub.side })
      }
      ws.terminate()
      return
    }
    this.alive = false
    ws.ping()
  }

  private armIdle(ms: number): void {
    const handle = this.hub.options.clock.setTimeout(this.idleCheck!, ms)
    unrefTimer(handle)
    this.idleTimer = handle
  }

  private checkIdle(): void {
    this.idleTimer = undefined
    if (this.isClosed || this.ws.readyState !== OPEN) return
    const { idleTimeout, clock } = this.hub.options
    const elapsed = clock.now() - this.lastActivity
    if (elapsed < idleTimeout) {
      this.armIdle(idleTimeout - elapsed)
      return
    }
    // Fires once per idle period: the next call comes after another full period of silence.
    this.lastActivity = clock.now()
    this.armIdle(idleTimeout)
    const service = this.service
    if (service.onIdleTimeout !== undefined) {
      try {
        settle(this, 'onIdleTimeout', service.onIdleTimeout(this.caller))
      } catch (e) {
        this.callbackFailed('onIdleTimeout', e)
      }
    }
  }

  /** Reports an error to the diagnostics channel and to `onError`. */
  reportError(error: WebSocketError): void {
    if (errorChannel.hasSubscribers) errorChannel.publish({ caller: this.caller, side: this.hub.side, error })
    const onError = this.service.onError
    if (onError === undefined) return
    try {
      const result = onError.call(this.service, this.caller, error)
      if (
        result !== undefined &&
        result !== null &&
        typeof (result as Promise<unknown>).then === 'function'
      ) {
        ;(result as Promise<unknown>).then(undefined, (e: unknown) => this.onErrorFailed(e))
      }
    } catch (e) {
      this.onErrorFailed(e)
    }
  }

  private onErrorFailed(cause: unknown): void {
    if (errorChannel.hasSubscribers) {
      const error = new WebSocketError('X_ERR_WEBSOCKET_CALLBACK_FAILED', 'onError failed', {
        cause,
        callback: 'onError',
      })
      errorChannel.publish({ caller: this.caller, side: this.hub.side, error })
    }
  }

  /** A callback threw or rejected: `onError` hears of it; without one the connection closes with 1011. */
  callbackFailed(name: string, cause: unknown): void {
    // A push returned by a callback fails with NOT_OPEN when the peer has gone meanwhile:
    // onClose reports that, so it is not a failure of the callback.
    if ((cause as WebSocketError | null)?.code === 'X_ERR_WEBSOCKET_NOT_OPEN' && this.ws.readyState !== OPEN)
      return
    const error = new WebSocketError('X_ERR_WEBSOCKET_CALLBACK_FAILED', `${name} failed`, {
      cause,
      callback: name,
    })
    if (this.service.onError !== undefined) {
      this.reportError(error)
      return
    }
    if (errorChannel.hasSubscribers) errorChannel.publish({ caller: this.caller, side: this.hub.side, error })
    if (this.ws.readyState === OPEN) this.close(1011, 'internal error').catch(noop)
  }

  handleError(error: unknown): void {
    if (!this.opened && this.owner !== undefined) {
      this.owner.handshakeFailed(this, error)
      return
    }
    this.reportError(fromWsError(error))
  }

  handleClose(code: number, reason: Buffer): void {
    this.isClosed = true
    this.hub.remove(this)
    const clock = this.hub.options.clock
    if (this.idleTimer !== undefined) clock.clearTimeout(this.idleTimer)
    if (this.closeTimer !== undefined) clock.clearTimeout(this.closeTimer)
    this.idleTimer = this.closeTimer = undefined
    const text = reason.length === 0 ? '' : reason.toString()
    if (this.opened) {
      if (closeChannel.hasSubscribers) {
        closeChannel.publish({ caller: this.caller, side: this.hub.side, code, reason: text })
      }
      const service = this.service
      if (service.onClose !== undefined) {
        try {
          settle(this, 'onClose', service.onClose(this.caller, code, text))
        } catch (e) {
          this.callbackFailed('onClose', e)
        }
      }
    }
    this.resolveClosed?.()
    this.owner?.closed(this, code, text)
  }

  handleMessage(data: Buffer, isBinary: boolean): void {
    this.alive = true
    if (this.idleCheck !== undefined) this.lastActivity = this.hub.options.clock.now()
    const service = this.service
    let result: unknown
    this.lastPush = undefined
    if (isBinary) {
      if (service.onBinary === undefined) return
      try {
        result = service.onBinary(this.caller, data, true)
      } catch (e) {
        this.callbackFailed('onBinary', e)
        return
      }
      if (result !== undefined && result !== this.lastPush) settle(this, 'onBinary', result)
    } else {
      if (service.onText === undefined) return
      try {
        result = service.onText(this.caller, data.toString(), true)
      } catch (e) {
        this.callbackFailed('onText', e)
        return
      }
      if (result !== undefined && result !== this.lastPush) settle(this, 'onText', result)
    }
    this.lastPush = undefined
  }

  handleControl(ping: boolean, data: Buffer): void {
    this.alive = true
    const service = this.service
    const name = ping ? 'onPing' : 'onPong'
    const fn = ping ? service.onPing : service.onPong
    if (fn === undefined) return
    try {
      settle(this, name, fn.call(service, this.caller, data))
    } catch (e) {
      this.callbackFailed(name, e)
    }
  }
}

// Shared listeners (ws calls them with `this` = the socket), so a connection costs no closures.
function onSocketError(this: BoundSocket, error: unknown): void {
  this[kConnection]?.handleError(error)
}
function onSocketClose(this: BoundSocket, code: number, reason: Buffer): void {
  this[kConnection]?.handleClose(code, reason)
}
function onSocketMessage(this: BoundSocket, data: Buffer, isBinary: boolean): void {
  this[kConnection]!.handleMessage(data, isBinary)
}
function onSocketPing(this: BoundSocket, data: Buffer): void {
  this[kConnection]!.handleControl(true, data)
}
function onSocketPong(this: BoundSocket, data: Buffer): void {
  this[kConnection]!.handleControl(false, data)
}
