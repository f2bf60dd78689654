import { createReadStream, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fetch, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { isClientError } from '../../src/index.js'
import { bodyOf, client, server } from './helpers.ts'

/** A server that answers with what it received. */
async function echo() {
  return server(async (req, res) => {
    const body = await bodyOf(req)
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      }),
    )
  })
}

type Echo = { method: string; url: string; headers: Record<string, string>; body: string }

describe('requests', () => {
  it.each([
    { name: 'get', call: 'get', method: 'GET' },
    { name: 'head', call: 'head', method: 'HEAD' },
    { name: 'options', call: 'options', method: 'OPTIONS' },
    { name: 'delete', call: 'delete', method: 'DELETE' },
    { name: 'post', call: 'post', method: 'POST' },
    { name: 'put', call: 'put', method: 'PUT' },
    { name: 'patch', call: 'patch', method: 'PATCH' },
  ] as const)('$name sends $method', async ({ call, method }) => {
    const seen: string[] = []
    const s = await server((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.end('x')
    })
    const c = client(s.url)
    const res = await c[call]('/thing')
    expect(res.status).toBe(200)
    await res.text()
    expect(seen).toEqual([`${method} /thing`])
  })

  it('execute() sends any method, upper-casing the standard ones', async () => {
    const s = await echo()
    const c = client(s.url)
    expect(((await (await c.execute('patch', '/a', 'x')).json()) as Echo).method).toBe('PATCH')
    expect(((await (await c.execute('PROPFIND', '/a')).json()) as Echo).method).toBe('PROPFIND')
  })

  it('resolves paths against the base path and keeps the query', async () => {
    const s = await echo()
    const c = client(`${s.url}/api/v1/`)
    expect(((await (await c.get('/users/7?fields=a,b')).json()) as Echo).url).toBe(
      '/api/v1/users/7?fields=a,b',
    )
    expect(((await (await c.get('')).json()) as Echo).url).toBe('/api/v1')
    expect(((await (await c.get('?q=1')).json()) as Echo).url).toBe('/api/v1?q=1')
  })

  it('percent-encodes non-ASCII characters of a path', async () => {
    const s = await echo()
    const c = client(s.url)
    expect(((await (await c.get('/José/ü?x=é')).json()) as Echo).url).toBe('/Jos%C3%A9/%C3%BC?x=%C3%A9')
  })

  it('sends default headers and lets a request replace them', async () => {
    const s = await echo()
    const c = client(s.url, { headers: { 'x-app': 'demo', authorization: 'Bearer a' } })
    const a = (await (await c.get('/')).json()) as Echo
    expect(a.headers['x-app']).toBe('demo')
    expect(a.headers.authorization).toBe('Bearer a')
    const b = (await (await c.get('/', { headers: { Authorization: 'Bearer b', 'x-n': 5 } })).json()) as Echo
    expect(b.headers.authorization).toBe('Bearer b')
    expect(b.headers['x-n']).toBe('5')
  })
})

describe('request bodies', () => {
  it.each([
    { name: 'a string as text', body: 'héllo', type: 'text/plain; charset=utf-8', sent: 'héllo' },
    { name: 'an object as JSON', body: { a: [1, 2] }, type: 'application/json', sent: '{"a":[1,2]}' },
    { name: 'an array as JSON', body: [1, 'x'], type: 'application/json', sent: '[1,"x"]' },
    { name: 'a number as JSON', body: 42, type: 'application/json', sent: '42' },
    { name: 'a boolean as JSON', body: false, type: 'application/json', sent: 'false' },
    { name: 'bytes', body: new Uint8Array([104, 105]), type: 'application/octet-stream', sent: 'hi' },
    { name: 'a Buffer', body: Buffer.from('buf'), type: 'application/octet-stream', sent: 'buf' },
    {
      name: 'an ArrayBuffer',
      body: new Uint8Array([65, 66]).buffer,
      type: 'application/octet-stream',
      sent: 'AB',
    },
    {
      name: 'URLSearchParams as a form',
      body: new URLSearchParams({ a: '1', b: 'x y' }),
      type: 'application/x-www-form-urlencoded;charset=UTF-8',
      sent: 'a=1&b=x+y',
    },
    {
      name: 'a Blob with its type',
      body: new Blob(['<p/>'], { type: 'text/html' }),
      type: 'text/html',
      sent: '<p/>',
    },
  ])('sends $name', async ({ body, type, sent }) => {
    const s = await echo()
    const c = client(s.url)
    const e = (await (await c.post('/', body)).json()) as Echo
    expect(e.headers['content-type']).toBe(type)
    expect(e.body).toBe(sent)
    expect(e.headers['content-length']).toBe(String(Buffer.byteLength(sent)))
  })

  it('sends FormData as multipart with its boundary', async () => {
    const s = await echo()
    const c = client(s.url)
    const fd = new FormData()
    fd.append('name', 'Ann')
    fd.append('file', new Blob(['data']), 'a.txt')
    const e = (await (await c.post('/', fd)).json()) as Echo
    expect(e.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(e.body).toContain('name="name"')
    expect(e.body).toContain('filename="a.txt"')
  })

  it("sends undici's own FormData too", async () => {
    const { FormData: UndiciFormData } = await import('undici')
    const s = await echo()
    const c = client(s.url)
    const fd = new UndiciFormData()
    fd.append('k', 'v')
    const e = (await (await c.post('/', fd as unknown as FormData)).json()) as Echo
    expect(e.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(e.body).toContain('name="k"')
  })

  it('streams a Readable, an async iterable and a file, chunked', async () => {
    const s = await echo()
    const c = client(s.url)
    const file = join(tmpdir(), `x-client-${process.pid}.txt`)
    writeFileSync(file, 'from a file')
    async function* gen() {
      yield 'a'
      yield Buffer.from('b')
    }
    for (const [body, sent] of [
      [Readable.from(['x', 'y']), 'xy'],
      [gen(), 'ab'],
      [createReadStream(file), 'from a file'],
    ] as const) {
      const e = (await (await c.post('/', body)).json()) as Echo
      expect(e.body).toBe(sent)
      expect(e.headers['transfer-encoding']).toBe('chunked')
      expect(e.headers['content-length']).toBeUndefined()
    }
  })

  it('keeps a caller Content-Type', async () => {
    const s = await echo()
    const c = client(s.url)
    const e = (await (
      await c.post('/', '{"a":1}', { headers: { 'content-type': 'application/json' } })
    ).json()) as Echo
    expect(e.headers['content-type']).toBe('application/json')
  })

  it.each([
    { name: 'AUTO sends a known length', chunking: 'AUTO' as const, body: 'abc', te: undefined, cl: '3' },
    { name: 'AUTO chunks a stream', chunking: 'AUTO' as const, body: 'stream', te: 'chunked', cl: undefined },
    {
      name: 'ALWAYS chunks a string',
      chunking: 'ALWAYS' as const,
      body: 'abc',
      te: 'chunked',
      cl: undefined,
    },
    { name: 'ALWAYS chunks JSON', chunking: 'ALWAYS' as const, body: { a: 1 }, te: 'chunked', cl: undefined },
    {
      name: 'NEVER buffers a stream for its length',
      chunking: 'NEVER' as const,
      body: 'stream',
      te: undefined,
      cl: '6',
    },
  ])('chunking $name', async ({ chunking, body, te, cl }) => {
    const s = await echo()
    const c = client(s.url, { chunking })
    const payload = body === 'stream' ? Readable.from(['str', 'eam']) : body
    const e = (await (await c.post('/', payload)).json()) as Echo
    expect(e.headers['transfer-encoding']).toBe(te)
    expect(e.headers['content-length']).toBe(cl)
  })

  it.each([
    { name: 'a BigInt', body: { n: 1n } },
    {
      name: 'a cyclic object',
      body: (() => {
        const o: Record<string, unknown> = {}
        o.self = o
        return o
      })(),
    },
    { name: 'a function', body: () => 1 },
    { name: 'a symbol', body: Symbol('x') },
  ])('refuses $name with X_ERR_CLIENT_INVALID_BODY', async ({ body }) => {
    const s = await echo()
    const c = client(s.url)
    const err = await c.post('/', body as never).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_BODY')).toBe(true)
    expect(s.sockets.length).toBe(0)
  })

  it('refuses a stream that already ended', async () => {
    const s = await echo()
    const c = client(s.url)
    const r = Readable.from(['x'])
    for await (const _ of r) void _
    const err = await c.post('/', r).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_BODY')).toBe(true)
  })
})

describe('responses', () => {
  it('exposes status, status text, headers, trailers and url', async () => {
    const s = await server((_req, res) => {
      res.writeHead(201, 'Made', { 'x-a': '1', 'set-cookie': ['a=1', 'b=2'], trailer: 'x-t' })
      res.write('ok')
      res.addTrailers({ 'x-t': 'done' })
      res.end()
    })
    const c = client(s.url)
    const res = await c.get('/p')
    expect(res.status).toBe(201)
    expect(res.statusText).toBe('Made')
    expect(res.headers['x-a']).toBe('1')
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(res.url).toBe(`${s.url}/p`)
    expect(await res.text()).toBe('ok')
    expect(res.trailers['x-t']).toBe('done')
  })

  it('reads the body as bytes, and as a stream with back-pressure', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a')
    const s = await server((_req, res) => res.end(big))
    const c = client(s.url)
    const bytes = await (await c.get('/')).bytes()
    expect(Buffer.from(bytes).equals(big)).toBe(true)
    const res = await c.get('/')
    let n = 0
    for await (const chunk of res.body) n += (chunk as Buffer).length
    expect(n).toBe(big.length)
  })

  it('refuses to read a body twice with X_ERR_CLIENT_BODY_USED', async () => {
    const s = await server((_req, res) => res.end('once'))
    const c = client(s.url)
    const res = await c.get('/')
    expect(await res.text()).toBe('once')
    expect(res.bodyUsed).toBe(true)
    const again = await res.text().catch((e: unknown) => e)
    expect(isClientError(again, 'X_ERR_CLIENT_BODY_USED')).toBe(true)
    let thrown: unknown
    try {
      void res.body
    } catch (e) {
      thrown = e
    }
    expect(isClientError(thrown, 'X_ERR_CLIENT_BODY_USED')).toBe(true)
  })

  it('decodes text by the Content-Type charset and drops a UTF-8 BOM', async () => {
    const s = await server((req, res) => {
      if (req.url === '/latin1') {
        res.setHeader('content-type', 'text/plain; charset="ISO-8859-1"')
        res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]))
      } else {
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('café')]))
      }
    })
    const c = client(s.url)
    expect(await (await c.get('/latin1')).text()).toBe('café')
    expect(await (await c.get('/utf8')).text()).toBe('café')
  })

  it('answers an unknown charset with X_ERR_CLIENT_BODY_INVALID', async () => {
    const s = await server((_req, res) => {
      res.setHeader('content-type', 'text/plain; charset=klingon')
      res.end('x')
    })
    const c = client(s.url)
    const err = await (await c.get('/')).text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_BODY_INVALID')).toBe(true)
  })

  it('binds JSON, checked by a type guard or a Standard Schema', async () => {
    const s = await server((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end('{"id":7,"name":"Ann"}')
    })
    const c = client(s.url)
    interface User {
      id: number
      name: string
    }
    const isUser = (v: unknown): v is User => typeof (v as User).id === 'number'
    const u = await (await c.get('/')).json(isUser)
    expect(u.name).toBe('Ann')
    const schema = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (v: unknown) =>
          typeof (v as User).name === 'string' ? { value: v as User } : { issues: [{ message: 'no name' }] },
      },
    }
    expect((await (await c.get('/')).json(schema)).id).toBe(7)
    const refuse = {
      '~standard': { ...schema['~standard'], validate: () => ({ issues: [{ message: 'nope' }] }) },
    }
    const err = await (await c.get('/')).json(refuse).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_BODY_INVALID')).toBe(true)
    const guardErr = await (await c.get('/'))
      .json((v): v is string => typeof v === 'string')
      .catch((e: unknown) => e)
    expect(isClientError(guardErr, 'X_ERR_CLIENT_BODY_INVALID')).toBe(true)
  })

  it('answers a body that is not the JSON it announces with X_ERR_CLIENT_BODY_INVALID and the status', async () => {
    const s = await server((_req, res) => {
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end('<html>Bad gateway</html>')
    })
    const c = client(s.url)
    const err = await (await c.get('/')).json().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_BODY_INVALID')).toBe(true)
    expect((err as { statusCode?: number }).statusCode).toBe(502)
  })

  it('enforces responseLimits.maxBodySize with X_ERR_CLIENT_BODY_TOO_LARGE', async () => {
    const s = await server((_req, res) => res.end(Buffer.alloc(10_000)))
    const c = client(s.url, { responseLimits: { maxBodySize: 1000 } })
    const err = await (await c.get('/')).bytes().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_BODY_TOO_LARGE')).toBe(true)
  })

  it('resolves any status: 4xx and 5xx are responses, not errors', async () => {
    const s = await server((req, res) => {
      res.statusCode = Number(req.url?.slice(1))
      res.end()
    })
    const c = client(s.url)
    for (const status of [400, 404, 500, 503]) expect((await c.get(`/${status}`)).status).toBe(status)
  })
})

describe('the chain under undici.request and fetch', () => {
  it('gives fetch and undici.request the same dispatcher', async () => {
    let n = 0
    const s = await server((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new' }).end()
        return
      }
      if (n++ === 0) {
        res.writeHead(503, { 'retry-after': '0' }).end()
        return
      }
      res.end(`at ${req.url}`)
    })
    const c = client(s.url, { followRedirects: { enabled: true }, retryConfig: { count: 2, interval: 1 } })
    const viaFetch = await fetch(`${s.url}/old`, { dispatcher: c.dispatcher })
    expect(await viaFetch.text()).toBe('at /new')
    const viaRequest = await request(`${s.url}/old`, { dispatcher: c.dispatcher })
    expect(await viaRequest.body.text()).toBe('at /new')
  })
})

describe('lifecycle', () => {
  it('reports pool statistics', async () => {
    const s = await server((_req, res) => res.end('x'))
    const c = client(s.url)
    await (await c.get('/')).text()
    expect(c.stats()[s.url]).toMatchObject({ connections: 1, idle: 1, active: 0, queued: 0 })
  })

  it('refuses requests after close() with X_ERR_CLIENT_CLOSED', async () => {
    const s = await server((_req, res) => res.end('x'))
    const c = client(s.url)
    await (await c.get('/')).text()
    await c.close()
    const err = await c.get('/').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_CLOSED')).toBe(true)
    await c.close()
  })
})
