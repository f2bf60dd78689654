import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { Agent, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { Listener } from '../src/index.ts'
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

async function started(handler: (ctx: unknown) => unknown, options = {}) {
  const listener = new Listener({
    port: 0,
    host: '127.0.0.1',
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

function rawSocket(port: number) {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.setEncoding('latin1')
  socket.on('data', (d: string) => {
    data += d
  })
  const closed = new Promise<void>((r) => socket.on('close', () => r()))
  const connected = new Promise<void>((r) => socket.on('connect', () => r()))
  return { socket, closed, connected, data: () => data }
}

describe('gracefulStop', () => {
  it('lets 200 concurrent slow requests finish and loses none', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return { done: true }
    })
    const agent = new Agent({ connections: 200, pipelining: 0 })
    const url = `http://127.0.0.1:${listener.port}/slow`
    const responses = Array.from({ length: 200 }, () =>
      request(url, { dispatcher: agent }).then(async (r) => ({
        status: r.statusCode,
        connection: r.headers.connection,
        body: await r.body.json(),
      })),
    )
    await g.reached(200)
    const stopped = listener.gracefulStop({ timeout: 10_000 })
    g.open()
    const results = await Promise.all(responses)
    await stopped
    expect(results).toHaveLength(200)
    for (const r of results) {
      expect(r).toEqual({ status: 200, connection: 'close', body: { done: true } })
    }
    await agent.close()
  })

  it('closes a keep-alive connection as soon as its response ends, not after keepAliveTimeout', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return 'slow'
    })
    const c = rawSocket(listener.port)
    await c.connected
    c.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    const stopped = listener.gracefulStop()
    g.open()
    await c.closed
    await stopped
    expect(c.data()).toMatch(/^HTTP\/1.1 200 OK/)
    expect(c.data()).toMatch(/connection: close/i)
  })

  it('closes idle keep-alive connections at once', async () => {
    const listener = await started(() => 'x')
    const c = rawSocket(listener.port)
    await c.connected
    c.socket.write('GET /fast HTTP/1.1\r\nHost: a\r\n\r\n')
    await new Promise<void>((r) => c.socket.once('data', () => r()))
    await listener.gracefulStop()
    await c.closed
    expect(c.data()).toMatch(/connection: keep-alive/i)
  })

  it('closes a connection whose streamed response had started, once the stream ends', async () => {
    const g = gate()
    const listener = await started(() =>
      Readable.from(
        (async function* () {
          yield 'first '
          await g.pass()
          yield 'last'
        })(),
      ),
    )
    const c = rawSocket(listener.port)
    await c.connected
    c.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    const stopped = listener.gracefulStop()
    g.open()
    await c.closed
    await stopped
    expect(c.data()).toContain('last')
    expect(c.data().endsWith('0\r\n\r\n')).toBe(true)
  })

  it('refuses new connections once stopping', async () => {
    const g = gate()
    const listener = await started(async () => {
      await g.pass()
      return 'x'
    })
    const port = listener.port
    const c = rawSocket(port)
    await c.connected
    c.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    const stopped = listener.gracefulStop()
    const refused = await new Promise<string>((resolve) => {
      const s: Socket = connect(port, '127.0.0.1')
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''))
      s.on('connect', () => {
        s.destroy()
        resolve('connected')
      })
    })
    expect(refused).toBe('ECONNREFUSED')
    g.open()
    await stopped
  })

  it('destroys what is left after the timeout and reports how many', async () => {
    const forced: number[] = []
    const onStop = (m: unknown) => forced.push((m as { forced: number }).forced)
    subscribe('x:http:listener-stop', onStop)
    const g = gate()
    const listener = await started(() => g.pass().then(() => 'never sent'))
    const c = rawSocket(listener.port)
    await c.connected
    c.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    await listener.gracefulStop({ timeout: 100 })
    await c.closed
    unsubscribe('x:http:listener-stop', onStop)
    expect(c.data()).toBe('')
    expect(forced).toEqual([1])
    g.open()
  })

  it('closes at once a connection that never sent a byte (a browser preconnect), not at the timeout', async () => {
    const forced: number[] = []
    const onStop = (m: unknown) => forced.push((m as { forced: number }).forced)
    subscribe('x:http:listener-stop', onStop)
    const listener = await started(() => 'ok')
    const silent = rawSocket(listener.port)
    await silent.connected
    // Wait until the server has the connection (its 'connection' event ran).
    const probe = rawSocket(listener.port)
    probe.socket.write('GET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await probe.closed
    await listener.gracefulStop({ timeout: 60_000 })
    await silent.closed
    unsubscribe('x:http:listener-stop', onStop)
    expect(silent.data()).toBe('')
    expect(forced).toEqual([0])
  })
})

describe('immediateStop', () => {
  it('destroys in-flight and idle connections at once', async () => {
    const g = gate()
    const listener = await started(() => g.pass().then(() => 'never sent'))
    const busy = rawSocket(listener.port)
    const idle = rawSocket(listener.port)
    await Promise.all([busy.connected, idle.connected])
    busy.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    await listener.immediateStop()
    await Promise.all([busy.closed, idle.closed])
    expect(busy.data()).toBe('')
    g.open()
  })

  it('cuts short a graceful stop in progress', async () => {
    const g = gate()
    const listener = await started(() => g.pass().then(() => 'never sent'))
    const c = rawSocket(listener.port)
    await c.connected
    c.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await g.reached(1)
    const graceful = listener.gracefulStop({ timeout: 60_000 })
    await listener.immediateStop()
    await graceful
    await c.closed
    g.open()
  })
})
