// Completes WebSocket handshakes for upgrade requests of any node:http(s) server: checks
// the request (answering 400/403/405/426/503 itself), negotiates sub-protocol and
// permessage-deflate, and binds the socket to the service. Routing and filters are the caller's.
import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { type ServerOptions, WebSocketServer } from 'ws'
import { Connection, ConnectionHub } from './connection.js'
import { rejectChannel } from './internal/channels.js'
import {
  CONNECTION_KEYS,
  checkKeys,
  integer,
  MAX_TIMER,
  originList,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
  serviceObject,
  subProtocolList,
  type WebSocketUpgradeOptions,
} from './options.js'
import type { WebSocketCaller, WebSocketService } from './service.js'

/** How {@link WebSocketUpgrader.handleUpgrade} ended. */
export type UpgradeResult =
  | { readonly kind: 'upgraded'; readonly caller: WebSocketCaller }
  | { readonly kind: 'rejected'; readonly statusCode: number; readonly reason: UpgradeRejection }
  | { readonly kind: 'aborted' }

/** What {@link WebSocketUpgrader.verify} finds wrong with an upgrade request: the answer it calls for. */
export interface UpgradeRefusal {
  readonly statusCode: number
  readonly reason: UpgradeRejection
  /** Header fields the answer carries (`Allow`, `Upgrade`, `Sec-WebSocket-Version`, `Retry-After`), lower-case names. */
  readonly headers: Readonly<Record<string, string>>
}

/** Why an upgrade was refused. */
export type UpgradeRejection =
  | 'method'
  | 'upgrade-header'
  | 'key'
  | 'version'
  | 'origin'
  | 'capacity'
  | 'stopping'
  | 'not-found'
  | 'handshake'

export const UPGRADE_KEYS = [
  ...CONNECTION_KEYS,
  'service',
  'subProtocols',
  'allowedOrigins',
  'maxConnections',
] as const

// RFC 6455 §4.1: the key is 16 random bytes in base64, so always 24 characters ending in '=='.
const KEY = /^[+/0-9A-Za-z]{22}==$/

function destroySocket(this: Duplex): void {
  this.destroy()
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})
const ALLOW_GET = Object.freeze({ allow: 'GET' })
const UPGRADE_WEBSOCKET = Object.freeze({ upgrade: 'websocket' })
const VERSIONS = Object.freeze({ 'sec-websocket-version': '13, 8' })
const RETRY_AFTER = Object.freeze({ 'retry-after': '1' })

function rawHeaders(headers: Readonly<Record<string, string>>): string {
  let out = ''
  for (const name of Object.keys(headers)) out += `${name}: ${headers[name]}\r\n`
  return out
}

/** Writes a complete HTTP error response on an upgrade socket and closes it. */
export function refuseUpgrade(socket: Duplex, statusCode: number, extraHeaders = ''): void {
  if (socket.listenerCount('error') === 0) socket.on('error', destroySocket)
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = STATUS_CODES[statusCode] ?? 'Error'
  socket.once('finish', destroySocket)
  socket.end(
    `HTTP/1.1 ${statusCode} ${body}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`,
  )
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * Completes WebSocket upgrades handed over by a `node:http` / `node:https` server's
 * `'upgrade'` event and runs the service on each connection. One upgrader holds the
 * connection cap, the heartbeat and `gracefulStop` for all its connections.
 */
export class WebSocketUpgrader {
  private readonly hub: ConnectionHub
  private readonly wss: WebSocketServer
  private readonly origins: ReadonlySet<string> | undefined
  private readonly maxConnections: number
  private readonly subProtocols: ReadonlySet<string>
  private stopping = false
  /** Set by ws's `wsClientError` while a handshake is being completed. */
  private wsRefused = false

  constructor(options: WebSocketUpgradeOptions) {
    checkKeys(options, new Set<string>(UPGRADE_KEYS), 'WebSocketUpgrader')
    const service = serviceObject(options.service, 'service')
    const resolved: ResolvedConnectionOptions = resolveConnectionOptions(options)
    this.subProtocols = new Set(subProtocolList(options.subProtocols, 'subProtocols'))
    this.origins = originList(options.allowedOrigins)
    this.maxConnections = integer(options.maxConnections, 'maxConnections', 1, MAX_TIMER, 10_000)
    this.hub = new ConnectionHub(service, resolved, 'server')
    const offered = this.subProtocols
    // closeTimeout (ws ≥ 8.19) is missing from @types/ws 8.18.
    const wsOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      maxPayload: resolved.maxMessageSize,
      autoPong: resolved.autoPong,
      closeTimeout: resolved.closeTimeout,
      perMessageDeflate: resolved.perMessageDeflate,
      // The client lists protocols by preference; the first one this service speaks wins.
      handleProtocols: (protocols: Set<string>) => {
        for (const p of protocols) if (offered.has(p)) return p
        return false
      },
    }
    this.wss = new WebSocketServer(wsOptions)
    // ws refuses a malformed Sec-WebSocket-Protocol / -Extensions header itself; hearing of
    // it here keeps the answer (400) and the result in our hands.
    this.wss.on('wsClientError', (_error: Error, socket: Duplex) => {
      this.wsRefused = true
      refuseUpgrade(socket, 400)
    })
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.hub.connections.size
  }

  /** The callers of every open connection (a snapshot). */
  callers(): WebSocketCaller[] {
    return [...this.hub.connections]
  }

  /**
   * Checks an upgrade request the way `handleUpgrade` does, without answering it: the refusal
   * `handleUpgrade` would send, or `undefined` when it would go on with the handshake. For a
   * server that answers refusals itself (through its own error responses and filters).
   */
  verify(req: IncomingMessage): UpgradeRefusal | undefined {
    return this.check(req)
  }

  /**
   * Completes (or refuses) the handshake of an upgrade request. `attributes` seed the new
   * caller's `attributes` (for example what an authentication filter learnt); `service`, when
   * given, handles this connection instead of the upgrader's own service (a service made for
   * this request). Never throws for anything the request holds; an argument `service` that is
   * not a service object throws `X_ERR_WEBSOCKET_INVALID_OPTION` before the socket is touched.
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    attributes?: Iterable<readonly [string | symbol, unknown]>,
    service?: WebSocketService,
  ): UpgradeResult {
    if (service !== undefined) serviceObject(service, 'service')
    // node:http removed its own 'error' listener when it emitted 'upgrade'.
    socket.on('error', destroySocket)
    const refusal = this.check(req)
    if (refusal !== undefined) {
      refuseUpgrade(socket, refusal.statusCode, rawHeaders(refusal.headers))
      return this.rejected(req, refusal.statusCode, refusal.reason)
    }
    let accepted: Connection | undefined
    this.wsRefused = false
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const raw = req.socket as Duplex & { remoteAddress?: string; encrypted?: boolean }
        accepted = new Connection(ws, this.hub, raw.remoteAddress, raw.encrypted === true)
      })
    } catch {
      // ws throws when a socket is handed over twice (a routing bug upstream): drop it.
      socket.destroy()
      return { kind: 'aborted' }
    }
    socket.off('error', destroySocket)
    if (accepted === undefined) {
      if (this.wsRefused) return this.rejected(req, 400, 'handshake')
      socket.destroy()
      return { kind: 'aborted' }
    }
    if (attributes !== undefined) for (const [k, v] of attributes) accepted.attributes.set(k, v)
    if (service !== undefined) accepted.service = service
    accepted.open()
    return { kind: 'upgraded', caller: accepted }
  }

  private check(req: IncomingMessage): UpgradeRefusal | undefined {
    if (this.stopping) return { statusCode: 503, reason: 'stopping', headers: NO_HEADERS }
    if (req.method !== 'GET') return { statusCode: 405, reason: 'method', headers: ALLOW_GET }
    const upgrade = headerValue(req.headers.upgrade)
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      return { statusCode: 400, reason: 'upgrade-header', headers: UPGRADE_WEBSOCKET }
    }
    const key = headerValue(req.headers['sec-websocket-key'])
    if (key === undefined || !KEY.test(key)) return { statusCode: 400, reason: 'key', headers: NO_HEADERS }
    // RFC 6455 §4.2.2: an unsupported version is answered 426 with the versions we speak.
    const version = headerValue(req.headers['sec-websocket-version'])
    if (version !== '13' && version !== '8') return { statusCode: 426, reason: 'version', headers: VERSIONS }
    if (this.origins !== undefined) {
      const origin = headerValue(version === '8' ? req.headers['sec-websocket-origin'] : req.headers.origin)
      if (origin !== undefined && !this.origins.has(origin.toLowerCase())) {
        return { statusCode: 403, reason: 'origin', headers: NO_HEADERS }
      }
    }
    if (this.hub.connections.size >= this.maxConnections) {
      return { statusCode: 503, reason: 'capacity', headers: RETRY_AFTER }
    }
    return undefined
  }

  private rejected(req: IncomingMessage, statusCode: number, reason: UpgradeRejection): UpgradeResult {
    if (rejectChannel.hasSubscribers) {
      rejectChannel.publish({ statusCode, reason, remoteAddress: req.socket.remoteAddress })
    }
    return { kind: 'rejected', statusCode, reason }
  }

  /**
   * Refuses new upgrades (503), sends close 1001 to every peer and resolves once all have
   * closed; peers that have not answered within `timeout` ms are disconnected.
   */
  async gracefulStop(timeout: number = this.hub.options.closeTimeout): Promise<void> {
    this.stopping = true
    const closing: Promise<void>[] = []
    for (const connection of this.hub.connections) closing.push(connection.close(1001, 'going away', timeout))
    await Promise.all(closing)
  }

  /** Refuses new upgrades and ends every connection at once, without a close handshake. */
  immediateStop(): Promise<void> {
    this.stopping = true
    const closing: Promise<void>[] = []
    for (const connection of this.hub.connections) {
      closing.push(connection.whenClosed())
      connection.terminate()
    }
    return Promise.all(closing).then(() => undefined)
  }
}
