import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { cert, key } from '../../../../test-support/tls.ts'
import { bodyOf, client, serve } from './helpers.ts'

async function h2(handle: (req: Http2ServerRequest, res: Http2ServerResponse) => void) {
  const srv = createSecureServer({ key, cert, allowHTTP1: true }, handle)
  const sessions: Http2Session[] = []
  srv.on('session', (s) => sessions.push(s))
  const l = await serve(srv, true)
  return Object.assign(l, { sessions })
}

describe('Client over HTTP/2', () => {
  it("negotiates h2 with httpVersion '2' and multiplexes 50 concurrent POSTs on one session", async () => {
    const held: Array<() => void> = []
    const s = await h2((req, res) => {
      void bodyOf(req as never).then((body) => {
        held.push(() => res.end(`${req.httpVersion} ${body}`))
        if (held.length === 50) for (const f of held.splice(0)) f()
      })
    })
    const c = client(s.url, { httpVersion: '2', secureSocket: { ca: cert } })
    const out = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.post('/', `#${i}`).then((r) => r.text())),
    )
    expect(out[7]).toBe('2.0 #7')
    expect(s.sessions.length).toBe(1)
    expect(c.stats()[s.url]).toMatchObject({ protocol: 'h2', connections: 1 })
  })

  it('decodes, redirects and retries over h2 like over HTTP/1.1', async () => {
    let n = 0
    const s = await h2((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' }).end()
        return
      }
      if (n++ === 0) {
        res.writeHead(503).end()
        return
      }
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(`v${req.httpVersion}`))
    })
    const c = client(s.url, {
      httpVersion: '2',
      secureSocket: { ca: cert },
      followRedirects: { enabled: true },
      retryConfig: { interval: 1 },
    })
    const res = await c.get('/old')
    expect(await res.text()).toBe('v2.0')
    expect(res.url).toBe(`${s.url}/new`)
  })

  it("speaks HTTP/1.1 to the same server with httpVersion '1.1'", async () => {
    const s = await h2((req, res) => res.end(req.httpVersion))
    const c = client(s.url, { secureSocket: { ca: cert } })
    expect(await (await c.get('/')).text()).toBe('1.1')
    expect(s.sessions.length).toBe(0)
  })

  it('falls back to HTTP/1.1 when the server has no h2', async () => {
    const s = await serve(
      createHttpsServer({ key, cert }, (req, res) => res.end(req.httpVersion)),
      true,
    )
    const c = client(s.url, { httpVersion: '2', secureSocket: { ca: cert } })
    expect(await (await c.get('/')).text()).toBe('1.1')
    expect(c.stats()[s.url]?.protocol).toBe('h1')
  })
})
