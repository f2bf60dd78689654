import { createServer, type IncomingMessage, request as nodeRequest, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../test-support/listen.ts'
import { type CachingProxy, type CachingProxyOptions, createCachingProxy, relayedHeaders } from './proxy.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function origin(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const seen: Seen[] = []
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      })
      handle(req, res, seen.length)
    })
  })
  const l = await listen(srv)
  cleanups.push(async () => {
    await l.drained()
    await l.close()
  })
  return { l, seen }
}

async function proxyFor(target: string, options: Partial<CachingProxyOptions> = {}): Promise<CachingProxy> {
  const p = createCachingProxy({ origin: target, port: 0, ...options })
  await p.start()
  cleanups.push(() => p.stop())
  return p
}

interface Answer {
  status: number
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: string
  interim: number[]
}

/** A request through node:http (so interim responses and raw header lines are visible). */
function send(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const interim: number[] = []
    const req = nodeRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            interim,
          }),
        )
      },
    )
    req.on('information', (info) => interim.push(info.statusCode))
    req.on('error', reject)
    req.end(init.body)
  })
}

describe('forwarding', () => {
  it('relays method, target, fields and body to the origin, without hop-by-hop fields, adding Via', async () => {
    const o = await origin((_req, res) => res.writeHead(201, { 'content-length': '2' }).end('ok'))
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '/items?q=1&q=2', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-trace': 'abc',
        cookie: 'a=1',
        connection: 'keep-alive, x-secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=5',
        te: 'trailers',
      },
      body: '{"a":1}',
    })
    expect(res.status).toBe(201)
    const seen = o.seen[0]!
    expect(seen).toMatchObject({ method: 'POST', url: '/items?q=1&q=2', body: '{"a":1}' })
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'x-trace': 'abc',
      cookie: 'a=1',
      via: '1.1 x-caching-proxy',
      host: new URL(o.l.url).host,
    })
    expect(seen.headers['x-secret']).toBeUndefined()
    expect(seen.headers['keep-alive']).toBeUndefined()
    expect(seen.headers.te).toBeUndefined()
  })

  it('appends to a Via the request already carries', async () => {
    const o = await origin((_req, res) => res.end())
    const p = await proxyFor(o.l.url, { via: 'edge-1' })
    await send(p.port, '/', { headers: { via: '1.0 cdn' } })
    expect(o.seen[0]!.headers.via).toBe('1.0 cdn, 1.1 edge-1')
  })

  it('relays status and every response field but hop-by-hop ones, repeated lines kept', async () => {
    const o = await origin((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.writeHead(299, 'Whatever', {
        'x-one': 'A',
        'content-type': 'text/x-odd',
        'content-length': '4',
        connection: 'x-private',
        'x-private': 'drop me',
        'keep-alive': 'timeout=1',
        'proxy-connection': 'keep-alive',
      })
      res.end('body')
    })
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '/x')
    expect(res.status).toBe(299)
    expect(res.body).toBe('body')
    expect(res.headers).toMatchObject({ 'x-one': 'A', 'content-type': 'text/x-odd', 'content-length': '4' })
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(res.headers['x-private']).toBeUndefined()
    expect(res.headers['proxy-connection']).toBeUndefined()
  })

  it('forwards HEAD as HEAD and relays its Content-Length', async () => {
    const o = await origin((_req, res) =>
      res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' }).end(),
    )
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '/h', { method: 'HEAD' })
    expect(o.seen[0]!.method).toBe('HEAD')
    expect(res.headers['content-length']).toBe('1234')
  })

  it('passes 103 Early Hints on before the final response', async () => {
    const o = await origin((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
      res.writeHead(200, { 'content-length': '5' }).end('final')
    })
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '/e')
    expect(res.interim).toEqual([103])
    expect(res.body).toBe('final')
  })

  it('answers 502 when the origin refuses connections', async () => {
    const o = await origin((_req, res) => res.end())
    cleanups.pop()
    await o.l.close()
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '/down')
    expect(res.status).toBe(502)
    expect(res.headers['content-type']).toBe('application/problem+json')
  })

  it('answers 504 when the origin never sends its response head within headersTimeout', async () => {
    const held: ServerResponse[] = []
    const o = await origin((_req, res) => {
      held.push(res)
    })
    // Runs before the origin's own cleanup: the held responses end so its sockets can close.
    cleanups.push(async () => {
      for (const res of held) res.end()
    })
    const p = await proxyFor(o.l.url, { headersTimeout: 50 })
    const res = await send(p.port, '/slow')
    expect(res.status).toBe(504)
    expect(res.headers['content-type']).toBe('application/problem+json')
  })

  it('answers 400 to a target the Client refuses to send (a path starting with //)', async () => {
    const o = await origin((_req, res) => res.end())
    const p = await proxyFor(o.l.url)
    const res = await send(p.port, '//evil.example/x')
    expect(res.status).toBe(400)
    expect(o.seen).toHaveLength(0)
  })
})

describe('caching', () => {
  it('answers a repeated GET from the shared cache with an Age', async () => {
    const o = await origin((_req, res, n) =>
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`v${n}`),
    )
    const p = await proxyFor(o.l.url)
    expect((await send(p.port, '/c')).body).toBe('v1')
    const hit = await send(p.port, '/c')
    expect(hit.body).toBe('v1')
    expect(hit.headers.age).toBeDefined()
    expect(o.seen).toHaveLength(1)
  })

  it('keeps private responses and answers to Authorization out of the shared cache', async () => {
    const o = await origin((req, res, n) =>
      res
        .writeHead(200, { 'cache-control': req.url === '/p' ? 'private, max-age=60' : 'max-age=60' })
        .end(`v${n}`),
    )
    const p = await proxyFor(o.l.url)
    await send(p.port, '/p')
    await send(p.port, '/p')
    await send(p.port, '/a', { headers: { authorization: 'Bearer x' } })
    await send(p.port, '/a', { headers: { authorization: 'Bearer y' } })
    expect(o.seen.map((s) => s.url)).toEqual(['/p', '/p', '/a', '/a'])
  })

  it('obeys CDN-Cache-Control over Cache-Control, as a gateway should (RFC 9213)', async () => {
    const o = await origin((_req, res, n) =>
      res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' }).end(`v${n}`),
    )
    const p = await proxyFor(o.l.url)
    await send(p.port, '/cdn')
    const hit = await send(p.port, '/cdn')
    expect(hit.body).toBe('v1')
    expect(hit.headers['cache-control']).toBe('no-store')
  })

  it('serves a stale entry inside stale-if-error when the origin fails', async () => {
    let fail = false
    const o = await origin((_req, res) => {
      if (fail) return void res.writeHead(500).end()
      res.writeHead(200, { 'cache-control': 'max-age=0, stale-if-error=60', etag: '"1"' }).end('kept')
    })
    const p = await proxyFor(o.l.url)
    await send(p.port, '/s')
    fail = true
    const res = await send(p.port, '/s')
    expect(res.status).toBe(200)
    expect(res.body).toBe('kept')
  })

  it('drops a stored response after a successful unsafe request', async () => {
    const o = await origin((req, res, n) => {
      if (req.method === 'DELETE') return void res.writeHead(204).end()
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`v${n}`)
    })
    const p = await proxyFor(o.l.url)
    await send(p.port, '/d')
    await send(p.port, '/d', { method: 'DELETE' })
    expect((await send(p.port, '/d')).body).toBe('v3')
  })
})

describe('relayedHeaders', () => {
  it('drops fields that Connection names, in any case and across lines', () => {
    expect(
      relayedHeaders({
        connection: ['X-A, close', ' x-b '],
        'x-a': '1',
        'x-b': '2',
        'x-c': '3',
        upgrade: 'h2c',
      }),
    ).toEqual({ 'x-c': '3' })
  })
})
