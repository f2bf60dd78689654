// WebSocket upgrades from HTTP resources: where the Listener's server hands over its HTTP/1.1
// `upgrade` events. A handshake runs the one pipeline (filters, routing, binding) on a response
// bound to the detached socket, then goes to @x/websocket. HTTP/2 (RFC 8441) is not handled here.

import { channel } from 'node:diagnostics_channel'
import { type IncomingMessage, type Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import {
  isWebSocketError,
  type UpgradeRefusal,
  type WebSocketService,
  type WebSocketUpgradeOptions,
  WebSocketUpgrader,
} from '@x/websocket'
import { configError, type HttpError } from '../errors.js'
import type { RequestContext } from './context.js'
import type { Dispatcher } from './pipeline.js'
import { raise } from './problem.js'
import { Reparsed, reparse } from './reparse.js'

const upgradeChannel = channel('x:http:listener-upgrade')

/** Bytes a client may send after its handshake and before the answer; more is hostile. */
const EARLY_LIMIT = 65_536

/**
 * The detached socket of a WebSocket handshake while the pipeline runs. The socket is read
 * meanwhile, so that a client that goes away (FIN) is noticed at once, and what it sent early
 * is kept for the WebSocket (RFC 6455 forbids frames before the 101; ws accepts them as `head`).
 */
export class Upgrading {
  private early: Buffer[]
  private size: number

  constructor(
    readonly socket: Duplex,
    head: Buffer,
  ) {
    this.early = head.length === 0 ? [] : [head]
    this.size = head.length
    socket.on('data', this.onData)
    socket.once('end', destroyOnError)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length
    if (this.size > EARLY_LIMIT) this.socket.destroy()
    else this.early.push(chunk)
  }

  /** Stops reading and gives back what arrived after the handshake, for whoever reads the socket next. */
  takeHead(): Buffer {
    const socket = this.socket
    socket.pause()
    socket.off('data', this.onData)
    socket.off('end', destroyOnError)
    // Whoever reads next starts the socket flowing by adding a 'data' listener, as after node:http's upgrade.
    ;(socket as { readableFlowing: boolean | null }).readableFlowing = null
    const head = this.early.length === 1 ? this.early[0]! : Buffer.concat(this.early)
    this.early = []
    return head
  }
}

/** An upgrade resource's WebSocket endpoint. */
export interface CompiledUpgrade {
  readonly upgrader: WebSocketUpgrader
  /** Makes the service of each connection; undefined when one service serves them all. */
  readonly factory: ((ctx: unknown) => unknown) | undefined
  /** `this` of the factory: the `upgrade` declaration. */
  readonly spec: object
}

type WithResponse = Duplex & { _httpMessage?: ServerResponse | null }

const CALLBACKS = ['onOpen', 'onText', 'onBinary', 'onPing', 'onPong', 'onIdleTimeout', 'onClose', 'onError']

/** RFC 9110 §7.8: a 426 names the protocol in `Upgrade`, and `Upgrade` is a connection option. */
const UPGRADE_HEADERS = Object.freeze({ upgrade: 'websocket', connection: 'upgrade, close' })

/** The handler of an upgrade resource declared without one: plain requests get 426. */
export function upgradeRequired(): never {
  throw raise(
    'X_ERR_HTTP_UPGRADE_REQUIRED',
    'this resource only speaks WebSocket',
    undefined,
    UPGRADE_HEADERS,
  )
}

/** Validates a resource's `upgrade` declaration and builds its upgrader (eagerly, at `attach()`). */
export function compileUpgrade(spec: unknown, at: string): CompiledUpgrade {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: upgrade must be an object with a service`)
  }
  const { service, ...options } = spec as Record<string, unknown>
  if (typeof service !== 'function' && (typeof service !== 'object' || service === null)) {
    throw configError(
      'X_ERR_HTTP_INVALID_SERVICE',
      `${at}: upgrade.service must be a WebSocket service or a function returning one`,
    )
  }
  const factory = typeof service === 'function' ? (service as (ctx: unknown) => unknown) : undefined
  let upgrader: WebSocketUpgrader
  try {
    // With a factory each connection gets its own service; the upgrader's own stays empty.
    upgrader = new WebSocketUpgrader({
      ...(options as Omit<WebSocketUpgradeOptions, 'service'>),
      service: factory === undefined ? (service as WebSocketService) : {},
    })
  } catch (e) {
    if (!isWebSocketError(e)) throw e
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: upgrade: ${e.message}`, e)
  }
  return { upgrader, factory, spec: spec as object }
}

/** The answer to a handshake @x/websocket would refuse, as an error the pipeline (and its filters) can answer with. */
function refusalError(refusal: UpgradeRefusal): HttpError {
  switch (refusal.reason) {
    case 'version':
      return raise('X_ERR_HTTP_UPGRADE_REQUIRED', 'this server speaks WebSocket version 13', undefined, {
        ...UPGRADE_HEADERS,
        ...refusal.headers,
      })
    case 'origin':
      return raise('X_ERR_HTTP_ORIGIN_NOT_ALLOWED', 'this origin may not open a WebSocket here')
    case 'capacity':
      return raise('X_ERR_HTTP_UNAVAILABLE', 'too many WebSocket connections', undefined, refusal.headers)
    case 'stopping':
      return raise('X_ERR_HTTP_UNAVAILABLE', 'the server is stopping')
    case 'method':
      return raise(
        'X_ERR_HTTP_METHOD_NOT_ALLOWED',
        'a WebSocket handshake is a GET',
        undefined,
        refusal.headers,
      )
    default:
      return raise('X_ERR_HTTP_WEBSOCKET_HANDSHAKE', 'the WebSocket handshake is malformed')
  }
}

function isService(value: unknown): value is WebSocketService {
  if (typeof value !== 'object' || value === null) return false
  for (const name of CALLBACKS) {
    const fn = (value as Record<string, unknown>)[name]
    if (fn !== undefined && typeof fn !== 'function') return false
  }
  return true
}

/**
 * Hands the socket of a handshake that passed the filters and the binding to the resource's
 * upgrader. Returns a promise while a service factory is still making the service; throws (or
 * rejects with) the `HttpError` that refuses the upgrade.
 */
export function handOver(ctx: RequestContext, u: CompiledUpgrade): PromiseLike<void> | undefined {
  const refusal = u.upgrader.verify(ctx.request)
  if (refusal !== undefined) throw refusalError(refusal)
  if (u.factory === undefined) {
    complete(ctx, u, undefined)
    return undefined
  }
  const made = u.factory.call(u.spec, ctx)
  if (typeof (made as PromiseLike<unknown> | null)?.then === 'function') {
    return (made as PromiseLike<unknown>).then((service) => complete(ctx, u, checked(service)))
  }
  complete(ctx, u, checked(made))
  return undefined
}

function checked(service: unknown): WebSocketService {
  // A factory that returns no service is a fault of the application: a 500, logged.
  if (!isService(service)) throw new TypeError('an upgrade service factory returned no WebSocket service')
  return service
}

function complete(ctx: RequestContext, u: CompiledUpgrade, service: WebSocketService | undefined): void {
  // A factory may have answered through ctx.caller, or the client gone while it ran.
  if (ctx.answered) return
  const upgrading = ctx.upgrading!
  const socket = upgrading.socket
  if (socket.destroyed || !socket.writable) {
    ctx.answered = true
    return
  }
  if (service !== undefined) {
    // The cap or a stop may have come while the factory ran.
    const refusal = u.upgrader.verify(ctx.request)
    if (refusal !== undefined) throw refusalError(refusal)
  }
  ctx.answered = true
  ctx.res.detachSocket(socket as Socket)
  socket.off('error', destroyOnError)
  const head = upgrading.takeHead()
  const result = u.upgrader.handleUpgrade(ctx.request, socket, head, Object.entries(ctx.state), service)
  if (result.kind === 'upgraded' && upgradeChannel.hasSubscribers) {
    upgradeChannel.publish({ request: ctx.request, template: ctx.template, caller: result.caller })
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy()
}

/** Ends an upgrade socket once the plain HTTP answer to its request has been written. */
function closeAfterAnswer(this: ServerResponse): void {
  const socket = this.socket
  if (socket === null) return
  this.detachSocket(socket)
  socket.end()
  if (socket.writableFinished) socket.destroy()
  else socket.once('finish', () => socket.destroy())
}

/** True for a request the pipeline may switch to WebSocket: a GET handshake without a body. */
function isHandshake(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false
  const upgrade = req.headers.upgrade
  if (upgrade === undefined) return false
  // `Upgrade` is a list of protocols (RFC 9110 §7.8); clients send `websocket` alone.
  if (upgrade.length !== 9 || upgrade.toLowerCase() !== 'websocket') {
    let found = false
    for (const token of upgrade.split(',')) {
      if (token.trim().toLowerCase() === 'websocket') {
        found = true
        break
      }
    }
    if (!found) return false
  }
  const cl = req.headers['content-length']
  return req.headers['transfer-encoding'] === undefined && (cl === undefined || cl === '0')
}

/** The Listener's side of upgrades: hooks into its server and stops the WebSocket connections. */
export class Upgrades {
  /** Endpoints of detached services whose connections are still open. */
  private readonly retired = new Set<CompiledUpgrade>()

  constructor(private readonly dispatcher: Dispatcher) {}

  /**
   * Hooks into the server: HTTP/1.1 `upgrade` events come here. Node 22.21+ and 24.9+ ask
   * `shouldUpgradeCallback` first, so only WebSocket handshakes leave the `request` path;
   * older versions hand every request with `Connection: upgrade` over, and those that are not
   * handshakes are parsed again as plain requests (reparse.ts).
   */
  serve(server: Server): void {
    ;(
      server as Server & { shouldUpgradeCallback?: (req: IncomingMessage) => boolean }
    ).shouldUpgradeCallback = this.shouldUpgrade
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // node:http removed its own 'error' listener when it emitted 'upgrade'.
      socket.on('error', destroyOnError)
      this.handle(server, req, socket, head)
    })
  }

  /** Whether a request should leave the `request` path for the upgrade path. */
  readonly shouldUpgrade = (req: IncomingMessage): boolean =>
    this.dispatcher.table.upgrades && isHandshake(req)

  private handle(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node emits a pipelined upgrade at once, even while an earlier response on the connection
    // is still being written: wait for it, so that answers keep their order.
    const pending = (socket as WithResponse)._httpMessage
    if (pending != null) {
      if (socket.destroyed) return
      pending.once('finish', () => this.handle(server, req, socket, head))
      return
    }
    if (socket.destroyed) return
    // A connection parsed again once already: go back to its own socket rather than stack bridges.
    const own = socket instanceof Reparsed ? socket.release() : socket
    if (!this.shouldUpgrade(req)) {
      reparse(server, req, own, head)
      return
    }
    const res = new ServerResponse(req)
    res.assignSocket(own as Socket)
    res.shouldKeepAlive = false
    res.once('finish', closeAfterAnswer)
    this.dispatcher.onUpgrade(req, res, new Upgrading(own, head))
  }

  /** Keeps the endpoints of a detached service that still have connections, so a stop reaches them. */
  retire(upgrades: readonly CompiledUpgrade[]): void {
    for (const u of upgrades) if (u.upgrader.connectionCount > 0) this.retired.add(u)
  }

  /** Closes every WebSocket connection: 1001 and at most `timeout` ms to answer, or at once for 0. */
  stop(timeout: number): void {
    const all = new Set(this.retired)
    for (const s of this.dispatcher.table.services) for (const u of s.upgrades) all.add(u)
    for (const u of all) {
      const stopped = timeout === 0 ? u.upgrader.immediateStop() : u.upgrader.gracefulStop(timeout)
      stopped.catch(() => {})
    }
  }
}
