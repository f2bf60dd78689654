import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  isWebSocketError,
  type WebSocketCaller,
  WebSocketListener,
  type WebSocketListenerOptions,
} from '../src/index.ts'
import { FakeClock } from './helpers/fake-clock.ts'
import { closePayload, frame, rawHandshake, upgradeRequest } from './helpers/raw.ts'
import { echo, recorder } from './helpers/recorder.ts'
import { refusedStatus, wsPeer } from './helpers/ws-peer.ts'

const listeners: WebSocketListener[] = []

async function start(options: Omit<WebSocketListenerOptions, 'port'>): Promise<WebSocketListener> {
  const listener = new WebSocketListener({ port: 0, host: '127.0.0.1', ...options })
  await listener.start()
  listeners.push(listener)
  return listener
}

afterEach(async () => {
  for (const l of listeners.splice(0)) await l.immediateStop()
})

describe('WebSocketListener', () => {
  it('echoes text and binary messages from a ws client, whole and final', async () => {
    const rec = recorder(echo)
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('hello')
    expect(await peer.message()).toBe('hello')
    peer.ws.send(Buffer.from([1, 2, 3]))
    expect(await peer.message()).toEqual(Buffer.from([1, 2, 3]))
    const text = await rec.next('text')
    expect(text.final).toBe(true)
    expect((await rec.next('binary')).final).toBe(true)
    peer.ws.close(1000)
    expect((await rec.next('close')).code).toBe(1000)
  })

  it('delivers a message the peer fragmented as one whole message', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('frag', { fin: false })
    peer.ws.send('ment', { fin: false })
    peer.ws.send('ed', { fin: true })
    const text = await rec.next('text')
    expect(text).toMatchObject({ text: 'fragmented', final: true })
    peer.ws.close()
  })

  it('sends a fragmented message when pushes pass final = false', async () => {
    let caller!: WebSocketCaller
    const rec = recorder({
      onOpen(c) {
        caller = c
      },
    })
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    await rec.next('open')
    await caller.pushText('one ', false)
    await caller.pushText('two ', false)
    await caller.pushText('three')
    expect(await peer.message()).toBe('one two three')
    await caller.pushBinary(Buffer.from([1]), false)
    await caller.pushBinary(Buffer.from([2]))
    expect(await peer.message()).toEqual(Buffer.from([1, 2]))
    peer.ws.close()
  })

  it('gives the caller its id, address, attributes and state', async () => {
    const rec = recorder({
      onOpen(c) {
        c.attributes.set('user', 'alice')
      },
    })
    const listener = await start({ service: rec.service })
    const a = await wsPeer(listener.url)
    const b = await wsPeer(listener.url)
    const { caller: ca } = await rec.nth('open', 1)
    const { caller: cb } = await rec.nth('open', 2)
    expect(ca.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(ca.id).not.toBe(cb.id)
    expect(ca.remoteAddress).toBe('127.0.0.1')
    expect(ca.isSecure).toBe(false)
    expect(ca.isOpen).toBe(true)
    expect(ca.negotiatedSubProtocol).toBeUndefined()
    expect(ca.attributes.get('user')).toBe('alice')
    expect(listener.connectionCount).toBe(2)
    a.ws.close(4001, 'bye')
    const closed = await rec.next('close')
    expect(closed).toMatchObject({ code: 4001, reason: 'bye' })
    expect(closed.caller.isOpen).toBe(false)
    expect(closed.caller.remoteAddress).toBe('127.0.0.1')
    await expect(closed.caller.pushText('late')).rejects.toSatisfy((e) =>
      isWebSocketError(e, 'X_ERR_WEBSOCKET_NOT_OPEN'),
    )
    b.ws.close()
    await rec.next('close')
    expect(listener.connectionCount).toBe(0)
  })

  it('passes the close code and reason the service chooses to the peer, and resolves close()', async () => {
    const rec = recorder({
      onText: (c) => c.close(4100, 'done here'),
    })
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('close me')
    expect(await peer.closed).toEqual({ code: 4100, reason: 'done here' })
    expect((await rec.next('close')).code).toBe(4100)
  })

  it.each([
    { name: 'a reserved code', args: [1005, ''] },
    { name: 'a code out of range', args: [2999, ''] },
    { name: 'a reason over 123 bytes', args: [1000, 'é'.repeat(62)] },
  ] as const)('rejects close() with $name and keeps the connection', async ({ args }) => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    const { caller } = await rec.next('open')
    await expect(caller.close(args[0], args[1])).rejects.toSatisfy((e) =>
      isWebSocketError(e, 'X_ERR_WEBSOCKET_INVALID_ARGUMENT'),
    )
    expect(caller.isOpen).toBe(true)
    peer.ws.close()
  })

  it('ends the TCP connection when the peer never answers the close frame', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await rawHandshake(listener.port, upgradeRequest(listener.port))
    expect(peer.head.status).toBe(101)
    const { caller } = await rec.next('open')
    const closing = caller.close(1000, 'bye', 50)
    const f = await peer.frames.nextOf(8)
    expect(f.code).toBe(1000)
    // The raw peer keeps the socket open and never sends its close frame.
    await closing
    await peer.ended
    expect((await rec.next('close')).code).toBe(1006)
  })

  it('negotiates the first sub-protocol the client offers that the service speaks', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service, subProtocols: ['graphql-ws', 'chat.v2'] })
    const peer = await wsPeer(listener.url, ['chat.v1', 'chat.v2', 'graphql-ws'])
    expect(peer.ws.protocol).toBe('chat.v2')
    expect((await rec.next('open')).caller.negotiatedSubProtocol).toBe('chat.v2')
    peer.ws.close()
  })

  it('answers 403 before the upgrade to an origin not in allowedOrigins', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service, allowedOrigins: ['https://app.example.com'] })
    expect(await refusedStatus(listener.url, [], { origin: 'https://evil.example.com' })).toBe(403)
    const ok = await wsPeer(listener.url, [], { origin: 'https://APP.example.com' })
    ok.ws.close()
    await rec.next('close')
    expect(rec.count('open')).toBe(1)
  })

  it('answers 503 once maxConnections are open, and accepts again after one closes', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service, maxConnections: 1 })
    const first = await wsPeer(listener.url)
    expect(await refusedStatus(listener.url)).toBe(503)
    first.ws.close()
    await rec.next('close')
    const second = await wsPeer(listener.url)
    second.ws.close()
  })

  it('answers 426 to a plain HTTP request and 404 to an upgrade outside its path', async () => {
    const listener = await start({ service: {}, path: '/ws' })
    const status = await new Promise<number>((resolve, reject) => {
      request(`http://127.0.0.1:${listener.port}/ws`, (res) => {
        res.resume()
        expect(res.headers.upgrade).toBe('websocket')
        resolve(res.statusCode ?? 0)
      })
        .on('error', reject)
        .end()
    })
    expect(status).toBe(426)
    expect(await refusedStatus(`${listener.url}/other`)).toBe(404)
    const ok = await wsPeer(`${listener.url}/ws?token=1`)
    ok.ws.close()
  })

  it('sends 1001 to every peer on gracefulStop and refuses new upgrades', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const a = await wsPeer(listener.url)
    const b = await wsPeer(listener.url)
    await rec.nth('open', 2)
    await listener.gracefulStop()
    expect((await a.closed).code).toBe(1001)
    expect((await b.closed).code).toBe(1001)
    expect(rec.events.filter((e) => e.kind === 'close').map((e) => (e as { code: number }).code)).toEqual([
      1001, 1001,
    ])
    expect(listener.connectionCount).toBe(0)
  })

  it('answers pings automatically and tells onPing', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    const pong = new Promise<Buffer>((resolve) => peer.ws.once('pong', resolve))
    peer.ws.ping('are you there')
    expect((await pong).toString()).toBe('are you there')
    expect((await rec.next('ping')).data.toString()).toBe('are you there')
    peer.ws.close()
  })

  it('leaves the pong to onPing when autoPong is off', async () => {
    const rec = recorder({ onPing: (c, data) => c.pong(Buffer.concat([Buffer.from('re: '), data])) })
    const listener = await start({ service: rec.service, autoPong: false })
    const peer = await wsPeer(listener.url)
    const pong = new Promise<Buffer>((resolve) => peer.ws.once('pong', resolve))
    peer.ws.ping('x')
    expect((await pong).toString()).toBe('re: x')
    peer.ws.close()
  })

  it('sends pings and hears pongs through the caller', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    const { caller } = await rec.next('open')
    await caller.ping('hb')
    expect((await rec.next('pong')).data.toString()).toBe('hb')
    await expect(caller.ping('x'.repeat(126))).rejects.toSatisfy((e) =>
      isWebSocketError(e, 'X_ERR_WEBSOCKET_INVALID_ARGUMENT'),
    )
    peer.ws.close()
  })

  it('terminates a peer that stops answering heartbeat pings, and keeps one that answers', async () => {
    const clock = new FakeClock()
    const rec = recorder()
    const listener = await start({ service: rec.service, heartbeat: { interval: 1000 }, clock })
    const live = await wsPeer(listener.url)
    const dead = await rawHandshake(listener.port, upgradeRequest(listener.port))
    await rec.nth('open', 2)
    await clock.waitForTimer(1000)
    clock.advance(1000) // both are pinged
    const ping = await dead.frames.nextOf(9)
    expect(ping.opcode).toBe(9)
    await new Promise<void>((resolve) => live.ws.once('ping', () => resolve()))
    // ws answers the ping; wait until the listener has read that pong before the next beat.
    await rec.nth('pong', 1)
    clock.advance(1000) // the raw peer never ponged: terminated
    await dead.ended
    const closed = await rec.next('close')
    expect(closed.code).toBe(1006)
    expect(live.ws.readyState).toBe(WebSocket.OPEN)
    live.ws.close()
  })

  it('calls onIdleTimeout after idleTimeout without messages, and a message restarts the count', async () => {
    const clock = new FakeClock()
    const rec = recorder()
    const listener = await start({ service: rec.service, idleTimeout: 5000, heartbeat: false, clock })
    const peer = await wsPeer(listener.url)
    await rec.next('open')
    await clock.waitForTimer(5000)
    clock.advance(4000)
    peer.ws.send('still here')
    await rec.next('text')
    clock.advance(1000) // 5 s since open, but only 1 s since the message
    expect(rec.count('idle')).toBe(0)
    clock.advance(4000)
    const idle = await rec.next('idle')
    expect(idle.caller.isOpen).toBe(true)
    clock.advance(5000)
    await rec.nth('idle', 2)
    peer.ws.close()
  })

  it('hands an async callback rejection to onError and keeps serving', async () => {
    const rec = recorder({
      async onText(c, text) {
        if (text === 'boom') throw new Error('handler failed')
        await c.pushText(text)
      },
    })
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('boom')
    const { error } = await rec.next('error')
    expect(isWebSocketError(error, 'X_ERR_WEBSOCKET_CALLBACK_FAILED')).toBe(true)
    expect((error as { callback?: string }).callback).toBe('onText')
    peer.ws.send('fine')
    expect(await peer.message()).toBe('fine')
    peer.ws.close()
  })

  it('does not report a push that failed because the peer had already gone as a callback failure', async () => {
    let settled!: Promise<unknown>
    const rec = recorder({
      onText(c, text) {
        settled = (async () => {
          await c.close(1000)
          return c.pushText(text)
        })()
        return settled
      },
    })
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('too late')
    await rec.next('close')
    await expect(settled).rejects.toSatisfy((e) => isWebSocketError(e, 'X_ERR_WEBSOCKET_NOT_OPEN'))
    await new Promise((r) => setImmediate(r)) // let the rejection reach the callback machinery
    expect(rec.count('error')).toBe(0)
  })

  it('closes with 1011 when a callback throws and the service has no onError', async () => {
    const listener = await start({
      service: {
        onText() {
          throw new Error('sync failure')
        },
      },
    })
    const peer = await wsPeer(listener.url)
    peer.ws.send('x')
    expect((await peer.closed).code).toBe(1011)
  })

  it('survives an onError that throws', async () => {
    const rec = recorder({
      onText() {
        throw new Error('first')
      },
      onError() {
        throw new Error('second')
      },
    })
    const listener = await start({ service: rec.service })
    const peer = await wsPeer(listener.url)
    peer.ws.send('x')
    await rec.next('error')
    peer.ws.ping()
    await rec.next('ping')
    peer.ws.close()
    await rec.next('close')
  })

  it('negotiates permessage-deflate with the given parameters and round-trips compressed messages', async () => {
    const rec = recorder(echo)
    const listener = await start({
      service: rec.service,
      perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 10, threshold: 0 },
    })
    const peer = await wsPeer(listener.url, [], { perMessageDeflate: { threshold: 0 } })
    const agreed = String(peer.headers['sec-websocket-extensions'])
    expect(agreed).toContain('permessage-deflate')
    expect(agreed).toContain('server_no_context_takeover')
    expect(agreed).toContain('server_max_window_bits=10')
    const big = 'abc'.repeat(10_000)
    peer.ws.send(big)
    expect(await peer.message()).toBe(big)
    peer.ws.close()
  })

  it('does not offer permessage-deflate by default', async () => {
    const listener = await start({ service: {} })
    const peer = await wsPeer(listener.url, [], { perMessageDeflate: true })
    expect(peer.ws.extensions).toBe('')
    peer.ws.close()
  })

  it('rejects start() with X_ERR_WEBSOCKET_LISTEN_FAILED when the port is taken', async () => {
    const first = await start({ service: {} })
    const second = new WebSocketListener({ port: first.port, host: '127.0.0.1', service: {} })
    await expect(second.start()).rejects.toSatisfy((e) =>
      isWebSocketError(e, 'X_ERR_WEBSOCKET_LISTEN_FAILED'),
    )
  })

  it('ends a connection whose peer sent a close frame with its code', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const peer = await rawHandshake(listener.port, upgradeRequest(listener.port))
    peer.socket.write(frame({ opcode: 8, payload: closePayload(4321, 'raw bye') }))
    const echoed = await peer.frames.nextOf(8)
    expect(echoed.code).toBe(4321)
    expect(await rec.next('close')).toMatchObject({ code: 4321, reason: 'raw bye' })
    await peer.ended
  })
})
