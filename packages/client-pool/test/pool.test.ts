import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { fetch, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { ClientPool, isClientPoolError } from '../src/index.js'

type Handle = (req: IncomingMessage, res: ServerResponse) => void

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function server(handle: Handle): Promise<Listening & { sockets: Socket[]; peak: () => number }> {
  const srv = createServer(handle)
  const sockets: Socket[] = []
  let open = 0
  let peak = 0
  srv.on('connection', (s: Socket) => {
    sockets.push(s)
    open++
    peak = Math.max(peak, open)
    s.once('close', () => open--)
  })
  const l = await listen(srv)
  cleanups.unshift(async () => {
    await l.drained()
    await l.close()
  })
  return Object.assign(l, { sockets, peak: () => peak })
}

function pool(options?: ConstructorParameters<typeof ClientPool>[0]): ClientPool {
  const p = new ClientPool(options)
  cleanups.push(() => p.close())
  return p
}

/** A request the server holds until `release()`; `arrived` resolves when it got there. */
function gate() {
  const held: ServerResponse[] = []
  let onArrive: (() => void) | undefined
  return {
    handle: ((_req, res) => {
      held.push(res)
      onArrive?.()
    }) as Handle,
    arrived(n: number): Promise<void> {
      if (held.length >= n) return Promise.resolve()
      return new Promise((resolve) => {
        onArrive = () => {
          if (held.length >= n) resolve()
        }
      })
    },
    release(body = 'ok') {
      for (const res of held.splice(0)) res.end(body)
    },
  }
}

describe('ClientPool as an undici dispatcher', () => {
  it('serves undici.request, fetch and its own request()', async () => {
    const s = await server((req, res) => res.end(`hi ${req.url}`))
    const p = pool()
    const r1 = await request(`${s.url}/a`, { dispatcher: p })
    expect(r1.statusCode).toBe(200)
    expect(await r1.body.text()).toBe('hi /a')
    const r2 = await fetch(`${s.url}/b`, { dispatcher: p })
    expect(await r2.text()).toBe('hi /b')
    const r3 = await p.request({ origin: s.url, path: '/c', method: 'GET' })
    expect(await r3.body.text()).toBe('hi /c')
    await p.close()
    await s.drained()
  })

  it('answers a bad origin with X_ERR_POOL_INVALID_ORIGIN', async () => {
    const p = pool()
    for (const origin of ['ftp://x', 'http://u:p@x', 'http://x/path', 'nonsense']) {
      const err = await p.request({ origin, path: '/', method: 'GET' }).catch((e: unknown) => e)
      expect(isClientPoolError(err, 'X_ERR_POOL_INVALID_ORIGIN')).toBe(true)
    }
  })
})

describe('connection cap', () => {
  it('never opens more than maxActiveConnections sockets under 200 concurrent requests', async () => {
    // The server answers only once five requests are waiting: with a cap of 5 that happens
    // every time, and a sixth concurrent request would show up in `peak`.
    const held: ServerResponse[] = []
    let peak = 0
    const s = await server((_req, res) => {
      held.push(res)
      peak = Math.max(peak, held.length)
      if (held.length === 5) for (const r of held.splice(0)) r.end('x')
    })
    const p = pool({ maxActiveConnections: 5 })
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(`${s.url}/${i}`, { dispatcher: p }).then((r) => r.body.text()),
      ),
    )
    expect(results.every((t) => t === 'x')).toBe(true)
    expect(peak).toBe(5)
    expect(s.peak()).toBe(5)
    expect(s.sockets.length).toBe(5)
  })

  it('fails a request that waits longer than waitTime with X_ERR_POOL_WAIT_TIMEOUT while the connection stays busy', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = pool({ maxActiveConnections: 1, waitTime: 20 })
    const first = request(s.url, { dispatcher: p })
    await g.arrived(1)
    const err = await request(s.url, { dispatcher: p }).catch((e: unknown) => e)
    expect(isClientPoolError(err, 'X_ERR_POOL_WAIT_TIMEOUT')).toBe(true)
    expect(p.stats()[s.url]).toMatchObject({ active: 1, queued: 0 })
    g.release()
    expect(await (await first).body.text()).toBe('ok')
  })

  it('fails at once with waitTime 0 when no connection is free', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = pool({ maxActiveConnections: 1, waitTime: 0 })
    const first = request(s.url, { dispatcher: p })
    await g.arrived(1)
    const err = await request(s.url, { dispatcher: p }).catch((e: unknown) => e)
    expect(isClientPoolError(err, 'X_ERR_POOL_WAIT_TIMEOUT')).toBe(true)
    g.release()
    await (await first).body.text()
  })

  it('aborts a waiting request at once, without waiting for a connection to free', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = pool({ maxActiveConnections: 1, waitTime: 60_000 })
    const first = request(s.url, { dispatcher: p })
    await g.arrived(1)
    const ac = new AbortController()
    const second = request(s.url, { dispatcher: p, signal: ac.signal }).catch((e: unknown) => e)
    expect(p.stats()[s.url]?.queued).toBe(1)
    ac.abort(new Error('stop'))
    const err = (await second) as Error
    expect(err.message).toBe('stop')
    expect(p.stats()[s.url]).toMatchObject({ queued: 0, inflight: 1 })
    g.release()
    await (await first).body.text()
  })

  it('runs waiting requests in arrival order', async () => {
    const order: string[] = []
    const g = gate()
    const s = await server((req, res) => {
      order.push(req.url ?? '')
      if (req.url === '/0') g.handle(req, res)
      else res.end('x')
    })
    const p = pool({ maxActiveConnections: 1 })
    const first = request(`${s.url}/0`, { dispatcher: p })
    await g.arrived(1)
    const rest = [1, 2, 3, 4].map((i) =>
      request(`${s.url}/${i}`, { dispatcher: p }).then((r) => r.body.text()),
    )
    expect(p.stats()[s.url]?.queued).toBe(4)
    g.release()
    await first
    await Promise.all(rest)
    expect(order).toEqual(['/0', '/1', '/2', '/3', '/4'])
  })
})

describe('idle eviction', () => {
  it('closes a connection idle for idleTimeout even when the server hints Keep-Alive: timeout=600', async () => {
    const s = await server((_req, res) => {
      res.setHeader('keep-alive', 'timeout=600')
      res.end('x')
    })
    const p = pool({ idleTimeout: 50 })
    await (await request(s.url, { dispatcher: p })).body.text()
    expect(s.openSockets()).toBe(1)
    // The server sees the client close the socket: nothing else closes it here.
    await once(s.sockets[0]!, 'close')
    expect(p.stats()[s.url]).toBeUndefined()
  })

  it('keeps a connection open while it is in use', async () => {
    const s = await server((_req, res) => res.end('x'))
    const p = pool({ idleTimeout: 1_000 })
    for (let i = 0; i < 20; i++) await (await request(s.url, { dispatcher: p })).body.text()
    expect(s.sockets.length).toBe(1)
  })
})

describe('keep-alive policy', () => {
  it.each([
    {
      name: 'AUTO keeps connections',
      keepAlive: 'AUTO' as const,
      header: undefined,
      sockets: 1,
      connection: 'keep-alive',
    },
    {
      name: 'AUTO honours Connection: close',
      keepAlive: 'AUTO' as const,
      header: 'close',
      sockets: 3,
      connection: 'close',
    },
    {
      name: 'ALWAYS drops Connection: close',
      keepAlive: 'ALWAYS' as const,
      header: 'close',
      sockets: 1,
      connection: 'keep-alive',
    },
    {
      name: 'NEVER closes each connection',
      keepAlive: 'NEVER' as const,
      header: undefined,
      sockets: 3,
      connection: 'close',
    },
  ])('$name', async ({ keepAlive, header, sockets, connection }) => {
    const seen: Array<string | undefined> = []
    const s = await server((req, res) => {
      seen.push(req.headers.connection)
      res.end('x')
    })
    const p = pool({ keepAlive })
    for (let i = 0; i < 3; i++) {
      const r = await request(s.url, {
        dispatcher: p,
        ...(header === undefined ? {} : { headers: { connection: header } }),
      })
      await r.body.text()
    }
    expect(s.sockets.length).toBe(sockets)
    expect(seen).toEqual([connection, connection, connection])
  })
})

describe('diagnostics', () => {
  it('reports connect, wait-timeout and evict on x:client-pool channels', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const events: string[] = []
    const names = ['connect', 'wait-timeout', 'evict'] as const
    const listeners = names.map((n) => {
      const l = (m: unknown) => events.push(`${n} ${(m as { origin: string }).origin}`)
      subscribe(`x:client-pool:${n}`, l)
      return l
    })
    try {
      const g = gate()
      const s = await server(g.handle)
      const p = pool({ maxActiveConnections: 1, waitTime: 0, idleTimeout: 30 })
      const first = request(s.url, { dispatcher: p })
      await g.arrived(1)
      await request(s.url, { dispatcher: p }).catch(() => {})
      g.release()
      await (await first).body.text()
      await once(s.sockets[0]!, 'close')
      expect(events).toEqual([`connect ${s.url}`, `wait-timeout ${s.url}`, `evict ${s.url}`])
    } finally {
      for (const [i, n] of names.entries()) unsubscribe(`x:client-pool:${n}`, listeners[i]!)
    }
  })
})

describe('statistics', () => {
  it('counts active, idle and queued per origin', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = pool({ maxActiveConnections: 2 })
    const reqs = [1, 2, 3].map(() => request(s.url, { dispatcher: p }))
    await g.arrived(2)
    expect(p.stats()[s.url]).toEqual({
      protocol: 'h1',
      connections: 2,
      connected: 2,
      active: 2,
      idle: 0,
      inflight: 2,
      queued: 1,
    })
    g.release()
    await g.arrived(1)
    g.release()
    for (const r of reqs) await (await r).body.text()
    expect(p.stats()[s.url]).toMatchObject({ active: 0, idle: 2, inflight: 0, queued: 0 })
  })
})

describe('closing', () => {
  it('close() lets running and waiting requests finish, then refuses new ones', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = new ClientPool({ maxActiveConnections: 1 })
    const a = request(s.url, { dispatcher: p })
    const b = request(s.url, { dispatcher: p })
    await g.arrived(1)
    const closed = p.close()
    const refused = await request(s.url, { dispatcher: p }).catch((e: unknown) => e)
    expect(isClientPoolError(refused, 'X_ERR_POOL_CLOSED')).toBe(true)
    g.release('a')
    await g.arrived(1)
    g.release('b')
    expect(await (await a).body.text()).toBe('a')
    expect(await (await b).body.text()).toBe('b')
    await closed
    await s.drained()
  })

  it('destroy() fails waiting requests with X_ERR_POOL_CLOSED and running ones with its error', async () => {
    const g = gate()
    const s = await server(g.handle)
    const p = new ClientPool({ maxActiveConnections: 1 })
    const a = request(s.url, { dispatcher: p }).catch((e: unknown) => e)
    const b = request(s.url, { dispatcher: p }).catch((e: unknown) => e)
    await g.arrived(1)
    await p.destroy()
    expect(isClientPoolError(await b, 'X_ERR_POOL_CLOSED')).toBe(true)
    expect(isClientPoolError(await a, 'X_ERR_POOL_CLOSED')).toBe(true)
    await s.drained()
  })
})

describe('hostile servers', () => {
  it('passes a connection reset through as undici error and keeps serving', async () => {
    let n = 0
    const s = await server((req, res) => {
      if (n++ === 0) req.socket.destroy()
      else res.end('fine')
    })
    const p = pool()
    const err = (await request(s.url, { dispatcher: p }).catch((e: unknown) => e)) as { code?: string }
    expect(err.code).toBe('UND_ERR_SOCKET')
    expect(await (await request(s.url, { dispatcher: p })).body.text()).toBe('fine')
  })

  it('reports a refused connection and does not leave requests waiting', async () => {
    const s = await server((_req, res) => res.end())
    const url = s.url
    await s.close()
    const p = pool({ maxActiveConnections: 1 })
    const errs = await Promise.all(
      [1, 2, 3].map(() => request(url, { dispatcher: p }).catch((e: { code?: string }) => e.code)),
    )
    expect(errs).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED'])
    expect(p.stats()[url]).toMatchObject({ queued: 0, inflight: 0 })
  })
})
