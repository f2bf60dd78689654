// A WebSocket endpoint on a port of its own: a node:http (or https) server whose upgrades
// go to a WebSocketUpgrader and whose plain requests get 426.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { WebSocketError } from './errors.js'
import { checkKeys, integer, invalidOption, type WebSocketListenerOptions } from './options.js'
import { refuseUpgrade, UPGRADE_KEYS, WebSocketUpgrader } from './upgrader.js'

const LISTENER_KEYS = new Set<string>([...UPGRADE_KEYS, 'port', 'host', 'path', 'secureSocket'])

type ListenerState = 'idle' | 'starting' | 'listening' | 'stopped'

function answer426(_req: IncomingMessage, res: ServerResponse): void {
  const body = 'Upgrade Required'
  res.writeHead(426, {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  })
  res.end(body)
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** A WebSocket listener on its own port, serving one callback service. */
export class WebSocketListener {
  /** The upgrader behind this listener (connection count, callers). */
  readonly upgrader: WebSocketUpgrader
  private readonly server: Server
  private readonly requestedPort: number
  private readonly host: string | undefined
  private readonly secure: boolean
  private state: ListenerState = 'idle'

  constructor(options: WebSocketListenerOptions) {
    checkKeys(options, LISTENER_KEYS, 'WebSocketListener')
    const { port, host, path, secureSocket, ...upgradeOptions } = options
    this.requestedPort = integer(port, 'port', 0, 65_535, Number.NaN)
    if (Number.isNaN(this.requestedPort)) throw invalidOption('port', 'an integer from 0 to 65535')
    if (host !== undefined && (typeof host !== 'string' || host === ''))
      throw invalidOption('host', 'a host name')
    if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
      throw invalidOption('path', 'a path starting with /')
    }
    if (secureSocket !== undefined && (typeof secureSocket !== 'object' || secureSocket === null)) {
      throw invalidOption('secureSocket', 'an object of TLS options')
    }
    this.host = host
    this.upgrader = new WebSocketUpgrader(upgradeOptions)
    this.secure = secureSocket !== undefined
    this.server =
      secureSocket === undefined ? createHttpServer(answer426) : createHttpsServer(secureSocket, answer426)
    const upgrader = this.upgrader
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (path !== undefined && pathOf(req.url) !== path) {
        refuseUpgrade(socket, 404)
        return
      }
      upgrader.handleUpgrade(req, socket, head)
    })
  }

  /** Binds the port; rejects with `X_ERR_WEBSOCKET_LISTEN_FAILED` (cause: the system error). */
  start(): Promise<void> {
    if (this.state !== 'idle') {
      return Promise.reject(
        new WebSocketError('X_ERR_WEBSOCKET_LISTEN_FAILED', `the listener cannot start: it is ${this.state}`),
      )
    }
    this.state = 'starting'
    return new Promise<void>((resolve, reject) => {
      const onError = (cause: Error) => {
        this.state = 'stopped'
        reject(
          new WebSocketError('X_ERR_WEBSOCKET_LISTEN_FAILED', 'the listener could not bind its port', {
            cause,
          }),
        )
      }
      this.server.once('error', onError)
      this.server.listen(this.requestedPort, this.host, () => {
        this.server.off('error', onError)
        this.state = 'listening'
        resolve()
      })
    })
  }

  /** The bound port (after `start()`). */
  get port(): number {
    const address = this.server.address()
    return address !== null && typeof address === 'object' ? address.port : this.requestedPort
  }

  /** `ws://host:port` or `wss://host:port` (loopback when bound to all interfaces). */
  get url(): string {
    const host =
      this.host === undefined || this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host
    const shown = host.includes(':') ? `[${host}]` : host
    return `${this.secure ? 'wss' : 'ws'}://${shown}:${this.port}`
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.upgrader.connectionCount
  }

  /**
   * Stops accepting, closes every connection with 1001 and waits for the peers to answer
   * (at most `timeout` ms, then their TCP connections are destroyed), then closes the port.
   */
  async gracefulStop(timeout?: number): Promise<void> {
    const closed = this.closeServer()
    await this.upgrader.gracefulStop(timeout)
    this.server.closeAllConnections()
    await closed
  }

  /** Ends every connection at once and closes the port. */
  async immediateStop(): Promise<void> {
    const closed = this.closeServer()
    await this.upgrader.immediateStop()
    this.server.closeAllConnections()
    await closed
  }

  private closeServer(): Promise<void> {
    if (this.state !== 'listening') {
      this.state = 'stopped'
      return Promise.resolve()
    }
    this.state = 'stopped'
    return new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
