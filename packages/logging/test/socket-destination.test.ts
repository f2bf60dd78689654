import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { isLoggingError, traceLog } from '../src/index.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A line collector on a TCP port; stop() drops every connection and stops listening. */
async function collector(port = 0) {
  const lines: string[] = []
  const sockets = new Set<Socket>()
  const waiters: Array<() => void> = []
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    let buf = ''
    s.on('data', (d) => {
      buf += d
      let nl = buf.indexOf('\n')
      while (nl !== -1) {
        lines.push(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
      }
      for (const w of waiters.splice(0)) w()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const actual = (server.address() as { port: number }).port
  return {
    port: actual,
    lines,
    connected: () => new Promise<void>((resolve) => server.once('connection', () => resolve())),
    waitLines: async (n: number) => {
      while (lines.length < n) await new Promise<void>((r) => waiters.push(r))
      return lines
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function onChannel(name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const fn = (m: unknown) => {
      unsubscribe(name, fn)
      resolve(m)
    }
    subscribe(name, fn)
  })
}

describe('socket destination', () => {
  it('ships lines, drops and counts them while the peer is down, and reconnects when it is back', async () => {
    const first = await collector()
    const connected = first.connected()
    const trace = traceLog({
      client: false,
      destination: { host: '127.0.0.1', port: first.port, reconnectDelayMs: { min: 10, max: 50 } },
    })
    cleanups.push(() => trace.close())
    await connected
    await onChannel('x:logging:socket-connect').catch(() => {})
    trace.logger.trace({ n: 1 }, 'one')
    await first.waitLines(1)
    expect(JSON.parse(first.lines[0]!)).toMatchObject({ n: 1, msg: 'one', level: 10 })

    const down = onChannel('x:logging:socket-disconnect')
    await first.stop()
    await down
    for (let i = 0; i < 5; i++) trace.logger.trace({ n: 100 + i }, 'lost')
    expect(trace.stats()).toMatchObject({ written: 1, dropped: 5, connected: false })

    const second = await collector(first.port)
    cleanups.push(() => second.stop())
    await onChannel('x:logging:socket-connect')
    trace.logger.trace({ n: 2 }, 'two')
    await second.waitLines(1)
    expect(JSON.parse(second.lines[0]!)).toMatchObject({ n: 2 })
    expect(trace.stats()).toMatchObject({ written: 2, dropped: 5, connected: true })
  })

  it('drops rather than buffers beyond maxBufferBytes when the peer reads too slowly', async () => {
    const sockets: Socket[] = []
    const server = createServer((s) => {
      s.pause() // never reads
      sockets.push(s)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy()
          server.close(() => r())
        }),
    )
    const port = (server.address() as { port: number }).port
    const trace = traceLog({
      client: false,
      destination: { host: '127.0.0.1', port, maxBufferBytes: 64 * 1024 },
    })
    cleanups.push(() => trace.close())
    await onChannel('x:logging:socket-connect')
    const big = 'y'.repeat(4000)
    for (let i = 0; i < 20_000; i++) trace.logger.trace({ big }, 'flood')
    const s = trace.stats()
    expect(s.dropped).toBeGreaterThan(0)
    expect(s.written + s.dropped).toBe(20_000)
  })

  it('starts while the peer is down, counting drops, without throwing', async () => {
    const gone = await collector()
    await gone.stop()
    const trace = traceLog({ client: false, destination: { host: '127.0.0.1', port: gone.port } })
    cleanups.push(() => trace.close())
    trace.logger.trace('nobody listens')
    expect(trace.stats()).toMatchObject({ written: 0, dropped: 1, connected: false })
  })

  it.each([
    { name: 'port 0', destination: { host: '127.0.0.1', port: 0 } },
    { name: 'port out of range', destination: { host: '127.0.0.1', port: 70000 } },
    { name: 'empty host', destination: { host: '', port: 9 } },
    { name: 'min above max', destination: { host: 'a', port: 9, reconnectDelayMs: { min: 10, max: 5 } } },
    { name: 'negative buffer', destination: { host: 'a', port: 9, maxBufferBytes: -1 } },
  ])('rejects $name with X_ERR_LOGGING_INVALID_OPTION', ({ destination }) => {
    let err: unknown
    try {
      traceLog({ destination: destination as never })
    } catch (e) {
      err = e
    }
    expect(isLoggingError(err, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
  })
})
