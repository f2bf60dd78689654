// The Listener's web features under HTTP/2 (h2c with prior knowledge and TLS by ALPN): response
// compression (buffered and streamed), compressed request bodies, bodies without
// Content-Length, CORS preflights, conditional requests and Server-Sent Events behave exactly
// as they do under HTTP/1.1, because services and filters do not change with the protocol.
import type { IncomingHttpHeaders } from 'node:http2'
import { Readable } from 'node:stream'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { cert, key } from '../../../test-support/tls.ts'
import {
  type Context,
  HttpResponse,
  type Resource,
  resource,
  type Service,
  type WebSocketService,
} from '../src/index.ts'
import { encodeEvent } from '../src/listener/sse.ts'
import { h2bytes, h2connect, h2request } from './helpers/h2.ts'
import { type Served, serve } from './helpers/serve.ts'
import { wsPeer } from './helpers/ws.ts'

let server: Served | undefined
const sessions: Array<{ close(cb?: () => void): void; destroyed: boolean }> = []
afterEach(async () => {
  for (const s of sessions.splice(0)) if (!s.destroyed) await new Promise<void>((r) => s.close(() => r()))
  await server?.close()
  server = undefined
})

async function session(url: string, options = {}) {
  const s = await h2connect(url, options)
  sessions.push(s)
  return s
}

const APP = 'https://app.example'
const big = { items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item number ${i}` })) }
const bigText = JSON.stringify(big)

const resources: Resource[] = [
  { methods: ['GET'], path: '/big', handler: () => big },
  {
    methods: ['GET'],
    path: '/stream',
    handler: () =>
      new HttpResponse({
        headers: { 'content-type': 'application/json' },
        body: Readable.from([bigText.slice(0, 5000), bigText.slice(5000)]),
      }),
  },
  resource({ methods: ['POST'], path: '/echo', body: 'json', handler: (ctx) => ({ got: ctx.body }) }),
  resource({
    methods: ['GET'],
    path: '/note',
    cacheControl: { maxAge: 60 },
    validators: () => ({ etag: '"n1"' }),
    handler: () => 'note v1',
  }),
  {
    methods: ['GET'],
    path: '/hinted',
    handler: (ctx) => {
      ctx.caller.informational(103, { link: '</style.css>; rel=preload; as=style' })
      ctx.caller.informational(102)
      return 'after hints'
    },
  },
  {
    methods: ['GET'],
    path: '/ticks',
    sse: { heartbeat: 0 },
    async *handler(_ctx: Context) {
      for (let n = 1; n <= 3; n++) yield { id: String(n), event: 'tick', data: { n } }
    },
  },
]
const echo: WebSocketService = { onText: (caller, text) => caller.pushText(`echo ${text}`) }
resources.push({ path: '/ws', upgrade: { service: echo } })

const service: Service = {
  cors: { allowOrigins: [APP], allowMethods: ['GET', 'POST'], maxAge: 600 },
  resources,
}

describe.each([
  { name: 'h2c', tls: false },
  { name: 'h2 over TLS', tls: true },
])('Listener features under $name', ({ tls }) => {
  async function start() {
    server = await serve(service, {
      httpVersion: '2',
      ...(tls ? { secureSocket: { key: { cert, key } } } : {}),
    } as never)
    const url = tls ? server.url.replace('http:', 'https:') : server.url
    return session(url, tls ? { rejectUnauthorized: false } : {})
  }

  it('compresses a buffered JSON answer with the coding the client prefers', async () => {
    const s = await start()
    const gz = await h2bytes(s, { ':path': '/big', 'accept-encoding': 'gzip' })
    expect(gz.status).toBe(200)
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.vary).toMatch(/accept-encoding/i)
    expect(JSON.parse(gunzipSync(gz.body).toString())).toEqual(big)
    const br = await h2bytes(s, { ':path': '/big', 'accept-encoding': 'br;q=1, gzip;q=0.5' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(JSON.parse(brotliDecompressSync(br.body).toString())).toEqual(big)
    const none = await h2bytes(s, { ':path': '/big' })
    expect(none.headers['content-encoding']).toBeUndefined()
    expect(JSON.parse(none.body.toString())).toEqual(big)
  })

  it('compresses a streamed answer into the HTTP/2 stream, without chunked coding', async () => {
    const s = await start()
    const res = await h2bytes(s, { ':path': '/stream', 'accept-encoding': 'gzip' })
    expect(res.status).toBe(200)
    expect(res.rstCode).toBe(0)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['transfer-encoding']).toBeUndefined()
    expect(gunzipSync(res.body).toString()).toBe(bigText)
  })

  it('reads a request body sent without Content-Length, in several DATA frames', async () => {
    const s = await start()
    const res = await h2request(
      s,
      { ':method': 'POST', ':path': '/echo', 'content-type': 'application/json' },
      ['{"a":', '1}'],
    )
    expect(res.status).toBe(201)
    expect(res.json()).toEqual({ got: { a: 1 } })
  })

  it('decodes a gzip request body', async () => {
    const s = await start()
    const res = await h2request(
      s,
      { ':method': 'POST', ':path': '/echo', 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync('{"zipped":true}'),
    )
    expect(res.status).toBe(201)
    expect(res.json()).toEqual({ got: { zipped: true } })
  })

  it('answers a CORS preflight and adds the CORS headers to the actual request', async () => {
    const s = await start()
    const pre = await h2request(s, {
      ':method': 'OPTIONS',
      ':path': '/echo',
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-origin']).toBe(APP)
    expect(pre.headers['access-control-allow-methods']).toMatch(/POST/)
    expect(pre.headers['access-control-max-age']).toBe('600')
    const other = await h2request(s, {
      ':method': 'OPTIONS',
      ':path': '/echo',
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
    const actual = await h2request(s, { ':path': '/big', origin: APP })
    expect(actual.headers['access-control-allow-origin']).toBe(APP)
  })

  it('answers a conditional GET with 304 and no body', async () => {
    const s = await start()
    const first = await h2request(s, { ':path': '/note' })
    expect(first.headers.etag).toBe('"n1"')
    expect(first.headers['cache-control']).toBe('max-age=60')
    const again = await h2request(s, { ':path': '/note', 'if-none-match': '"n1"' })
    expect(again.status).toBe(304)
    expect(again.body).toBe('')
    expect(again.headers.etag).toBe('"n1"')
  })

  it('streams Server-Sent Events uncompressed, one event per frame as they come', async () => {
    const s = await start()
    const res = await h2request(s, {
      ':path': '/ticks',
      accept: 'text/event-stream',
      'accept-encoding': 'gzip',
    })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(res.headers['content-encoding']).toBeUndefined()
    const wire = [1, 2, 3].map((n) => encodeEvent({ id: String(n), event: 'tick', data: { n } })).join('')
    expect(res.body).toBe(wire)
    expect(res.body).toContain('data: {"n":3}\n\n')
  })

  it('sends 103 Early Hints and 102 Processing as informational HEADERS before the answer', async () => {
    const s = await start()
    const interim: IncomingHttpHeaders[] = []
    const res = await h2request(s, { ':path': '/hinted' }, undefined, (st) =>
      st.on('headers', (h) => interim.push(h)),
    )
    expect(res.status).toBe(200)
    expect(res.body).toBe('after hints')
    expect(interim.map((h) => h[':status'])).toEqual([103, 102])
    expect(interim[0]?.link).toBe('</style.css>; rel=preload; as=style')
  })

  it('upgrades an HTTP/1.1 WebSocket handshake on the same port', async () => {
    const s = await start()
    const base = tls ? server!.url.replace('http:', 'wss:') : server!.url.replace('http:', 'ws:')
    const peer = await wsPeer(`${base}/ws`, [], tls ? { rejectUnauthorized: false } : {})
    peer.ws.send('hi')
    expect(await peer.message()).toBe('echo hi')
    peer.ws.close(1000)
    expect((await peer.closed).code).toBe(1000)
    // HTTP/2 on the same port still answers.
    expect((await h2request(s, { ':path': '/note' })).status).toBe(200)
  })
})
