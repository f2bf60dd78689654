// HTTP/2 on the Listener with real clients: node:http2 (h2c and TLS) and undici (HTTP/1.1) on
// the same port; the same services, filters, binding, errors and limits under both protocols;
// framing rules of HTTP/2 (no chunked coding, Content-Length where buffered, HEAD, 1xx).
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import { connect as netConnect } from 'node:net'
import { Readable } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { cert, key } from '../../../test-support/tls.ts'
import { type Filter, HttpError, HttpResponse, type Resource, resource, type Service } from '../src/index.ts'
import { h2connect, h2request } from './helpers/h2.ts'
import * as F from './helpers/h2-frames.ts'
import { raw, type Served, serve, statusOf } from './helpers/serve.ts'

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

const version: Resource = {
  methods: ['GET'],
  path: '/version',
  handler: (ctx) => ({ version: ctx.request.httpVersion, host: ctx.headers.host }),
}
const hello: Resource = { methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }

describe('HTTP/2 and HTTP/1.1 on one cleartext port', () => {
  it('serves h2c with prior knowledge and HTTP/1.1 from the same service', async () => {
    server = await serve({ resources: [version] }, { httpVersion: '2' })
    const h1 = await server.fetch('/version')
    expect(h1.json()).toEqual({ version: '1.1', host: `127.0.0.1:${server.port}` })
    const h2 = await h2request(await session(server.url), { ':path': '/version' })
    expect(h2.status).toBe(200)
    expect(h2.json()).toEqual({ version: '2.0', host: `127.0.0.1:${server.port}` })
  })

  it('reads a connection preface that arrives a byte at a time', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2' })
    const c = await F.rawH2(server.port)
    c.socket.setNoDelay(true)
    for (const byte of F.PREFACE) {
      c.write(Buffer.from([byte]))
      await new Promise((r) => setTimeout(r, 1))
    }
    c.write(F.settings())
    c.write(F.headers(1, '/hello'))
    const data = await c.next((f) => f.type === F.TYPE.DATA && f.streamId === 1)
    expect(data?.payload.toString()).toBe('{"hello":"world"}')
    c.socket.destroy()
  })

  it('answers 408 and closes a connection that sends nothing', async () => {
    server = await serve(
      { resources: [hello] },
      { httpVersion: '2', headersTimeout: 200, requestTimeout: 1000 },
    )
    const res = await raw(server.port, [])
    expect(statusOf(res)).toBe(408)
  })

  it('answers a partial preface followed by other bytes as HTTP/1.1, with 400', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2' })
    const res = await raw(server.port, 'PRI * HTTP/2.0\r\n\r\nXY garbage\r\n\r\n')
    expect(statusOf(res)).toBe(400)
  })

  it('drops a connection that closes its side in the middle of the preface', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2' })
    const res = await raw(server.port, 'PRI * HTTP/2', { end: true })
    expect(res).toBe('')
  })

  it('answers Upgrade: h2c as HTTP/1.1 (RFC 9113 deprecates the upgrade)', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2' })
    const res = await raw(
      server.port,
      'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: close\r\n\r\n',
    )
    expect(statusOf(res)).toBe(200)
    expect(res).toContain('{"hello":"world"}')
  })

  it('reports which protocol each connection got', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const seen: string[] = []
    const onProtocol = (m: unknown) => seen.push((m as { protocol: string }).protocol)
    subscribe('x:http:listener-protocol', onProtocol)
    try {
      server = await serve({ resources: [hello] }, { httpVersion: '2' })
      await server.fetch('/hello')
      await h2request(await session(server.url), { ':path': '/hello' })
    } finally {
      unsubscribe('x:http:listener-protocol', onProtocol)
    }
    expect(seen).toEqual(['http/1.1', 'h2c'])
  })
})

describe('h2c only', () => {
  it('serves HTTP/2 with prior knowledge', async () => {
    server = await serve({ resources: [version] }, { httpVersion: '2', http2: { allowHTTP1: false } })
    const res = await h2request(await session(server.url), { ':path': '/version' })
    expect(res.json()).toEqual({ version: '2.0', host: `127.0.0.1:${server.port}` })
  })

  it('answers an HTTP/1.1 request with GOAWAY and closes the connection', async () => {
    server = await serve(
      { resources: [hello] },
      { httpVersion: '2', http2: { allowHTTP1: false }, keepAliveTimeout: 100 },
    )
    const c = await F.rawH2(server.port)
    c.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n')
    await c.closed
    expect(c.goawayCode()).toBeGreaterThan(0)
    expect(c.text()).not.toContain('HTTP/1.1')
  })
})

describe('HTTP/2 over TLS', () => {
  it('serves h2 and HTTP/1.1 on one port, chosen by ALPN', async () => {
    const tlsVersion: Resource = {
      methods: ['GET'],
      path: '/tls',
      handler: (ctx) => ({ version: ctx.request.httpVersion, alpn: ctx.tls?.alpnProtocol ?? null }),
    }
    server = await serve(
      { resources: [tlsVersion] },
      { httpVersion: '2', secureSocket: { key: { cert, key } } },
    )
    const url = `https://localhost:${server.port}`
    const h2 = await h2request(await session(url, { ca: cert }), { ':path': '/tls' })
    expect(h2.json()).toEqual({ version: '2.0', alpn: 'h2' })
    const agent = new Agent({ connect: { ca: cert } })
    try {
      const h1 = await request(`${url}/tls`, { dispatcher: agent })
      expect(await h1.body.json()).toEqual({ version: '1.1', alpn: 'http/1.1' })
    } finally {
      await agent.close()
    }
  })

  it('refuses a client that cannot speak h2 when HTTP/1.1 is off', async () => {
    server = await serve(
      { resources: [hello] },
      { httpVersion: '2', http2: { allowHTTP1: false }, secureSocket: { key: { cert, key } } },
    )
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        port: server!.port,
        host: '127.0.0.1',
        ca: cert,
        servername: 'localhost',
        ALPNProtocols: ['http/1.1'],
      })
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
      socket.on('secureConnect', () => socket.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n'))
      socket.on('data', () => resolve('answered'))
      socket.on('close', () => resolve('closed'))
    })
    expect(outcome).not.toBe('answered')
  })
})

describe('the pipeline under HTTP/2', () => {
  const user: Filter = {
    request(ctx) {
      if (ctx.headers.authorization !== 'Bearer t') throw new HttpError(401, 'no token')
      ctx.state.user = 'ada'
      return ctx.next()
    },
    response(_ctx, response) {
      response.headers['x-filter'] = 'passed'
    },
  }
  const service: Service = {
    basePath: '/api',
    filters: [user],
    resources: [
      resource({
        methods: ['GET'],
        path: '/users/{id}',
        params: { id: 'integer' },
        query: { full: { type: 'boolean', default: false } },
        handler: (ctx) => ({ id: ctx.params.id, full: ctx.query.full, by: ctx.state.user }),
      }),
      resource({ methods: ['POST'], path: '/echo', body: 'json', handler: (ctx) => ({ got: ctx.body }) }),
      resource({
        methods: ['POST'],
        path: '/small',
        body: { type: 'text', maxSize: 10 },
        handler: (ctx) => ctx.body,
      }),
      resource({
        methods: ['POST'],
        path: '/count',
        body: { type: 'stream', maxSize: 100 },
        handler: async (ctx) => {
          let n = 0
          for await (const chunk of ctx.body) n += (chunk as Buffer).length
          return { n }
        },
      }),
      { methods: ['POST'], path: '/ignore', handler: () => 'ignored' },
      { methods: ['GET'], path: '/none', handler: () => new HttpResponse({ status: 204 }) },
      {
        methods: ['GET'],
        path: '/hop',
        handler: () =>
          new HttpResponse({
            status: 200,
            headers: {
              connection: 'close',
              'keep-alive': 'timeout=5',
              'transfer-encoding': 'chunked',
              'x-ok': '1',
            },
            body: 'hop',
          }),
      },
      { methods: ['GET'], path: '/stream', handler: () => Readable.from(['a', 'b', 'c']) },
      { methods: ['GET'], path: '/headers', handler: (ctx) => Object.keys(ctx.headers).sort() },
      {
        methods: ['POST'],
        path: '/iterate',
        handler: async (ctx) => {
          let text = ''
          for await (const chunk of ctx.request as AsyncIterable<Buffer>) text += chunk.toString()
          return { text }
        },
      },
    ],
  }
  const auth = { authorization: 'Bearer t' }

  it('runs filters, binding and the resource the same way as over HTTP/1.1', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const h2 = await h2request(s, { ':path': '/api/users/7?full=true', ...auth })
    const h1 = await server.fetch('/api/users/7?full=true', { headers: auth })
    expect(h2.json()).toEqual({ id: 7, full: true, by: 'ada' })
    expect(h1.json()).toEqual(h2.json())
    expect(h2.headers['x-filter']).toBe('passed')
    expect(h2.headers['content-length']).toBe(String(h2.body.length))
  })

  it.each([
    { name: 'a filter refusing the request', path: '/api/users/7', headers: {}, status: 401 },
    { name: 'a path parameter that does not convert', path: '/api/users/x', headers: auth, status: 400 },
    { name: 'no such resource', path: '/api/nothing', headers: auth, status: 404 },
    { name: 'a method the resource does not take', path: '/api/echo', headers: auth, status: 405 },
  ])(
    'answers $name with the same problem response as HTTP/1.1 ($status)',
    async ({ path, headers, status }) => {
      server = await serve(service, { httpVersion: '2' })
      const h2 = await h2request(await session(server.url), { ':path': path, ...headers })
      const h1 = await server.fetch(path, { headers })
      expect(h2.status).toBe(status)
      expect(h2.headers['content-type']).toBe('application/problem+json')
      expect(h2.json()).toEqual(h1.json())
      if (status === 405) expect(h2.headers.allow).toBe('OPTIONS, POST')
    },
  )

  it('binds a JSON body sent in DATA frames without Content-Length', async () => {
    server = await serve(service, { httpVersion: '2' })
    const res = await h2request(
      await session(server.url),
      { ':method': 'POST', ':path': '/api/echo', 'content-type': 'application/json', ...auth },
      ['{"a":', '[1,2', ']}'],
    )
    expect(res.status).toBe(201)
    expect(res.json()).toEqual({ got: { a: [1, 2] } })
  })

  it('answers 413 for a body without Content-Length that grows past maxSize, and keeps the connection', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const big = await h2request(
      s,
      { ':method': 'POST', ':path': '/api/small', 'content-type': 'text/plain', ...auth },
      ['12345', '67890', 'abcde'],
    )
    expect(big.status).toBe(413)
    expect(big.json().code).toBe('X_ERR_HTTP_BODY_TOO_LARGE')
    const next = await h2request(s, { ':path': '/api/users/1', ...auth })
    expect(next.status).toBe(200)
    expect(server.openSockets()).toBe(1)
  })

  it('lets a handler read ctx.request to its end and still answer', async () => {
    server = await serve(service, { httpVersion: '2' })
    const res = await h2request(
      await session(server.url),
      { ':method': 'POST', ':path': '/api/iterate', ...auth },
      ['ab', 'cd'],
    )
    expect(res.json()).toEqual({ text: 'abcd' })
  })

  it('limits a streamed body without Content-Length', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const small = await h2request(s, { ':method': 'POST', ':path': '/api/count', ...auth }, [
      'a'.repeat(60),
      'b'.repeat(30),
    ])
    expect(small.json()).toEqual({ n: 90 })
    const big = await h2request(s, { ':method': 'POST', ':path': '/api/count', ...auth }, [
      'a'.repeat(60),
      'b'.repeat(60),
    ])
    expect(big.status).toBe(413)
  })

  it('delivers the response of a handler that ignores the body, then stops the upload with NO_ERROR', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const stream = s.request({ ':method': 'POST', ':path': '/api/ignore', ...auth }, { endStream: false })
    stream.write('x'.repeat(1000))
    const res = await new Promise<{ body: string; rst: number }>((resolve) => {
      let body = ''
      stream.setEncoding('utf8')
      stream.on('data', (d: string) => {
        body += d
      })
      stream.on('error', () => {})
      stream.on('close', () => resolve({ body, rst: stream.rstCode ?? -1 }))
    })
    expect(res).toEqual({ body: 'ignored', rst: F.ERROR.NO_ERROR })
    expect((await h2request(s, { ':path': '/api/users/1', ...auth })).status).toBe(200)
  })

  it('sends 100 Continue before the body when the client expects it', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const stream = s.request(
      {
        ':method': 'POST',
        ':path': '/api/echo',
        'content-type': 'application/json',
        expect: '100-continue',
        ...auth,
      },
      { endStream: false },
    )
    await new Promise<void>((resolve) => stream.once('continue', () => resolve()))
    stream.end('{"late":true}')
    const body = await new Promise<string>((resolve) => {
      let b = ''
      stream.setEncoding('utf8')
      stream.on('data', (d: string) => {
        b += d
      })
      stream.on('end', () => resolve(b))
    })
    expect(JSON.parse(body)).toEqual({ got: { late: true } })
  })

  it('answers HEAD with the headers of GET, Content-Length included, and no body', async () => {
    server = await serve(service, { httpVersion: '2' })
    const s = await session(server.url)
    const get = await h2request(s, { ':path': '/api/users/3', ...auth })
    const head = await h2request(s, { ':method': 'HEAD', ':path': '/api/users/3', ...auth })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe(get.headers['content-length'])
  })

  it('sends 204 without a body or Content-Length', async () => {
    server = await serve(service, { httpVersion: '2' })
    const res = await h2request(await session(server.url), { ':path': '/api/none', ...auth })
    expect(res.status).toBe(204)
    expect(res.body).toBe('')
    expect(res.headers['content-length']).toBeUndefined()
  })

  it('leaves out connection-specific fields a handler sets (RFC 9113 §8.2.2)', async () => {
    server = await serve(service, { httpVersion: '2' })
    const res = await h2request(await session(server.url), { ':path': '/api/hop', ...auth })
    expect(res.status).toBe(200)
    expect(res.body).toBe('hop')
    expect(res.headers['x-ok']).toBe('1')
    for (const name of ['connection', 'keep-alive', 'transfer-encoding'])
      expect(res.headers[name]).toBeUndefined()
  })

  it('shows request fields without pseudo-header fields, with Host taken from :authority', async () => {
    server = await serve(service, { httpVersion: '2' })
    const res = await h2request(await session(server.url), { ':path': '/api/headers', 'x-a': '1', ...auth })
    expect(res.json()).toEqual(['authorization', 'host', 'x-a'])
  })
})

describe('forwarding an HTTP/2 request with the Client', () => {
  it('sends ctx.request on with its method, fields and streamed body, without pseudo-header fields', async () => {
    const { createServer } = await import('node:http')
    const upstream = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            fields: req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()),
            forwarded: req.headers.forwarded,
            body: Buffer.concat(chunks).toString(),
          }),
        )
      })
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
    const { Client } = await import('../src/index.ts')
    const client = new Client(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`, {
      forwarded: 'enable',
    })
    try {
      server = await serve(
        {
          resources: [
            {
              path: '/proxy',
              handler: async (ctx) => (await client.forward('/upstream', ctx.request)).json(),
            },
          ],
        },
        { httpVersion: '2' },
      )
      const res = await h2request(
        await session(server.url),
        { ':method': 'PUT', ':path': '/proxy', 'x-trace': 'abc' },
        ['part one, ', 'part two'],
      )
      const seen = res.json()
      expect(seen).toMatchObject({ method: 'PUT', url: '/upstream', body: 'part one, part two' })
      expect(seen.fields).toContain('x-trace')
      expect(seen.fields.some((f: string) => f.startsWith(':'))).toBe(false)
      expect(seen.forwarded).toContain(`host="127.0.0.1:${server.port}"`)
    } finally {
      await client.close()
      await new Promise<void>((r) => upstream.close(() => r()))
    }
  })
})

describe('framing and keep-alive under HTTP/2', () => {
  const framing: Service = {
    resources: [
      { methods: ['GET'], path: '/buffered', handler: () => 'x'.repeat(100) },
      { methods: ['GET'], path: '/stream', handler: () => Readable.from(['a', 'b', 'c']) },
    ],
  }

  it.each([
    { name: 'AUTO buffered', chunking: 'AUTO' as const, path: '/buffered', length: '100' },
    { name: 'ALWAYS buffered', chunking: 'ALWAYS' as const, path: '/buffered', length: '100' },
    { name: 'AUTO streamed', chunking: 'AUTO' as const, path: '/stream', length: undefined },
    { name: 'NEVER streamed', chunking: 'NEVER' as const, path: '/stream', length: '3' },
  ])(
    'frames $name with Content-Length $length and never chunked coding',
    async ({ chunking, path, length }) => {
      server = await serve(framing, { httpVersion: '2', chunking })
      const res = await h2request(await session(server.url), { ':path': path })
      expect(res.status).toBe(200)
      expect(res.headers['content-length']).toBe(length)
      expect(res.headers['transfer-encoding']).toBeUndefined()
      expect(res.body.length).toBe(path === '/buffered' ? 100 : 3)
    },
  )

  it.each([
    { name: 'AUTO', keepAlive: 'AUTO' as const },
    { name: 'NEVER', keepAlive: 'NEVER' as const },
  ])(
    'keeps one connection for many requests with keepAlive $name (it governs HTTP/1.1)',
    async ({ keepAlive }) => {
      server = await serve(framing, { httpVersion: '2', keepAlive })
      const s = await session(server.url)
      for (let i = 0; i < 20; i++) {
        const res = await h2request(s, { ':path': '/buffered' })
        expect(res.status).toBe(200)
        expect(res.headers.connection).toBeUndefined()
      }
      const parallel = await Promise.all(
        Array.from({ length: 20 }, () => h2request(s, { ':path': '/stream' })),
      )
      expect(parallel.every((r) => r.body === 'abc')).toBe(true)
      expect(server.openSockets()).toBe(1)
    },
  )
})

describe('streams that end early', () => {
  it('aborts ctx.signal when the client resets the stream', async () => {
    let aborted!: () => void
    const seen = new Promise<void>((r) => {
      aborted = r
    })
    let started!: () => void
    const running = new Promise<void>((r) => {
      started = r
    })
    server = await serve(
      {
        resources: [
          {
            path: '/wait',
            handler: (ctx) =>
              new Promise((resolve) => {
                ctx.signal.addEventListener('abort', () => {
                  aborted()
                  resolve('late')
                })
                started()
              }),
          },
        ],
      },
      { httpVersion: '2' },
    )
    const s = await session(server.url)
    const stream = s.request({ ':path': '/wait' })
    stream.on('error', () => {})
    await running
    stream.close(F.ERROR.CANCEL)
    await seen
    expect(server.logger.errors).toEqual([])
  })

  it('takes a client that resets a streamed response midway as gone, not as a failure', async () => {
    let sent!: () => void
    const firstSent = new Promise<void>((r) => {
      sent = r
    })
    let closed!: () => void
    const streamClosed = new Promise<void>((r) => {
      closed = r
    })
    server = await serve(
      {
        resources: [
          {
            path: '/feed',
            handler: () =>
              Readable.from(
                (async function* () {
                  yield 'first'
                  sent()
                  await streamClosed
                  yield 'never read'
                })(),
              ),
          },
          hello,
        ],
      },
      { httpVersion: '2' },
    )
    const s = await session(server.url)
    const stream = s.request({ ':path': '/feed' })
    stream.on('error', () => {})
    await new Promise<void>((r) => stream.once('data', () => r()))
    await firstSent
    stream.close(F.ERROR.CANCEL)
    await new Promise<void>((r) => stream.once('close', () => r()))
    closed()
    expect((await h2request(s, { ':path': '/hello' })).status).toBe(200)
    expect(server.logger.errors).toEqual([])
  })

  it('resets the stream with INTERNAL_ERROR when a streamed body fails midway, and logs it', async () => {
    server = await serve(
      {
        resources: [
          {
            path: '/broken',
            handler: () =>
              Readable.from(
                (async function* () {
                  yield 'partial'
                  throw new Error('disk gone')
                })(),
              ),
          },
        ],
      },
      { httpVersion: '2' },
    )
    const res = await h2request(await session(server.url), { ':path': '/broken' })
    expect(res.rstCode).toBe(F.ERROR.INTERNAL_ERROR)
    expect(server.logger.errors).toHaveLength(1)
  })

  it('resolves ctx.caller.respond() with sent once the response went out', async () => {
    let outcome: Promise<unknown> | undefined
    server = await serve(
      {
        resources: [
          {
            path: '/caller',
            handler: (ctx) => {
              outcome = ctx.caller.respond({ via: 'caller' })
            },
          },
        ],
      },
      { httpVersion: '2' },
    )
    const res = await h2request(await session(server.url), { ':path': '/caller' })
    expect(res.json()).toEqual({ via: 'caller' })
    expect(await outcome).toBe('sent')
  })
})

describe('HTTP/2 request limits', () => {
  it('answers 431 to more header fields than maxHeaderCount, and serves the next request', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2', maxHeaderCount: 10 })
    const s = await session(server.url)
    const many: Record<string, string> = { ':path': '/hello' }
    for (let i = 0; i < 11; i++) many[`x-h${i}`] = 'v'
    const res = await h2request(s, many)
    expect(res.status).toBe(431)
    expect(res.json().code).toBe('X_ERR_HTTP_HEADERS_TOO_LARGE')
    const exact: Record<string, string> = { ':path': '/hello' }
    for (let i = 0; i < 10; i++) exact[`x-h${i}`] = 'v'
    expect((await h2request(s, exact)).status).toBe(200)
  })

  it('answers 431 to a header list over maxHeaderListSize', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2', http2: { maxHeaderListSize: 2048 } })
    const s = await session(server.url)
    const res = await h2request(s, { ':path': '/hello', 'x-big': 'b'.repeat(3000) })
    expect(res.status).toBe(431)
    expect((await h2request(s, { ':path': '/hello', 'x-small': 'b'.repeat(1000) })).status).toBe(200)
  })

  it('answers 414 to a :path over maxUriLength', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2', maxUriLength: 64 })
    const res = await h2request(await session(server.url), { ':path': `/${'a'.repeat(100)}` })
    expect(res.status).toBe(414)
  })

  it('advertises its settings and opens the connection window', async () => {
    server = await serve(
      { resources: [hello] },
      {
        httpVersion: '2',
        http2: {
          maxConcurrentStreams: 7,
          initialWindowSize: 100_000,
          maxFrameSize: 32_768,
          maxHeaderListSize: 8192,
          headerTableSize: 1024,
          connectionWindowSize: 2_000_000,
        },
      },
    )
    const s = await session(server.url)
    await h2request(s, { ':path': '/hello' })
    expect(s.remoteSettings).toMatchObject({
      maxConcurrentStreams: 7,
      initialWindowSize: 100_000,
      maxFrameSize: 32_768,
      maxHeaderListSize: 8192,
      headerTableSize: 1024,
    })
    expect(s.state.remoteWindowSize).toBeGreaterThan(1_900_000)
  })

  it('closes an idle connection with GOAWAY after keepAliveTimeout', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2', keepAliveTimeout: 100 })
    const s = await session(server.url)
    await h2request(s, { ':path': '/hello' })
    const code = await new Promise<number>((r) => s.once('goaway', (c: number) => r(c)))
    expect(code).toBe(F.ERROR.NO_ERROR)
    await new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())))
    await server.drained()
  })

  it('keeps a connection whose stream is still being answered past keepAliveTimeout', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let reached!: () => void
    const waiting = new Promise<void>((r) => {
      reached = r
    })
    server = await serve(
      {
        resources: [
          {
            path: '/slow',
            handler: async () => {
              reached()
              await gate
              return 'done'
            },
          },
        ],
      },
      { httpVersion: '2', keepAliveTimeout: 50 },
    )
    const s = await session(server.url)
    let goaway = false
    s.on('goaway', () => {
      goaway = true
    })
    const pending = h2request(s, { ':path': '/slow' })
    await waiting
    // Several idle periods pass while the handler works.
    await new Promise((r) => setTimeout(r, 200))
    release()
    expect((await pending).body).toBe('done')
    expect(goaway).toBe(false)
  })

  it('drops a client that does not acknowledge the SETTINGS frame in time (SETTINGS_TIMEOUT)', async () => {
    server = await serve(
      { resources: [hello] },
      { httpVersion: '2', http2: { allowHTTP1: false, settingsTimeout: 100 } },
    )
    const c = await F.rawH2(server.port)
    c.write(F.PREFACE)
    c.write(F.settings())
    await c.closed
    expect(c.goawayCode()).toBe(F.ERROR.SETTINGS_TIMEOUT)
  })
})

describe('options', () => {
  it.each([
    { name: 'an unknown httpVersion', options: { httpVersion: '3' } },
    { name: 'http2 settings without httpVersion 2', options: { http2: { maxConcurrentStreams: 10 } } },
    { name: 'an unknown http2 setting', options: { httpVersion: '2', http2: { pushEnabled: true } } },
    { name: 'maxConcurrentStreams 0', options: { httpVersion: '2', http2: { maxConcurrentStreams: 0 } } },
    { name: 'maxFrameSize below 16384', options: { httpVersion: '2', http2: { maxFrameSize: 1000 } } },
    { name: 'maxFrameSize above 2^24-1', options: { httpVersion: '2', http2: { maxFrameSize: 2 ** 24 } } },
    {
      name: 'initialWindowSize above 2^31-1',
      options: { httpVersion: '2', http2: { initialWindowSize: 2 ** 31 } },
    },
    {
      name: 'a connection window below 65535',
      options: { httpVersion: '2', http2: { connectionWindowSize: 1000 } },
    },
    { name: 'allowHTTP1 as a string', options: { httpVersion: '2', http2: { allowHTTP1: 'yes' } } },
    { name: 'a negative settingsTimeout', options: { httpVersion: '2', http2: { settingsTimeout: -1 } } },
    { name: 'a fractional streamResetRate', options: { httpVersion: '2', http2: { streamResetRate: 1.5 } } },
    { name: 'secureSocket as a string', options: { secureSocket: 'tls' } },
    { name: 'secureSocket without a key', options: { secureSocket: {} } },
    { name: 'secureSocket with alpn', options: { secureSocket: { key: { cert, key }, alpn: ['h2'] } } },
    {
      name: 'a key that does not match its certificate',
      options: { secureSocket: { key: { cert, key: 'nope' } } },
    },
  ])('refuses $name at construction with X_ERR_HTTP_INVALID_OPTION', async ({ options }) => {
    const { Listener, isHttpError } = await import('../src/index.ts')
    let error: unknown
    try {
      new Listener({ port: 0, ...(options as object) })
    } catch (e) {
      error = e
    }
    expect(isHttpError(error, 'X_ERR_HTTP_INVALID_OPTION')).toBe(true)
  })
})

describe('raw sockets against the shared port', () => {
  it('keeps serving HTTP/1.1 keep-alive on a connection that began with a plain request', async () => {
    server = await serve({ resources: [hello] }, { httpVersion: '2' })
    const socket = netConnect(server.port, '127.0.0.1')
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      data += d
    })
    await new Promise<void>((r) => socket.once('connect', () => r()))
    socket.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n')
    await new Promise<void>((r) => socket.once('data', () => r()))
    socket.write('GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await new Promise<void>((r) => socket.once('close', () => r()))
    expect(data.match(/HTTP\/1.1 200 OK/g)).toHaveLength(2)
  })
})

describe('the HTTP/2 response adapter', () => {
  it('merges fields set with setHeader() before writeHead(), the head’s own winning', async () => {
    const { createServer } = await import('node:http2')
    const { Http2Request: Request, Http2Response: Response } = await import(
      '../src/listener/http2-adapter.ts'
    )
    const h2 = createServer()
    h2.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
        const res = new Response(stream, new Request(stream, headers, raw, stream.session!.socket as never))
        res.setHeader('X-Early', 'early')
        res.setHeader('x-both', 'early')
        res.setHeader('x-gone', 'gone')
        res.removeHeader('X-Gone')
        expect(res.getHeader('x-early')).toBe('early')
        expect(res.hasHeader('x-gone')).toBe(false)
        res.writeHead(200, { 'x-both': 'head' })
        expect(() => res.setHeader('x-late', 'late')).toThrow(TypeError)
        res.end('ok')
      },
    )
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()))
    try {
      const s = await session(`http://127.0.0.1:${(h2.address() as { port: number }).port}`)
      const res = await h2request(s, { ':path': '/' })
      expect(res.headers['x-early']).toBe('early')
      expect(res.headers['x-both']).toBe('head')
      expect(res.headers['x-gone']).toBeUndefined()
      expect(res.body).toBe('ok')
      await new Promise<void>((r) => s.close(() => r()))
    } finally {
      await new Promise<void>((r) => h2.close(() => r()))
    }
  })
})
