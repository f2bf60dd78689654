import { createServer, get, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import {
  isWebSocketError,
  type UpgradeResult,
  type WebSocketCaller,
  type WebSocketUpgradeOptions,
  WebSocketUpgrader,
} from '../src/index.ts'
import { connectRaw, rawHandshake, upgradeRequest } from './helpers/raw.ts'
import { echo, recorder } from './helpers/recorder.ts'
import { wsPeer } from './helpers/ws-peer.ts'

interface Setup {
  readonly server: Listening
  readonly upgrader: WebSocketUpgrader
  readonly results: UpgradeResult[]
  readonly requests: number
}

let open: Setup | undefined

/** GET over a connection of its own that closes after the response. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve(body))
    }).on('error', reject)
  })
}

/** A plain node:http server that answers requests itself and hands every upgrade to the upgrader. */
async function setup(
  options: WebSocketUpgradeOptions,
  attributes?: Array<[string, unknown]>,
): Promise<Setup> {
  const upgrader = new WebSocketUpgrader(options)
  const results: UpgradeResult[] = []
  const state = { requests: 0 }
  const server = createServer((_req, res) => {
    state.requests++
    res.end('plain http')
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    results.push(upgrader.handleUpgrade(req, socket, head, attributes))
  })
  const listening = await listen(server)
  open = {
    server: listening,
    upgrader,
    results,
    get requests() {
      return state.requests
    },
  }
  return open
}

afterEach(async () => {
  if (open === undefined) return
  await open.upgrader.immediateStop()
  await open.server.drained()
  await open.server.close()
  open = undefined
})

describe('WebSocketUpgrader on a node:http upgrade event', () => {
  it('completes the handshake, runs the service and seeds attributes', async () => {
    const rec = recorder(echo)
    const s = await setup({ service: rec.service }, [['principal', 'alice']])
    const peer = await wsPeer(s.server.url.replace('http', 'ws'))
    peer.ws.send('through node:http')
    expect(await peer.message()).toBe('through node:http')
    const { caller } = await rec.next('open')
    expect(caller.attributes.get('principal')).toBe('alice')
    expect(s.results).toHaveLength(1)
    expect(s.results[0]).toMatchObject({ kind: 'upgraded' })
    expect((s.results[0] as { caller: unknown }).caller).toBe(caller)
    peer.ws.close(1000)
    await rec.next('close')
  })

  it('leaves plain requests of the same server alone', async () => {
    const s = await setup({ service: {} })
    expect(await httpGet(s.server.url)).toBe('plain http')
    expect(s.requests).toBe(1)
  })

  it.each([
    {
      name: 'a wrong Sec-WebSocket-Version',
      headers: { 'Sec-WebSocket-Version': '12' },
      status: 426,
      header: ['sec-websocket-version', '13, 8'],
      reason: 'version',
    },
    {
      name: 'no Sec-WebSocket-Version',
      headers: { 'Sec-WebSocket-Version': undefined },
      status: 426,
      header: ['sec-websocket-version', '13, 8'],
      reason: 'version',
    },
    { name: 'no Sec-WebSocket-Key', headers: { 'Sec-WebSocket-Key': undefined }, status: 400, reason: 'key' },
    {
      name: 'a key of the wrong length',
      headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=' },
      status: 400,
      reason: 'key',
    },
    {
      name: 'a key that is not base64',
      headers: { 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' },
      status: 400,
      reason: 'key',
    },
    {
      name: 'an Upgrade header naming another protocol',
      headers: { Upgrade: 'h2c' },
      status: 400,
      reason: 'upgrade-header',
    },
    {
      name: 'a malformed Sec-WebSocket-Protocol',
      headers: { 'Sec-WebSocket-Protocol': 'chat,,"bad"' },
      status: 400,
      reason: 'handshake',
    },
  ])(
    'answers $status to an upgrade with $name and runs no service',
    async ({ headers, status, header, reason }) => {
      const rec = recorder()
      const s = await setup({ service: rec.service })
      const peer = await rawHandshake(s.server.port, upgradeRequest(s.server.port, headers))
      expect(peer.head.status).toBe(status)
      if (header) expect(peer.head.headers[header[0]!]).toBe(header[1])
      await peer.ended
      expect(rec.events).toEqual([])
      expect(s.results).toEqual([{ kind: 'rejected', statusCode: status, reason }])
    },
  )

  it('answers 405 to an upgrade that is not a GET', async () => {
    const s = await setup({ service: {} })
    const peer = await rawHandshake(s.server.port, upgradeRequest(s.server.port, {}, { method: 'POST' }))
    expect(peer.head.status).toBe(405)
    expect(peer.head.headers.allow).toBe('GET')
    await peer.ended
  })

  it('answers 403 to a version 8 client whose Sec-WebSocket-Origin is not allowed', async () => {
    const s = await setup({ service: {}, allowedOrigins: ['http://good.example'] })
    const peer = await rawHandshake(
      s.server.port,
      upgradeRequest(s.server.port, {
        'Sec-WebSocket-Version': '8',
        'Sec-WebSocket-Origin': 'http://bad.example',
      }),
    )
    expect(peer.head.status).toBe(403)
    await peer.ended
  })

  it('refuses upgrades with 503 once stopping, and the server still serves HTTP', async () => {
    const s = await setup({ service: {} })
    await s.upgrader.gracefulStop()
    const peer = await rawHandshake(s.server.port, upgradeRequest(s.server.port))
    expect(peer.head.status).toBe(503)
    await peer.ended
    expect(await httpGet(s.server.url)).toBe('plain http')
  })

  it('reports a socket handed over twice as aborted, without throwing', async () => {
    const rec = recorder()
    const upgrader = new WebSocketUpgrader({ service: rec.service })
    const server = createServer()
    const results: UpgradeResult[] = []
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      results.push(upgrader.handleUpgrade(req, socket, head))
      results.push(upgrader.handleUpgrade(req, socket, head))
    })
    const listening = await listen(server)
    const peer = await rawHandshake(listening.port, upgradeRequest(listening.port))
    expect(peer.head.status).toBe(101)
    await peer.ended
    expect(results.map((r) => r.kind)).toEqual(['upgraded', 'aborted'])
    expect((await rec.next('close')).code).toBe(1006)
    await listening.drained()
    await listening.close()
  })

  it('reports an upgrade whose socket is already gone as aborted', async () => {
    const upgrader = new WebSocketUpgrader({ service: {} })
    const server = createServer()
    let result: UpgradeResult | undefined
    const done = new Promise<void>((resolve) => {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.destroy()
        result = upgrader.handleUpgrade(req, socket, head)
        resolve()
      })
    })
    const listening = await listen(server)
    const peer = rawHandshake(listening.port, upgradeRequest(listening.port)).catch(() => undefined)
    await done
    await peer
    expect(result).toEqual({ kind: 'aborted' })
    await listening.drained()
    await listening.close()
  })
})

describe('WebSocketUpgrader.verify', () => {
  /** A server whose upgrade listener only records what verify() says, then drops the socket. */
  async function verifying(options: WebSocketUpgradeOptions) {
    const upgrader = new WebSocketUpgrader(options)
    const verdicts: unknown[] = []
    const server = createServer()
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      verdicts.push(upgrader.verify(req))
      socket.destroy()
    })
    return { upgrader, verdicts, listening: await listen(server) }
  }

  it.each([
    { name: 'a good handshake', headers: {}, method: 'GET', verdict: undefined },
    {
      name: 'a wrong version',
      headers: { 'Sec-WebSocket-Version': '12' },
      method: 'GET',
      verdict: { statusCode: 426, reason: 'version', headers: { 'sec-websocket-version': '13, 8' } },
    },
    {
      name: 'a missing key',
      headers: { 'Sec-WebSocket-Key': undefined },
      method: 'GET',
      verdict: { statusCode: 400, reason: 'key', headers: {} },
    },
    {
      name: 'a POST',
      headers: {},
      method: 'POST',
      verdict: { statusCode: 405, reason: 'method', headers: { allow: 'GET' } },
    },
    {
      name: 'an origin not allowed',
      headers: { Origin: 'https://evil.example' },
      method: 'GET',
      verdict: { statusCode: 403, reason: 'origin', headers: {} },
    },
  ])('reports $name without writing anything to the socket', async ({ headers, method, verdict }) => {
    const v = await verifying({ service: {}, allowedOrigins: ['https://good.example'] })
    const peer = connectRaw(v.listening.port)
    const socket = await peer
    const received: Buffer[] = []
    socket.on('data', (d: Buffer) => received.push(d))
    socket.on('error', () => {})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(upgradeRequest(v.listening.port, headers, { method }))
    await closed
    expect(v.verdicts).toEqual([verdict])
    expect(Buffer.concat(received).length).toBe(0)
    await v.listening.drained()
    await v.listening.close()
  })

  it('reports an upgrader that is stopping as 503', async () => {
    const v = await verifying({ service: {}, maxConnections: 1 })
    const socket = await connectRaw(v.listening.port)
    socket.on('error', () => {})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(upgradeRequest(v.listening.port))
    await closed
    await v.upgrader.gracefulStop()
    const again = await connectRaw(v.listening.port)
    again.on('error', () => {})
    const closedAgain = new Promise((resolve) => again.once('close', resolve))
    again.write(upgradeRequest(v.listening.port))
    await closedAgain
    expect(v.verdicts).toEqual([undefined, { statusCode: 503, reason: 'stopping', headers: {} }])
    await v.listening.drained()
    await v.listening.close()
  })
})

describe('WebSocketUpgrader with a service per connection', () => {
  it('runs the service given to handleUpgrade instead of its own, for that connection only', async () => {
    const own = recorder(echo)
    const upgrader = new WebSocketUpgrader({ service: own.service })
    const server = createServer()
    let n = 0
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const room = `room-${++n}`
      const perConnection =
        n === 1
          ? {
              onOpen: (c: WebSocketCaller) => c.pushText(`joined ${room} as ${c.attributes.get('user')}`),
              onText: (c: WebSocketCaller, text: string) => c.pushText(`${room}: ${text}`),
            }
          : undefined
      upgrader.handleUpgrade(req, socket, head, [['user', 'ann']], perConnection)
    })
    const listening = await listen(server)
    const url = listening.url.replace('http', 'ws')
    const first = await wsPeer(url)
    expect(await first.message()).toBe('joined room-1 as ann')
    first.ws.send('hi')
    expect(await first.message()).toBe('room-1: hi')
    const second = await wsPeer(url)
    second.ws.send('plain echo')
    expect(await second.message()).toBe('plain echo')
    expect(own.events.filter((e) => e.kind === 'open')).toHaveLength(1)
    await upgrader.gracefulStop()
    expect((await first.closed).code).toBe(1001)
    expect((await second.closed).code).toBe(1001)
    await listening.drained()
    await listening.close()
  })

  it('throws X_ERR_WEBSOCKET_INVALID_OPTION for a service that is not one, before touching the socket', async () => {
    const upgrader = new WebSocketUpgrader({ service: {} })
    const server = createServer()
    const thrown: unknown[] = []
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        upgrader.handleUpgrade(req, socket, head, undefined, { onText: 'nope' } as never)
      } catch (e) {
        thrown.push(e)
      }
      expect(socket.destroyed).toBe(false)
      socket.destroy()
    })
    const listening = await listen(server)
    const socket = await connectRaw(listening.port)
    socket.on('error', () => {})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(upgradeRequest(listening.port))
    await closed
    expect(thrown).toHaveLength(1)
    expect(isWebSocketError(thrown[0], 'X_ERR_WEBSOCKET_INVALID_OPTION')).toBe(true)
    await listening.drained()
    await listening.close()
  })
})

describe('WebSocketUpgrader options', () => {
  it.each([
    { name: 'a missing service', options: {} },
    { name: 'a service callback that is not a function', options: { service: { onText: 'echo' } } },
    { name: 'an unknown option', options: { service: {}, maxMesageSize: 10 } },
    { name: 'a zero maxMessageSize', options: { service: {}, maxMessageSize: 0 } },
    { name: 'a fractional idleTimeout', options: { service: {}, idleTimeout: 1.5 } },
    { name: 'a negative closeTimeout', options: { service: {}, closeTimeout: -1 } },
    { name: 'a heartbeat interval of 0', options: { service: {}, heartbeat: { interval: 0 } } },
    { name: 'an unknown heartbeat key', options: { service: {}, heartbeat: { every: 10 } } },
    { name: 'sub-protocols that are not tokens', options: { service: {}, subProtocols: ['a b'] } },
    { name: 'duplicate sub-protocols', options: { service: {}, subProtocols: ['a', 'a'] } },
    { name: 'an origin that is not a URL', options: { service: {}, allowedOrigins: ['example.com'] } },
    { name: 'maxConnections of 0', options: { service: {}, maxConnections: 0 } },
    { name: 'a window of 16 bits', options: { service: {}, perMessageDeflate: { serverMaxWindowBits: 16 } } },
    { name: 'a zlib level of 10', options: { service: {}, perMessageDeflate: { level: 10 } } },
    { name: 'an unknown deflate key', options: { service: {}, perMessageDeflate: { windowBits: 10 } } },
    { name: 'autoPong that is not a boolean', options: { service: {}, autoPong: 'yes' } },
    { name: 'a clock without timers', options: { service: {}, clock: { now: () => 0 } } },
  ])('throws X_ERR_WEBSOCKET_INVALID_OPTION for $name', ({ options }) => {
    expect(() => new WebSocketUpgrader(options as unknown as WebSocketUpgradeOptions)).toThrow(
      expect.objectContaining({ code: 'X_ERR_WEBSOCKET_INVALID_OPTION' }),
    )
    try {
      new WebSocketUpgrader(options as unknown as WebSocketUpgradeOptions)
    } catch (e) {
      expect(isWebSocketError(e, 'X_ERR_WEBSOCKET_INVALID_OPTION')).toBe(true)
    }
  })
})
