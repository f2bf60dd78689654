// Graceful and immediate stop with HTTP/2 sessions: GOAWAY, streams in flight finish, none
// is lost, new streams are refused; an immediate stop closes sessions at once.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import { Agent, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { Listener } from '../src/index.ts'
import { h2connect, h2request, read } from './helpers/h2.ts'
import * as F from './helpers/h2-frames.ts'
import { memoryLogger } from './helpers/serve.ts'

/** A gate the handlers wait on, and a count of handlers waiting at it. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => {
    open = r
  })
  let waiting = 0
  const waiters: Array<[number, () => void]> = []
  return {
    opened,
    open,
    async pass() {
      waiting++
      for (const [n, r] of waiters) if (waiting >= n) r()
      await opened
    },
    reached(n: number) {
      return waiting >= n ? Promise.resolve() : new Promise<void>((r) => waiters.push([n, r]))
    },
  }
}

async function started(handler: () => unknown, options = {}) {
  const listener = new Listener({
    port: 0,
    host: '127.0.0.1',
    httpVersion: '2',
    keepAliveTimeout: 60_000,
    logger: memoryLogger(),
    ...options,
  })
  listener.attach({
    resources: [
      { path: '/slow', handler },
      { path: '/fast', handler: () => 'fast' },
    ],
  })
  await listener.start()
  return listener
}

/** Counts the Listener's server-side sockets, to show none is left. */
function sockets(port: number) {
  const open = new Set<Socket>()
  const waiters: Array<() => void> = []
  const onSocket = (m: unknown) => {
    const s = (m as { socket: Socket }).socket
    if (s.localPort !== port) return
    open.add(s)
    s.once('close', () => {
      open.delete(s)
      if (open.size === 0) for (const w of waiters.splice(0)) w()
    })
  }
  subscribe('net.server.socket', onSocket)
  return {
    count: () => open.size,
    drained: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    done: () => unsubscribe('net.server.socket', onSocket),
  }
}

describe('gracefulStop with HTTP/2', () => {
  it('sends GOAWAY, lets 50 streams in flight finish and loses none', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return { done: true }
    })
    const s = await h2connect(`http://127.0.0.1:${listener.port}`)
    const goaway = new Promise<number>((r) => s.once('goaway', (code: number) => r(code)))
    const responses = Array.from({ length: 50 }, () => h2request(s, { ':path': '/slow' }))
    await g.reached(50)
    const stopped = listener.gracefulStop({ timeout: 10_000 })
    expect(await goaway).toBe(F.ERROR.NO_ERROR)
    g.open()
    const results = await Promise.all(responses)
    await stopped
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    expect(results.every((r) => r.body === '{"done":true}')).toBe(true)
    expect(s.destroyed || s.closed).toBe(true)
  })

  it('refuses streams opened after its GOAWAY, so the client can retry them elsewhere', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return 'slow'
    })
    const c = await F.rawH2(listener.port)
    c.write(F.PREFACE)
    c.write(F.settings())
    c.write(F.SETTINGS_ACK)
    c.write(F.headers(1, '/slow'))
    await g.reached(1)
    const stopped = listener.gracefulStop()
    const goaway = await c.next((f) => f.type === F.TYPE.GOAWAY)
    // The last stream the server will process is the one in flight.
    expect(goaway?.payload.readUInt32BE(0)).toBe(1)
    c.write(F.headers(3, '/fast'))
    g.open()
    await c.closed
    await stopped
    const answered = new Set(c.frames.filter((f) => f.type === F.TYPE.HEADERS).map((f) => f.streamId))
    expect(answered).toEqual(new Set([1]))
  })

  it('serves HTTP/1.1 and HTTP/2 clients through the same stop on the shared port', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return 'done'
    })
    const counted = sockets(listener.port)
    const agent = new Agent()
    const h1 = request(`http://127.0.0.1:${listener.port}/slow`, { dispatcher: agent }).then(async (r) => ({
      status: r.statusCode,
      connection: r.headers.connection,
      body: await r.body.text(),
    }))
    const s = await h2connect(`http://127.0.0.1:${listener.port}`)
    const h2 = h2request(s, { ':path': '/slow' })
    await g.reached(2)
    const stopped = listener.gracefulStop()
    g.open()
    expect(await h1).toEqual({ status: 200, connection: 'close', body: 'done' })
    expect((await h2).body).toBe('done')
    await stopped
    // Node counts a connection gone when it is destroyed; its 'close' event follows.
    await counted.drained()
    expect(counted.count()).toBe(0)
    counted.done()
    await agent.close()
  })

  it('closes a connection that has not said which protocol it speaks', async () => {
    const listener = await started(() => 'x')
    const c = await F.rawH2(listener.port)
    c.write(F.PREFACE.subarray(0, 5))
    await listener.gracefulStop()
    await c.closed
    expect(c.frames).toEqual([])
  })
})

describe('immediateStop with HTTP/2', () => {
  it('closes sessions and their streams in flight at once', async () => {
    const g = gate()
    const listener = await started(() => g.pass().then(() => 'never sent'))
    const s = await h2connect(`http://127.0.0.1:${listener.port}`)
    const stream = s.request({ ':path': '/slow' })
    const outcome = read(stream)
    await g.reached(1)
    await listener.immediateStop()
    const res = await outcome
    expect(res.status).toBe(0)
    await new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())))
    g.open()
  })
})
