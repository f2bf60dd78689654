import { createServer, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import {
  isWebSocketError,
  type WebSocketCaller,
  type WebSocketUpgradeOptions,
  WebSocketUpgrader,
} from '../src/index.ts'
import { closePayload, frame, type RawPeer, rawHandshake, upgradeRequest } from './helpers/raw.ts'
import { echo, type Recorder, recorder } from './helpers/recorder.ts'
import { wsPeer } from './helpers/ws-peer.ts'

let server: Listening | undefined
let upgrader: WebSocketUpgrader | undefined

async function setup(options: Omit<WebSocketUpgradeOptions, 'service'>, rec: Recorder): Promise<Listening> {
  upgrader = new WebSocketUpgrader({ service: rec.service, ...options })
  const u = upgrader
  const http = createServer()
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    u.handleUpgrade(req, socket, head),
  )
  server = await listen(http)
  return server
}

async function rawPeer(s: Listening): Promise<RawPeer> {
  const peer = await rawHandshake(s.port, upgradeRequest(s.port))
  expect(peer.head.status).toBe(101)
  return peer
}

afterEach(async () => {
  // Every connection of every test must be gone on its own: no socket is left for close() to destroy.
  await upgrader?.immediateStop()
  await server?.drained()
  await server?.close()
  server = upgrader = undefined
})

const invalidUtf8 = Buffer.from([0x68, 0x69, 0xc3, 0x28]) // 'hi' then a broken two-byte sequence

describe('hostile frames', () => {
  it.each([
    {
      name: 'invalid UTF-8 in a text frame',
      frames: [frame({ opcode: 1, payload: invalidUtf8 })],
      closeCode: 1007,
      code: 'X_ERR_WEBSOCKET_INVALID_UTF8',
    },
    {
      name: 'invalid UTF-8 in a close reason',
      frames: [frame({ opcode: 8, payload: Buffer.concat([closePayload(1000), invalidUtf8]) })],
      closeCode: 1007,
      code: 'X_ERR_WEBSOCKET_INVALID_UTF8',
    },
    {
      name: 'a frame over maxMessageSize',
      frames: [frame({ opcode: 2, payload: Buffer.alloc(2000) })],
      closeCode: 1009,
      code: 'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG',
    },
    {
      name: 'fragments that add up to more than maxMessageSize',
      frames: [
        frame({ opcode: 2, fin: false, payload: Buffer.alloc(600) }),
        frame({ opcode: 0, fin: true, payload: Buffer.alloc(600) }),
      ],
      closeCode: 1009,
      code: 'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG',
    },
    {
      name: 'a frame header that declares 1 TiB',
      frames: [frame({ opcode: 2, declaredLength: 2 ** 40 }).subarray(0, 14)],
      closeCode: 1009,
      code: 'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG',
    },
    {
      name: 'an unmasked client frame',
      frames: [frame({ opcode: 1, payload: 'hi', mask: false })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a reserved opcode',
      frames: [frame({ opcode: 3, payload: 'hi' })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'RSV1 set without an extension',
      frames: [frame({ opcode: 1, payload: 'hi', rsv: 4 })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a fragmented ping',
      frames: [frame({ opcode: 9, payload: 'hi', fin: false })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a ping over 125 bytes',
      frames: [frame({ opcode: 9, payload: Buffer.alloc(126) })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a continuation frame with no message to continue',
      frames: [frame({ opcode: 0, payload: 'hi' })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a new message inside a fragmented one',
      frames: [frame({ opcode: 1, payload: 'a', fin: false }), frame({ opcode: 1, payload: 'b' })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a close frame with a reserved code',
      frames: [frame({ opcode: 8, payload: closePayload(1005) })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
    {
      name: 'a close frame with a one-byte payload',
      frames: [frame({ opcode: 8, payload: Buffer.from([3]) })],
      closeCode: 1002,
      code: 'X_ERR_WEBSOCKET_PROTOCOL_ERROR',
    },
  ])('closes only the connection that sent $name, with $closeCode', async ({ frames, closeCode, code }) => {
    const rec = recorder(echo)
    const s = await setup({ maxMessageSize: 1024 }, rec)
    const bystander = await wsPeer(s.url.replace('http', 'ws'))
    const peer = await rawPeer(s)
    for (const f of frames) peer.socket.write(f)
    const close = await peer.frames.nextOf(8)
    expect(close.code).toBe(closeCode)
    const { error } = await rec.next('error')
    expect(isWebSocketError(error, code as never)).toBe(true)
    expect((error as { closeCode?: number }).closeCode).toBe(closeCode)
    peer.socket.end()
    await peer.ended
    // The process and the other connection carry on.
    bystander.ws.send('still served')
    expect(await bystander.message()).toBe('still served')
    bystander.ws.close(1000)
    await bystander.closed
  })

  it('accepts a message of exactly 1 MiB by default and closes with 1009 one byte over', async () => {
    const rec = recorder(echo)
    const s = await setup({}, rec)
    const peer = await wsPeer(s.url.replace('http', 'ws'), [], { maxPayload: 4 * 1024 * 1024 })
    peer.ws.send(Buffer.alloc(1024 * 1024, 7))
    expect(((await peer.message()) as Buffer).length).toBe(1024 * 1024)
    peer.ws.send(Buffer.alloc(1024 * 1024 + 1))
    expect((await peer.closed).code).toBe(1009)
  })

  it('reports 1006 and leaks nothing when a peer drops the TCP connection mid-frame', async () => {
    const rec = recorder()
    const s = await setup({}, rec)
    const peer = await rawPeer(s)
    peer.socket.end(frame({ opcode: 1, payload: 'x'.repeat(100) }).subarray(0, 20))
    expect((await rec.next('close')).code).toBe(1006)
    await peer.ended
  })

  it('survives bytes that are not a frame at all', async () => {
    const rec = recorder()
    const s = await setup({}, rec)
    const peer = await rawPeer(s)
    peer.socket.write('GET / HTTP/1.1\r\nHost: again\r\n\r\n')
    const close = await peer.frames.nextOf(8)
    expect(close.code).toBe(1002)
    expect(isWebSocketError((await rec.next('error')).error, 'X_ERR_WEBSOCKET_PROTOCOL_ERROR')).toBe(true)
    peer.socket.end()
    await peer.ended
    // The peer never sent a close frame, so the close the service hears is abnormal.
    expect((await rec.next('close')).code).toBe(1006)
  })
})

describe('backpressure', () => {
  it('holds pushes while the peer stops reading, keeping the buffer to one message, and loses nothing', async () => {
    const chunk = Buffer.alloc(64 * 1024, 1)
    const total = 4096 // 256 MiB if pushes did not wait: far beyond what loopback buffers hold
    let caller!: WebSocketCaller
    const rec = recorder({
      onOpen(c) {
        caller = c
      },
    })
    const s = await setup({ heartbeat: false }, rec)
    const peer = await rawPeer(s)
    peer.socket.pause() // reads nothing from here on
    await rec.next('open')
    let pushed = 0
    let maxBuffered = 0
    let stalled = false
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        chunk.writeUInt32BE(i)
        const p = caller.pushBinary(chunk)
        maxBuffered = Math.max(maxBuffered, caller.bufferedAmount)
        await p
        pushed++
        if (stalled) return
      }
    })()
    // Nothing signals "the kernel buffers are full", so poll until the producer has made no
    // progress for 20 polls. A producer that did not wait would blow the bound asserted below.
    let last = -1
    let still = 0
    while (still < 20) {
      await new Promise((r) => setTimeout(r, 10))
      if (pushed === last) still++
      else {
        still = 0
        last = pushed
      }
    }
    expect(pushed).toBeLessThan(total)
    expect(maxBuffered).toBeLessThanOrEqual(chunk.length + 14)
    stalled = true
    // Reading again drains everything pushed, in order: the push pending at the stall included.
    peer.socket.resume()
    await producer
    for (let i = 0; i < pushed; i++) {
      let f = await peer.frames.next()
      while (f.opcode !== 2) f = await peer.frames.next()
      expect(f.payload.readUInt32BE(0)).toBe(i)
    }
    peer.socket.end(frame({ opcode: 8, payload: closePayload(1000) }))
    await rec.next('close')
    await peer.ended
  })
})
