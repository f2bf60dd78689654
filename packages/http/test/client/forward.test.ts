import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  connect as h2connect,
} from 'node:http2'
import { describe, expect, it } from 'vitest'
import { cert, key } from '../../../../test-support/tls.ts'
import { type Client, type ClientOptions, isClientError } from '../../src/index.js'
import { bodyOf, client, onCleanup, serve, server } from './helpers.ts'

interface Received {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A backend that records what reached it and answers 201 with a header and a body. */
async function backend() {
  const got: Received[] = []
  const s = await server(async (req, res) => {
    got.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await bodyOf(req) })
    res.writeHead(201, { 'x-backend': 'yes' }).end('from backend')
  })
  return Object.assign(s, { got })
}

/** A front server that forwards every request to `c` and copies the answer back. */
async function front(c: Client) {
  return server(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const r = await c.forward(req.url ?? '/', req)
      res.writeHead(r.status, { 'x-backend': String(r.headers['x-backend']) })
      r.body.pipe(res)
    } catch (err) {
      res.writeHead(502).end((err as { code?: string }).code)
    }
  })
}

function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

async function setup(options: ClientOptions = {}) {
  const b = await backend()
  const c = client(b.url, options)
  const f = await front(c)
  return { b, f }
}

describe('forward()', () => {
  it('passes method, path, headers and body on, without hop-by-hop fields', async () => {
    const { b, f } = await setup()
    const res = await send(`${f.url}/orders/7?x=1`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'abc',
        authorization: 'Bearer t',
        connection: 'keep-alive, x-hop',
        'x-hop': 'drop me',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic cHJveHk=',
        'proxy-connection': 'keep-alive',
      },
      body: '{"qty":2}',
    })
    expect(res).toEqual({ status: 201, body: 'from backend' })
    const got = b.got[0]!
    expect(got.method).toBe('PUT')
    expect(got.url).toBe('/orders/7?x=1')
    expect(got.body).toBe('{"qty":2}')
    expect(got.headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': 'abc',
      authorization: 'Bearer t',
      host: `127.0.0.1:${b.port}`,
      'content-length': '9',
    })
    for (const hop of ['x-hop', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'forwarded']) {
      expect(got.headers[hop]).toBeUndefined()
    }
  })

  it('streams a large chunked body through', async () => {
    const { b, f } = await setup()
    const big = 'x'.repeat(2 * 1024 * 1024)
    const res = await send(`${f.url}/upload`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: big,
    })
    expect(res.status).toBe(201)
    expect(b.got[0]!.body.length).toBe(big.length)
    expect(b.got[0]!.headers['transfer-encoding']).toBe('chunked')
  })

  it('sends no body for a GET without one', async () => {
    const { b, f } = await setup()
    await send(`${f.url}/`, {})
    expect(b.got[0]!.headers['content-length']).toBeUndefined()
    expect(b.got[0]!.headers['transfer-encoding']).toBeUndefined()
  })

  it('with chunking NEVER sends a Content-Length for a chunked inbound body', async () => {
    const { b, f } = await setup({ chunking: 'NEVER' })
    await send(`${f.url}/`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'abc' })
    expect(b.got[0]!.headers['content-length']).toBe('3')
    expect(b.got[0]!.body).toBe('abc')
  })

  it("forwarded 'disable' leaves Forwarded as it came", async () => {
    const { b, f } = await setup()
    await send(`${f.url}/`, { headers: { forwarded: 'for=10.0.0.1', 'x-forwarded-for': '10.0.0.2' } })
    expect(b.got[0]!.headers.forwarded).toBe('for=10.0.0.1')
    expect(b.got[0]!.headers['x-forwarded-for']).toBe('10.0.0.2')
  })

  it("forwarded 'enable' adds this hop, after any earlier ones", async () => {
    const { b, f } = await setup({ forwarded: 'enable' })
    await send(`${f.url}/`, { headers: { host: 'shop.example' } })
    await send(`${f.url}/`, { headers: { forwarded: 'for=10.0.0.1;proto=https' } })
    expect(b.got[0]!.headers.forwarded).toBe('for=127.0.0.1;by=127.0.0.1;host=shop.example;proto=http')
    expect(b.got[1]!.headers.forwarded).toBe(
      `for=10.0.0.1;proto=https, for=127.0.0.1;by=127.0.0.1;host="127.0.0.1:${f.port}";proto=http`,
    )
  })

  it("forwarded 'transition' turns X-Forwarded-* into Forwarded and drops them", async () => {
    const { b, f } = await setup({ forwarded: 'transition' })
    await send(`${f.url}/`, {
      headers: {
        host: 'api.example',
        'x-forwarded-for': '203.0.113.9, 2001:db8::7',
        'x-forwarded-proto': 'HTTPS',
        'x-forwarded-host': 'shop.example',
      },
    })
    const h = b.got[0]!.headers
    expect(h.forwarded).toBe(
      'for=203.0.113.9;host=shop.example;proto=https, for="[2001:db8::7]", for=127.0.0.1;by=127.0.0.1;host=api.example;proto=http',
    )
    expect(h['x-forwarded-for']).toBeUndefined()
    expect(h['x-forwarded-proto']).toBeUndefined()
    expect(h['x-forwarded-host']).toBeUndefined()
  })

  it('forwards a request received over HTTP/2, joining its cookies for HTTP/1.1', async () => {
    const b = await backend()
    const c = client(b.url)
    const h2 = createSecureServer({ key, cert }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
      c.forward(req.url, req).then(
        async (r) => res.writeHead(r.status).end(await r.text()),
        (err: { code?: string }) => res.writeHead(502).end(String(err.code)),
      )
    })
    const l = await serve(h2, true)
    const session = h2connect(l.url, { ca: cert })
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          session.close(resolve)
        }),
    )
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/h2?q=1',
        cookie: ['a=1', 'b=2'],
        'content-type': 'text/plain',
      })
      let status = 0
      const chunks: Buffer[] = []
      stream.on('response', (h) => {
        status = Number(h[':status'])
      })
      stream.on('data', (d: Buffer) => chunks.push(d))
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }))
      stream.on('error', reject)
      stream.end('over h2')
    })
    expect({ status, body }).toEqual({ status: 201, body: 'from backend' })
    const got = b.got[0]!
    expect(got).toMatchObject({ method: 'POST', url: '/h2?q=1', body: 'over h2' })
    expect(got.headers.cookie).toBe('a=1; b=2')
    expect(Object.keys(got.headers).some((k) => k.startsWith(':'))).toBe(false)
  })

  it('refuses something that is not a received request with X_ERR_CLIENT_INVALID_REQUEST', async () => {
    const c = client('http://127.0.0.1:1')
    const err = await c.forward('/', {} as IncomingMessage).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_REQUEST')).toBe(true)
  })

  it('passes a backend failure to the front as a coded error', async () => {
    const dead = await serve(createServer())
    const url = dead.url
    await dead.close()
    const c = client(url)
    const f = await front(c)
    expect(await send(`${f.url}/`, {})).toEqual({ status: 502, body: 'X_ERR_CLIENT_CONNECT_FAILED' })
  })
})
