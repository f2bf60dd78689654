import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'
import { listen } from '../../../test-support/listen.ts'
import {
  isWebSocketError,
  WebSocketClient,
  type WebSocketClientOptions,
  WebSocketListener,
} from '../src/index.ts'
import { FakeClock } from './helpers/fake-clock.ts'
import { echo, recorder } from './helpers/recorder.ts'
import { ca, cert, key } from './helpers/tls.ts'

interface Peer {
  readonly wss: WebSocketServer
  readonly url: string
  /** Server-side sockets, in the order they connected. */
  readonly sockets: WebSocket[]
  /** Resolves with the n-th server-side socket (1-based). */
  nth(n: number): Promise<WebSocket>
  readonly requests: IncomingMessage[]
  close(): Promise<void>
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A ws server (an independent peer) that echoes, on 127.0.0.1 port 0. */
async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<Peer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const sockets: WebSocket[] = []
  const requests: IncomingMessage[] = []
  const waiters: Array<{ n: number; resolve: (ws: WebSocket) => void }> = []
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {})
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    sockets.push(ws)
    requests.push(req)
    for (const w of waiters.slice()) if (w.n === sockets.length) w.resolve(ws)
  })
  const port = (wss.address() as AddressInfo).port
  let closed = false
  const peer: Peer = {
    wss,
    url: `ws://127.0.0.1:${port}`,
    sockets,
    requests,
    nth(n) {
      const s = sockets[n - 1]
      if (s) return Promise.resolve(s)
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
    close() {
      if (closed) return Promise.resolve()
      closed = true
      for (const ws of wss.clients) ws.terminate()
      return new Promise((resolve) => wss.close(() => resolve()))
    },
  }
  cleanups.push(() => peer.close())
  return peer
}

function client(url: string, options: WebSocketClientOptions = {}): WebSocketClient {
  const c = new WebSocketClient(url, options)
  cleanups.push(() => c.close().catch(() => undefined))
  return c
}

/** A URL where nothing listens (a port that was just freed). */
async function deadUrl(): Promise<string> {
  const server: Server = createServer()
  const l = await listen(server)
  await l.close()
  return `ws://127.0.0.1:${l.port}`
}

describe('WebSocketClient', () => {
  it('connects, runs its callbacks with itself as caller, and echoes through a ws server', async () => {
    const peer = await wsServer()
    const rec = recorder()
    const c = client(peer.url, { callbackService: rec.service })
    expect(c.state).toBe('idle')
    await c.connect()
    expect(c.state).toBe('open')
    expect((await rec.next('open')).caller).toBe(c)
    expect(c.isOpen).toBe(true)
    expect(c.isSecure).toBe(false)
    expect(c.remoteAddress).toBe('127.0.0.1')
    await c.pushText('hi')
    expect((await rec.next('text')).text).toBe('hi')
    await c.pushBinary(new Uint8Array([9, 8]))
    const bin = await rec.next('binary')
    expect(bin.data).toEqual(Buffer.from([9, 8]))
    expect(bin.caller).toBe(c)
    await c.close(1000, 'done')
    expect(c.state).toBe('closed')
    expect(await rec.next('close')).toMatchObject({ code: 1000 })
  })

  it('sends customHeaders and offers its sub-protocols in order', async () => {
    const peer = await wsServer({ handleProtocols: (p) => (p.has('v2') ? 'v2' : false) })
    const c = client(peer.url, {
      subProtocols: ['v1', 'v2'],
      customHeaders: { authorization: 'Bearer t0k3n' },
    })
    await c.connect()
    expect(peer.requests[0]!.headers.authorization).toBe('Bearer t0k3n')
    expect(peer.requests[0]!.headers['sec-websocket-protocol']).toBe('v1,v2')
    expect(c.negotiatedSubProtocol).toBe('v2')
  })

  it('reads nothing before ready() when readyOnConnect is false', async () => {
    const peer = await wsServer()
    const rec = recorder()
    const c = client(peer.url, { callbackService: rec.service, readyOnConnect: false })
    await c.connect()
    const server = await peer.nth(1)
    await new Promise<void>((resolve, reject) => server.send('early', (e) => (e ? reject(e) : resolve())))
    await new Promise((r) => setImmediate(r))
    expect(rec.count('text')).toBe(0)
    c.ready()
    expect((await rec.next('text')).text).toBe('early')
  })

  it('rejects connect() with X_ERR_WEBSOCKET_CONNECT_FAILED when nothing listens', async () => {
    const c = client(await deadUrl())
    const error = await c.connect().catch((e: unknown) => e)
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_CONNECT_FAILED')).toBe(true)
    expect(((error as Error).cause as { code?: string }).code).toBe('ECONNREFUSED')
    expect(c.state).toBe('closed')
  })

  it('carries the HTTP status when the server refuses the handshake', async () => {
    const peer = await wsServer({ verifyClient: (_info, cb) => cb(false, 401, 'no') })
    const c = client(peer.url)
    const error = await c.connect().catch((e: unknown) => e)
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_CONNECT_FAILED')).toBe(true)
    expect((error as { statusCode?: number }).statusCode).toBe(401)
  })

  it('reconnects after an abnormal close, waiting retry.interval on the injected clock', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, {
      callbackService: rec.service,
      heartbeat: false,
      clock,
      retry: { interval: 1000, backOffFactor: 2 },
    })
    await c.connect()
    ;(await peer.nth(1)).terminate()
    expect((await rec.next('close')).code).toBe(1006)
    expect(c.state).toBe('waiting-to-reconnect')
    expect(clock.pending()).toEqual([1000])
    clock.advance(999)
    expect(peer.sockets).toHaveLength(1)
    clock.advance(1)
    await peer.nth(2)
    expect((await rec.nth('open', 2)).caller).toBe(c)
    expect(c.state).toBe('open')
    await c.pushText('after reconnect')
    expect((await rec.next('text')).text).toBe('after reconnect')
  })

  it('reconnects after the server goes away with 1001', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, {
      callbackService: rec.service,
      heartbeat: false,
      clock,
      retry: { interval: 50 },
    })
    await c.connect()
    ;(await peer.nth(1)).close(1001, 'restarting')
    expect((await rec.next('close')).code).toBe(1001)
    await clock.waitForTimer(50)
    clock.advance(50)
    await rec.nth('open', 2)
  })

  it('does not reconnect when the server closes with 1000', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, {
      callbackService: rec.service,
      heartbeat: false,
      clock,
      retry: { interval: 10 },
    })
    await c.connect()
    ;(await peer.nth(1)).close(1000)
    expect((await rec.next('close')).code).toBe(1000)
    expect(c.state).toBe('closed')
    expect(clock.pending()).toEqual([])
  })

  it('does not reconnect after its own close()', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, {
      callbackService: rec.service,
      heartbeat: false,
      clock,
      retry: { interval: 10 },
    })
    await c.connect()
    await c.close(4000, 'leaving')
    expect((await rec.next('close')).code).toBe(4000)
    expect(c.state).toBe('closed')
    expect(clock.pending()).toEqual([])
    await expect(c.connect()).rejects.toSatisfy((e) => isWebSocketError(e, 'X_ERR_WEBSOCKET_CLOSED'))
  })

  it('backs off by backOffFactor up to maxInterval and gives up after maxCount retries', async () => {
    const url = await deadUrl()
    const clock = new FakeClock()
    const c = client(url, {
      heartbeat: false,
      clock,
      retry: { interval: 100, backOffFactor: 2, maxInterval: 500, maxCount: 5 },
    })
    const connecting = c.connect().catch((e: unknown) => e)
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      await clock.waitForTimer()
      const [delay] = clock.pending()
      delays.push(delay!)
      clock.advance(delay!)
    }
    const error = await connecting
    expect(delays).toEqual([100, 200, 400, 500, 500])
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_RETRY_EXHAUSTED')).toBe(true)
    expect((error as { attempts?: number }).attempts).toBe(6)
    expect(isWebSocketError((error as Error).cause, 'X_ERR_WEBSOCKET_CONNECT_FAILED')).toBe(true)
    expect(c.state).toBe('closed')
  })

  it('tells onError when reconnection gives up after a connection was lost', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, {
      callbackService: rec.service,
      heartbeat: false,
      clock,
      retry: { interval: 10, maxCount: 1 },
    })
    await c.connect()
    await peer.close()
    await rec.next('close')
    clock.advance(10)
    const { error } = await rec.next('error')
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_RETRY_EXHAUSTED')).toBe(true)
    expect(c.state).toBe('closed')
  })

  it('stops waiting to reconnect on close(), rejecting a pending connect() with X_ERR_WEBSOCKET_CLOSED', async () => {
    const clock = new FakeClock()
    const c = client(await deadUrl(), { heartbeat: false, clock, retry: { interval: 1000 } })
    const connecting = c.connect().catch((e: unknown) => e)
    await clock.waitForTimer(1000)
    await c.close()
    expect(isWebSocketError(await connecting, 'X_ERR_WEBSOCKET_CLOSED')).toBe(true)
    expect(clock.pending()).toEqual([])
  })

  it('calls onIdleTimeout after idleTimeout without messages', async () => {
    const peer = await wsServer()
    const clock = new FakeClock()
    const rec = recorder()
    const c = client(peer.url, { callbackService: rec.service, heartbeat: false, clock, idleTimeout: 3000 })
    await c.connect()
    clock.advance(3000)
    expect((await rec.next('idle')).caller).toBe(c)
  })

  it('rejects pushes with X_ERR_WEBSOCKET_NOT_OPEN before connecting', async () => {
    const c = client('ws://127.0.0.1:9')
    await expect(c.pushText('x')).rejects.toSatisfy((e) => isWebSocketError(e, 'X_ERR_WEBSOCKET_NOT_OPEN'))
    await expect(c.ping()).rejects.toSatisfy((e) => isWebSocketError(e, 'X_ERR_WEBSOCKET_NOT_OPEN'))
  })

  it('closes with 1002 and reports a protocol error when the server masks its frames', async () => {
    const http = createServer()
    http.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64')
      socket.on('error', () => {})
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      )
      socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x69 ^ 2])) // masked "ii"
      socket.on('data', () => {})
      socket.on('end', () => socket.end())
    })
    const l = await listen(http)
    cleanups.push(() => l.close())
    const rec = recorder()
    const c = client(l.url.replace('http', 'ws'), { callbackService: rec.service })
    await c.connect()
    const { error } = await rec.next('error')
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_PROTOCOL_ERROR')).toBe(true)
    await rec.next('close')
    await l.drained()
  })

  it('closes with 1009 when the server sends a message over maxMessageSize', async () => {
    const peer = await wsServer()
    const rec = recorder()
    const c = client(peer.url, { callbackService: rec.service, maxMessageSize: 1000 })
    await c.connect()
    const server = await peer.nth(1)
    const serverSaw = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)))
    server.send(Buffer.alloc(1001))
    const { error } = await rec.next('error')
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG')).toBe(true)
    expect(await serverSaw).toBe(1009)
    expect(rec.count('binary')).toBe(0)
  })

  it('connects over TLS with secureSocket.ca, and fails to without it', async () => {
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: echo,
      secureSocket: { key, cert },
    })
    await listener.start()
    cleanups.push(() => listener.immediateStop())
    expect(listener.url.startsWith('wss://')).toBe(true)
    const rec = recorder()
    const c = client(listener.url, { callbackService: rec.service, secureSocket: { ca } })
    await c.connect()
    expect(c.isSecure).toBe(true)
    expect(listener.upgrader.callers()[0]!.isSecure).toBe(true)
    await c.pushText('over tls')
    expect((await rec.next('text')).text).toBe('over tls')
    const untrusting = client(listener.url)
    const error = await untrusting.connect().catch((e: unknown) => e)
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_CONNECT_FAILED')).toBe(true)
  })

  it.each([
    { name: 'an ftp: URL', url: 'ftp://example.com', options: {} },
    { name: 'a URL with a fragment', url: 'ws://example.com/#x', options: {} },
    { name: 'a backOffFactor under 1', url: 'ws://x', options: { retry: { backOffFactor: 0.5 } } },
    { name: 'an unknown retry key', url: 'ws://x', options: { retry: { attempts: 3 } } },
    { name: 'a negative retry interval', url: 'ws://x', options: { retry: { interval: -1 } } },
    { name: 'a header value with CRLF', url: 'ws://x', options: { customHeaders: { a: 'b\r\nc: d' } } },
    { name: 'an unknown secureSocket key', url: 'wss://x', options: { secureSocket: { insecure: true } } },
    { name: 'readyOnConnect that is not a boolean', url: 'ws://x', options: { readyOnConnect: 1 } },
    { name: 'an unknown option', url: 'ws://x', options: { retries: 3 } },
  ])('throws X_ERR_WEBSOCKET_INVALID_OPTION for $name', ({ url, options }) => {
    let thrown: unknown
    try {
      new WebSocketClient(url, options as WebSocketClientOptions)
    } catch (e) {
      thrown = e
    }
    expect(isWebSocketError(thrown, 'X_ERR_WEBSOCKET_INVALID_OPTION')).toBe(true)
  })
})
