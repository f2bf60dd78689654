// Hostile HTTP/2 clients, played with frames written by hand over raw sockets: floods
// (rapid reset, streams past the limit, SETTINGS, PING, CONTINUATION), bad prefaces,
// truncated, oversized and invalid frames. Each client is dropped, nothing leaks, and the
// server goes on serving a well-behaved client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ListenerOptions, resource } from '../src/index.ts'
import { h2close, h2connect, h2request } from './helpers/h2.ts'
import * as F from './helpers/h2-frames.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served
let release!: () => void
const gate = new Promise<void>((r) => {
  release = r
})

const options: Partial<ListenerOptions> = {
  httpVersion: '2',
  // Short, so connections node:http2 gave up on (it stops reading but keeps them) close quickly.
  keepAliveTimeout: 500,
  http2: { allowHTTP1: false, maxConcurrentStreams: 20, settingsTimeout: 1_000 },
}

beforeAll(async () => {
  server = await serve(
    {
      resources: [
        { methods: ['GET'], path: '/hello', handler: () => 'hello' },
        resource({
          methods: ['GET'],
          path: '/slow',
          handler: async () => {
            await gate
            return 'slow'
          },
        }),
      ],
    },
    options,
  )
})

afterAll(async () => {
  release()
  await server.close()
})

/** Opens a raw connection with the preface and an acknowledged SETTINGS exchange. */
async function hostile(paused = false): Promise<F.RawH2> {
  const c = await F.rawH2(server.port, { paused })
  c.write(F.PREFACE)
  c.write(F.settings())
  c.write(F.SETTINGS_ACK)
  return c
}

/**
 * Frames for `count` client streams (ids 1, 3, 5, …) in one buffer: one write, so the server
 * (in this process) sees them as a real flood would arrive, not spread over a blocked loop.
 */
function many(count: number, make: (id: number) => Buffer[]): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < count; i++) parts.push(...make(1 + 2 * i))
  return Buffer.concat(parts)
}

/** A well-behaved client is still served, and no server socket is left behind. */
async function stillServes(): Promise<void> {
  const s = await h2connect(server.url)
  const res = await h2request(s, { ':path': '/hello' })
  expect(res.status).toBe(200)
  expect(res.body).toBe('hello')
  await h2close(s)
  await server.drained()
}

describe('floods', () => {
  it('drops a client that resets streams as fast as it opens them (rapid reset)', async () => {
    const flood = many(2_000, (id) => [F.headers(id, '/hello'), F.rstStream(id)])
    const c = await hostile()
    c.write(flood)
    await c.closed
    // The Listener's reset limit ends it (Node 20), or node:http2's own count of streams past
    // maxConcurrentStreams, which Node 22 frees later (INTERNAL_ERROR).
    expect([F.ERROR.ENHANCE_YOUR_CALM, F.ERROR.INTERNAL_ERROR]).toContain(c.goawayCode())
    await stillServes()
  })

  it('closes the connection with ENHANCE_YOUR_CALM once streamResetBurst resets are spent', async () => {
    const strict = await serve(
      { resources: [{ methods: ['GET'], path: '/hello', handler: () => 'hello' }] },
      { ...options, http2: { allowHTTP1: false, streamResetBurst: 5, streamResetRate: 1 } },
    )
    try {
      const c = await F.rawH2(strict.port)
      c.write(Buffer.concat([F.PREFACE, F.settings(), F.SETTINGS_ACK]))
      c.write(many(10, (id) => [F.headers(id, '/hello'), F.rstStream(id)]))
      await c.closed
      expect(c.goawayCode()).toBe(F.ERROR.ENHANCE_YOUR_CALM)
    } finally {
      await strict.close()
    }
  })

  it('drops a client that floods resets with NO_ERROR too', async () => {
    const flood = many(2_000, (id) => [F.headers(id, '/hello'), F.rstStream(id, F.ERROR.NO_ERROR)])
    const c = await hostile()
    c.write(flood)
    await c.closed
    // Whichever limit comes first (this one, or Node's maxSessionRejectedStreams) ends it.
    expect([F.ERROR.ENHANCE_YOUR_CALM, F.ERROR.INTERNAL_ERROR]).toContain(c.goawayCode())
    await stillServes()
  })

  it('refuses streams past maxConcurrentStreams before the client acknowledged it, then drops the client', async () => {
    const flood = many(60, (id) => [F.headers(id, '/slow', { open: true })])
    const c = await F.rawH2(server.port)
    c.write(F.PREFACE)
    c.write(F.settings())
    c.write(flood)
    const refused = await c.next(
      (f) => f.type === F.TYPE.RST_STREAM && F.errorCode(f) === F.ERROR.REFUSED_STREAM,
    )
    expect(refused).toBeDefined()
    // It never acknowledges the SETTINGS frame: settingsTimeout ends it.
    await c.closed
    expect(c.goawayCode()).toBe(F.ERROR.SETTINGS_TIMEOUT)
    await stillServes()
  })

  it('drops a client that opens more streams than it acknowledged it may', async () => {
    const flood = many(200, (id) => [F.headers(id, '/slow', { open: true })])
    const c = await hostile()
    c.write(flood)
    await c.closed
    expect(c.goawayCode()).toBeGreaterThan(F.ERROR.NO_ERROR)
    await stillServes()
  })

  it.each([
    {
      name: 'SETTINGS frames while reading the acknowledgements',
      paused: false,
      make: () => F.settings([[1, 4096]]),
    },
    {
      name: 'SETTINGS frames without reading the acknowledgements',
      paused: true,
      make: () => F.settings([[1, 4096]]),
    },
    { name: 'PING frames without reading the answers', paused: true, make: () => F.ping(7) },
  ])('drops a client that floods $name', async ({ paused, make }) => {
    const frame = make()
    const burst = Buffer.concat(Array.from({ length: 1_000 }, () => frame))
    const c = await hostile(paused)
    for (let i = 0; i < 50 && !c.socket.destroyed; i++) {
      c.write(burst)
      await new Promise((r) => setImmediate(r))
    }
    if (paused) c.socket.resume()
    await c.closed
    // node:http2 answers GOAWAY; a client that reads nothing may lose it to the reset that follows.
    if (!paused) expect(c.goawayCode()).toBe(F.ERROR.INTERNAL_ERROR)
    await stillServes()
  })

  it('drops a client that sends CONTINUATION frames without end (CVE-2024-27983)', async () => {
    const more = F.frame(F.TYPE.CONTINUATION, 0, 1, F.headerBlock([['x-a', 'b']]))
    const flood = Buffer.concat(Array.from({ length: 20_000 }, () => more))
    const c = await hostile()
    c.write(F.frame(F.TYPE.HEADERS, 0, 1, F.headerBlock(F.requestFields('/hello'))))
    c.write(flood)
    await c.closed
    expect(c.goawayCode()).toBeGreaterThan(F.ERROR.NO_ERROR)
    await stillServes()
  })
})

describe('malformed input', () => {
  it('answers a wrong connection preface with GOAWAY and closes', async () => {
    const c = await F.rawH2(server.port)
    c.write('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')
    await c.closed
    expect(c.goawayCode()).toBeGreaterThan(F.ERROR.NO_ERROR)
    await stillServes()
  })

  it('closes a connection that stops in the middle of a frame', async () => {
    const c = await hostile()
    c.write(F.headers(1, '/hello').subarray(0, 12))
    c.socket.end()
    await c.closed
    expect(c.frames.some((f) => f.type === F.TYPE.HEADERS)).toBe(false)
    await stillServes()
  })

  it('answers a frame larger than SETTINGS_MAX_FRAME_SIZE with FRAME_SIZE_ERROR', async () => {
    const c = await hostile()
    c.write(F.frame(F.TYPE.HEADERS, F.FLAG.END_HEADERS | F.FLAG.END_STREAM, 1, Buffer.alloc(20_000)))
    await c.closed
    expect(c.goawayCode()).toBe(F.ERROR.FRAME_SIZE_ERROR)
    await stillServes()
  })

  it('drops a client that keeps sending invalid frames', async () => {
    // A zero window increment is a stream error; a thousand of them end the session.
    const flood = many(1_200, (id) => [F.headers(id, '/hello'), F.windowUpdate(id, 0)])
    const c = await hostile()
    c.write(flood)
    await c.closed
    expect(c.goawayCode()).toBeGreaterThan(F.ERROR.NO_ERROR)
    await stillServes()
  })

  it('refuses a header block that does not decode (COMPRESSION_ERROR)', async () => {
    const c = await hostile()
    // 0xff 0xff...: an indexed field whose index never ends.
    c.write(F.frame(F.TYPE.HEADERS, F.FLAG.END_HEADERS | F.FLAG.END_STREAM, 1, Buffer.alloc(64, 0xff)))
    await c.closed
    expect(c.goawayCode()).toBe(F.ERROR.COMPRESSION_ERROR)
    await stillServes()
  })

  it('answers 400 to a request without :path, without closing the connection', async () => {
    const c = await hostile()
    const block = F.headerBlock([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':authority', 'localhost'],
    ])
    c.write(F.frame(F.TYPE.HEADERS, F.FLAG.END_HEADERS | F.FLAG.END_STREAM, 1, block))
    const reset = await c.next((f) => f.type === F.TYPE.RST_STREAM && f.streamId === 1)
    expect(reset === undefined ? -1 : F.errorCode(reset)).toBe(F.ERROR.PROTOCOL_ERROR)
    c.write(F.headers(3, '/hello'))
    const data = await c.next((f) => f.type === F.TYPE.DATA && f.streamId === 3)
    expect(data?.payload.toString()).toBe('hello')
    c.socket.destroy()
    await stillServes()
  })
})
