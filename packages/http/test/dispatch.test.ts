import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpResponse, resource } from '../src/index.ts'
import { raw, type Served, serve, statusOf } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

const hello = { methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }

describe('dispatch', () => {
  it('answers a GET resource with JSON and a Content-Length', async () => {
    server = await serve({ resources: [hello] })
    const res = await server.fetch('/hello')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.headers['content-length']).toBe('17')
    expect(res.json()).toEqual({ hello: 'world' })
  })

  it('answers 404 with a problem body when no resource matches', async () => {
    server = await serve({ resources: [hello] })
    const res = await server.fetch('/nope')
    expect(res.status).toBe(404)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.json()).toMatchObject({ status: 404, title: 'Not Found', code: 'X_ERR_HTTP_NOT_FOUND' })
  })

  it('answers 405 and lists GET, HEAD, OPTIONS and POST in Allow', async () => {
    server = await serve({
      resources: [hello, { methods: ['POST'], path: '/hello', handler: () => 'posted' }],
    })
    const res = await server.fetch('/hello', { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS, POST')
    expect(res.json().code).toBe('X_ERR_HTTP_METHOD_NOT_ALLOWED')
  })

  it('answers OPTIONS itself with 204 and Allow', async () => {
    server = await serve({ resources: [hello] })
    const res = await server.fetch('/hello', { method: 'OPTIONS' })
    expect(res.status).toBe(204)
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS')
    expect(res.text).toBe('')
  })

  it('lets a resource that declares OPTIONS answer it', async () => {
    server = await serve({
      resources: [hello, { methods: ['OPTIONS'], path: '/hello', handler: () => 'mine' }],
    })
    const res = await server.fetch('/hello', { method: 'OPTIONS' })
    expect(res.status).toBe(200)
    expect(res.text).toBe('mine')
  })

  it('answers OPTIONS * with every method of the Listener', async () => {
    server = await serve({ resources: [hello, { methods: ['PUT'], path: '/x', handler: () => 'x' }] })
    const res = await raw(server.port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(statusOf(res)).toBe(204)
    expect(res).toMatch(/allow: GET, HEAD, OPTIONS, PUT\r\n/i)
  })

  it('answers HEAD from the GET resource with the GET headers and no body', async () => {
    let calls = 0
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/hello',
          handler: () => {
            calls++
            return { hello: 'world' }
          },
        },
      ],
    })
    const res = await raw(server.port, 'HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(statusOf(res)).toBe(200)
    expect(res).toMatch(/content-length: 17\r\n/i)
    expect(res.endsWith('\r\n\r\n')).toBe(true)
    expect(calls).toBe(1)
  })

  it('drops a streamed body for HEAD without reading the stream', async () => {
    let read = false
    const body = new Readable({
      read() {
        read = true
        this.push(null)
      },
    })
    server = await serve({ resources: [{ methods: ['GET'], path: '/s', handler: () => body }] })
    const res = await raw(server.port, 'HEAD /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(statusOf(res)).toBe(200)
    expect(res.endsWith('\r\n\r\n')).toBe(true)
    expect(read).toBe(false)
    expect(body.destroyed).toBe(true)
  })

  it.each([
    { name: 'GET returning a value', method: 'GET', value: { a: 1 }, status: 200 },
    { name: 'POST returning a value', method: 'POST', value: { a: 1 }, status: 201 },
    { name: 'PUT returning a value', method: 'PUT', value: 'ok', status: 200 },
    { name: 'GET returning nothing', method: 'GET', value: undefined, status: 202 },
    { name: 'POST returning nothing', method: 'POST', value: undefined, status: 202 },
    { name: 'DELETE returning null', method: 'DELETE', value: null, status: 202 },
  ])('defaults the status like Ballerina: $name → $status', async ({ method, value, status }) => {
    server = await serve({ resources: [{ path: '/r', handler: () => value }] })
    const res = await server.fetch('/r', { method })
    expect(res.status).toBe(status)
  })

  it.each([
    { name: 'an object', value: { a: [1] }, type: 'application/json', body: '{"a":[1]}' },
    { name: 'an array', value: [1, 2], type: 'application/json', body: '[1,2]' },
    { name: 'a number', value: 42, type: 'application/json', body: '42' },
    { name: 'a boolean', value: false, type: 'application/json', body: 'false' },
    { name: 'a string', value: 'héllo', type: 'text/plain; charset=utf-8', body: 'héllo' },
    { name: 'a Buffer', value: Buffer.from('bin'), type: 'application/octet-stream', body: 'bin' },
    { name: 'a Uint8Array', value: new Uint8Array([104, 105]), type: 'application/octet-stream', body: 'hi' },
    {
      name: 'an object without prototype',
      value: Object.assign(Object.create(null), { k: 1 }),
      type: 'application/json',
      body: '{"k":1}',
    },
  ])('serialises $name', async ({ value, type, body }) => {
    server = await serve({ resources: [{ methods: ['GET'], path: '/v', handler: () => value }] })
    const res = await server.fetch('/v')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(type)
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(body)))
    expect(res.text).toBe(body)
  })

  it.each([
    { name: 'a Readable', make: () => Readable.from(['a', 'b', 'c']) },
    {
      name: 'an async iterable',
      make: () =>
        (async function* () {
          yield 'a'
          yield Buffer.from('b')
          yield 'c'
        })(),
    },
    {
      name: 'a web ReadableStream',
      make: () =>
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('abc'))
            c.close()
          },
        }),
    },
  ])('streams $name chunked', async ({ make }) => {
    server = await serve({ resources: [{ methods: ['GET'], path: '/s', handler: () => make() }] })
    const res = await server.fetch('/s')
    expect(res.status).toBe(200)
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.text).toBe('abc')
  })

  it('sends an HttpResponse as given', async () => {
    server = await serve({
      resources: [
        {
          methods: ['POST'],
          path: '/r',
          handler: () =>
            new HttpResponse({ status: 200, headers: { Location: '/r/1', 'X-Id': 1 }, body: { id: 1 } }),
        },
      ],
    })
    const res = await server.fetch('/r', { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.headers.location).toBe('/r/1')
    expect(res.headers['x-id']).toBe('1')
    expect(res.json()).toEqual({ id: 1 })
  })

  it('sends a fetch Response with its status, headers, cookies and body', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/r',
          handler: () => {
            const headers = new Headers({ 'content-type': 'text/csv' })
            headers.append('set-cookie', 'a=1')
            headers.append('set-cookie', 'b=2')
            return new Response('x,y', { status: 203, headers })
          },
        },
      ],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(203)
    expect(res.headers['content-type']).toBe('text/csv')
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(res.text).toBe('x,y')
  })

  it('sends 204 from an HttpResponse without a body or Content-Length', async () => {
    server = await serve({
      resources: [{ path: '/r', handler: () => new HttpResponse({ status: 204, body: 'ignored' }) }],
    })
    const res = await raw(server.port, 'GET /r HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(statusOf(res)).toBe(204)
    expect(res).not.toMatch(/content-length/i)
    expect(res.endsWith('\r\n\r\n')).toBe(true)
  })

  it('selects the service with the longest matching base path', async () => {
    server = await serve([
      { basePath: '/', resources: [{ path: '/api/users/{id}', handler: () => 'root' }] },
      { basePath: '/api', resources: [{ path: '/{...rest}', handler: () => 'api' }] },
      { basePath: '/api/users', resources: [{ path: '/{id}', handler: () => 'users' }] },
    ])
    expect((await server.fetch('/api/users/7')).text).toBe('users')
    expect((await server.fetch('/api/orders/7')).text).toBe('api')
    expect((await server.fetch('/apix')).status).toBe(404)
    expect((await server.fetch('/api')).text).toBe('api')
  })

  it('does not fall back to a shorter base path when the longest one has no matching resource', async () => {
    server = await serve([
      { basePath: '/', resources: [{ path: '/api/x', handler: () => 'root' }] },
      { basePath: '/api', resources: [{ path: '/y', handler: () => 'api' }] },
    ])
    expect((await server.fetch('/api/x')).status).toBe(404)
  })

  it('selects a service by Host header, ignoring the port and case', async () => {
    server = await serve([
      { basePath: '/', host: 'a.example', resources: [{ path: '/', handler: () => 'a' }] },
      { basePath: '/', resources: [{ path: '/', handler: () => 'default' }] },
    ])
    expect((await server.fetch('/', { headers: { host: 'A.Example:8080' } })).text).toBe('a')
    expect((await server.fetch('/', { headers: { host: 'b.example' } })).text).toBe('default')
  })

  it('matches a percent-encoded base path', async () => {
    server = await serve({
      basePath: '/hello',
      resources: [{ path: '/{name}', handler: (ctx) => ctx.params.name }],
    })
    expect((await server.fetch('/h%65llo/J%C3%BCrgen')).text).toBe('Jürgen')
  })

  it('folds case in base paths and static segments when caseSensitive is false', async () => {
    server = await serve(
      { basePath: '/Hello', resources: [{ path: '/World', handler: () => 'hi' }] },
      { caseSensitive: false },
    )
    expect((await server.fetch('/hello/world')).text).toBe('hi')
  })

  it('routes an absolute-form request target by its path', async () => {
    server = await serve({ resources: [hello] })
    const res = await raw(
      server.port,
      'GET http://a.example/hello?x=1 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
    )
    expect(statusOf(res)).toBe(200)
    expect(res.endsWith('{"hello":"world"}')).toBe(true)
  })

  it('gives handlers the path, query and template of the request', async () => {
    server = await serve({
      basePath: '/api',
      resources: [
        resource({
          methods: ['GET'],
          path: '/items/{id}',
          handler: (ctx) => ({
            path: ctx.path,
            url: ctx.url,
            template: ctx.template,
            query: ctx.query,
            id: ctx.params.id,
          }),
        }),
      ],
    })
    const res = await server.fetch('/api/items/a%20b?x=1&x=2&y=%C3%A9&z')
    expect(res.json()).toEqual({
      path: '/api/items/a%20b',
      url: '/api/items/a%20b?x=1&x=2&y=%C3%A9&z',
      template: '/api/items/{id}',
      query: { x: ['1', '2'], y: 'é', z: '' },
      id: 'a b',
    })
  })

  it('answers through ctx.caller.respond and resolves it once sent', async () => {
    let outcome: unknown
    server = await serve({
      resources: [
        {
          methods: ['POST'],
          path: '/c',
          handler: async (ctx) => {
            outcome = await ctx.caller.respond({ via: 'caller' }, 200)
          },
        },
      ],
    })
    const res = await server.fetch('/c', { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({ via: 'caller' })
    await expect.poll(() => outcome).toBe('sent')
  })

  it('rejects a second response through the caller with X_ERR_HTTP_ALREADY_RESPONDED', async () => {
    let code: unknown
    server = await serve({
      resources: [
        {
          path: '/c',
          handler: (ctx) => {
            void ctx.caller.respond('first')
            try {
              void ctx.caller.respond('second')
            } catch (e) {
              code = (e as { code: string }).code
            }
          },
        },
      ],
    })
    const res = await server.fetch('/c')
    expect(res.text).toBe('first')
    expect(code).toBe('X_ERR_HTTP_ALREADY_RESPONDED')
  })

  it('aborts ctx.signal when the client goes away', async () => {
    let aborted!: () => void
    const wasAborted = new Promise<void>((r) => {
      aborted = r
    })
    let entered!: () => void
    const inHandler = new Promise<void>((r) => {
      entered = r
    })
    server = await serve({
      resources: [
        {
          path: '/slow',
          handler: (ctx) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted()
                resolve('late')
              })
              entered()
            }),
        },
      ],
    })
    const { connect } = await import('node:net')
    const socket = connect(server.port, '127.0.0.1', () =>
      socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n'),
    )
    await inHandler
    socket.destroy()
    await wasAborted
    await server.drained()
  })

  it('serves several services and several Listeners in one process', async () => {
    server = await serve([
      { basePath: '/a', resources: [{ path: '/', handler: () => 'a' }] },
      { basePath: '/b', resources: [{ path: '/', handler: () => 'b' }] },
    ])
    const other = await serve({ basePath: '/a', resources: [{ path: '/', handler: () => 'other a' }] })
    try {
      expect((await server.fetch('/a')).text).toBe('a')
      expect((await server.fetch('/b')).text).toBe('b')
      expect((await other.fetch('/a')).text).toBe('other a')
    } finally {
      await other.close()
    }
  })

  it('serves a service attached after start, and stops serving a detached one', async () => {
    server = await serve([])
    const svc = { basePath: '/late', resources: [{ path: '/', handler: () => 'late' }] }
    expect((await server.fetch('/late')).status).toBe(404)
    server.listener.attach(svc)
    expect((await server.fetch('/late')).text).toBe('late')
    expect(server.listener.detach(svc)).toBe(true)
    expect((await server.fetch('/late')).status).toBe(404)
  })
})
