// Requests Node handed to the `upgrade` event that this Listener will not switch (an
// `Upgrade: h2c` from curl, a handshake no resource upgrades): RFC 9110 §7.8 lets a server
// ignore Upgrade, so the request is parsed again by Node as a plain HTTP/1.1 request.

import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Duplex } from 'node:stream'

type NetLike = Duplex & {
  remoteAddress?: string
  remotePort?: number
  remoteFamily?: string
  localAddress?: string
  localPort?: number
  encrypted?: boolean
  address?(): AddressInfo | object | string | null
  setTimeout?(ms: number): unknown
  setNoDelay?(noDelay?: boolean): unknown
  setKeepAlive?(enable?: boolean, delay?: number): unknown
}

/**
 * A connection's socket seen as a fresh connection whose first bytes are `first`: what the
 * server's parser reads next. Everything else passes straight through to the socket.
 */
export class Reparsed extends Duplex {
  private released = false

  constructor(
    private readonly socket: NetLike,
    first: Buffer,
  ) {
    // Half-open like the sockets of a node:http server, which ends its side itself.
    super({ allowHalfOpen: true })
    this.push(first)
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onClose)
    socket.on('timeout', this.onTimeout)
    socket.on('drain', this.onDrain)
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.socket.pause()
  }
  private readonly onEnd = (): void => {
    this.push(null)
  }
  private readonly onClose = (): void => {
    this.destroy()
  }
  private readonly onTimeout = (): void => {
    this.emit('timeout')
  }
  private waiting: (() => void) | undefined = undefined
  private readonly onDrain = (): void => {
    const cb = this.waiting
    this.waiting = undefined
    cb?.()
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk, encoding)) callback()
    else this.waiting = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach()
    if (!this.released) this.socket.destroy()
    callback(error)
  }

  /**
   * Gives the socket back for another upgrade on it (a WebSocket handshake, or one more request
   * to parse again): bytes read from it and not yet parsed go back in front of it, and this
   * wrapper closes without closing the socket.
   */
  release(): Duplex {
    this.released = true
    this.detach()
    const unread: Buffer[] = []
    for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null) {
      unread.push(chunk)
    }
    if (unread.length > 0) this.socket.unshift(Buffer.concat(unread))
    // Whoever reads the socket next starts it flowing by adding a 'data' listener.
    if (this.socket.readableFlowing === false) {
      ;(this.socket as { readableFlowing: boolean | null }).readableFlowing = null
    }
    this.destroy()
    return this.socket
  }

  private detach(): void {
    const socket = this.socket
    socket.off('data', this.onData)
    socket.off('end', this.onEnd)
    socket.off('close', this.onClose)
    socket.off('timeout', this.onTimeout)
    socket.off('drain', this.onDrain)
  }

  // What node:http, the Listener and filters read of a net.Socket (node:http sets `server` itself).
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress
  }
  get localPort(): number | undefined {
    return this.socket.localPort
  }
  get encrypted(): boolean | undefined {
    return this.socket.encrypted
  }
  address(): AddressInfo | object | string | null {
    return this.socket.address?.() ?? null
  }
  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout?.(ms)
    if (callback !== undefined) this.once('timeout', callback)
    return this
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay?.(noDelay)
    return this
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive?.(enable, delay)
    return this
  }
  /** What node:http calls to close a connection after its last response. */
  destroySoon(): void {
    this.end()
    if (this.writableFinished) this.destroy()
    else this.once('finish', () => this.destroy())
  }
}

/** The request head again, with `upgrade` taken out of `Connection`, so Node's parser sees no upgrade. */
function plainHead(req: IncomingMessage): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    let value = raw[i + 1]!
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const kept: string[] = []
      for (const option of value.split(',')) {
        const o = option.trim()
        if (o.length !== 0 && o.toLowerCase() !== 'upgrade') kept.push(o)
      }
      if (kept.length === 0) continue
      value = kept.join(', ')
    }
    head += `${name}: ${value}\r\n`
  }
  return Buffer.from(`${head}\r\n`, 'latin1')
}

/**
 * Serves `req` as if it had asked for no upgrade: the server gets the connection again as a
 * new one, whose parser reads the request head (without the upgrade) followed by `head` and
 * the rest of the socket, so bodies, keep-alive, pipelining and every limit work as usual.
 */
export function reparse(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const first = plainHead(req)
  server.emit('connection', new Reparsed(socket, head.length === 0 ? first : Buffer.concat([first, head])))
}
