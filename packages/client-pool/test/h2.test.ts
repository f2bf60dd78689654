import { once } from 'node:events'
import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { fetch, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { cert, key } from '../../../test-support/tls.ts'
import { ClientPool, type ClientPoolOptions } from '../src/index.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

type Handle = (req: Http2ServerRequest, res: Http2ServerResponse) => void

async function h2server(handle: Handle): Promise<Listening & { sessions: Http2Session[] }> {
  const srv = createSecureServer({ key, cert, allowHTTP1: true }, handle)
  const sessions: Http2Session[] = []
  srv.on('session', (s) => sessions.push(s))
  const l = await listen(srv, { secure: true })
  cleanups.unshift(async () => {
    await l.drained()
    await l.close()
  })
  return Object.assign(l, { sessions })
}

function pool(options: ClientPoolOptions = {}): ClientPool {
  const p = new ClientPool({ httpVersion: '2', tls: { ca: cert }, ...options })
  cleanups.push(() => p.close())
  return p
}

/** Holds responses until `n` requests are waiting, then answers all of them. */
function batches(n: number) {
  const held: Http2ServerResponse[] = []
  let peak = 0
  return {
    handle: ((req, res) => {
      req.resume()
      req.once('end', () => {
        held.push(res)
        peak = Math.max(peak, held.length)
        if (held.length === n) for (const r of held.splice(0)) r.end(`${req.httpVersion}`)
      })
    }) as Handle,
    peak: () => peak,
  }
}

describe('HTTP/2', () => {
  it('sends 50 concurrent POSTs over one session', async () => {
    // Every stream is held until all 50 are open at once, so they must share the session
    // concurrently: undici alone keeps a POST alone on a connection.
    const b = batches(50)
    const s = await h2server(b.handle)
    const p = pool()
    const bodies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(s.url, { dispatcher: p, method: 'POST', body: `n=${i}` }).then((r) => r.body.text()),
      ),
    )
    expect(bodies.every((t) => t === '2.0')).toBe(true)
    expect(b.peak()).toBe(50)
    expect(s.sessions.length).toBe(1)
    expect(p.stats()[s.url]).toMatchObject({ protocol: 'h2', connections: 1 })
  })

  it('opens one session per maxActiveStreamsPerConnection in a cold burst of 200 requests', async () => {
    const b = batches(200)
    const s = await h2server(b.handle)
    const p = pool({ maxActiveStreamsPerConnection: 100 })
    const bodies = await Promise.all(
      Array.from({ length: 200 }, () => request(s.url, { dispatcher: p }).then((r) => r.body.text())),
    )
    expect(bodies.every((t) => t === '2.0')).toBe(true)
    expect(s.sessions.length).toBe(2)
    expect(s.openSockets()).toBe(2)
  })

  it('queues what exceeds maxActiveConnections × maxActiveStreamsPerConnection', async () => {
    const b = batches(4)
    const s = await h2server(b.handle)
    const p = pool({ maxActiveConnections: 1, maxActiveStreamsPerConnection: 4 })
    const all = Promise.all(
      Array.from({ length: 12 }, () => request(s.url, { dispatcher: p }).then((r) => r.body.text())),
    )
    expect((await all).length).toBe(12)
    expect(b.peak()).toBe(4)
    expect(s.sessions.length).toBe(1)
  })

  it('serves fetch over h2 with the pool as dispatcher', async () => {
    const s = await h2server((req, res) => res.end(`v${req.httpVersion}`))
    const p = pool()
    const res = await fetch(s.url, { dispatcher: p })
    expect(await res.text()).toBe('v2.0')
  })

  it('closes an idle session after idleTimeout', async () => {
    const s = await h2server((_req, res) => res.end('x'))
    const p = pool({ idleTimeout: 50 })
    await (await request(s.url, { dispatcher: p })).body.text()
    expect(s.sessions.length).toBe(1)
    await once(s.sessions[0]!, 'close')
    expect(p.stats()[s.url]).toBeUndefined()
  })

  it('falls back to HTTP/1.1 when the server offers only http/1.1', async () => {
    const versions: string[] = []
    const srv = createHttpsServer({ key, cert }, (req, res) => {
      versions.push(req.httpVersion)
      res.end('ok')
    })
    const l = await listen(srv, { secure: true })
    cleanups.unshift(async () => {
      await l.drained()
      await l.close()
    })
    const p = pool({ maxActiveConnections: 3 })
    const bodies = await Promise.all(
      Array.from({ length: 9 }, () => request(l.url, { dispatcher: p }).then((r) => r.body.text())),
    )
    expect(bodies).toEqual(Array(9).fill('ok'))
    expect(versions.every((v) => v === '1.1')).toBe(true)
    expect(p.stats()[l.url]).toMatchObject({ protocol: 'h1' })
    expect(p.stats()[l.url]?.connections).toBeLessThanOrEqual(3)
  })

  it("speaks HTTP/1.1 to an allowHTTP1 server when httpVersion is '1.1'", async () => {
    const s = await h2server((req, res) => res.end(req.httpVersion))
    const p = pool({ httpVersion: '1.1' })
    expect(await (await request(s.url, { dispatcher: p })).body.text()).toBe('1.1')
    expect(s.sessions.length).toBe(0)
  })
})
