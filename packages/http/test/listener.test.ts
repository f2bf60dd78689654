import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer } from 'node:net'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpError, HttpResponse, isHttpError, Listener, type ListenerOptions } from '../src/index.ts'
import { memoryLogger, raw, type Served, serve, statusOf } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

describe('Listener options', () => {
  it.each([
    { name: 'no options', options: undefined },
    { name: 'no port', options: {} },
    { name: 'a negative port', options: { port: -1 } },
    { name: 'a fractional port', options: { port: 1.5 } },
    { name: 'a port above 65535', options: { port: 70000 } },
    { name: 'an empty host', options: { port: 0, host: '' } },
    { name: 'an unknown option', options: { port: 0, keepAliveTimout: 5 } },
    { name: 'a zero headersTimeout', options: { port: 0, headersTimeout: 0 } },
    {
      name: 'headersTimeout above requestTimeout',
      options: { port: 0, headersTimeout: 10, requestTimeout: 5 },
    },
    { name: 'a string maxBodySize', options: { port: 0, maxBodySize: '1mb' } },
    { name: 'a tiny maxHeaderSize', options: { port: 0, maxHeaderSize: 10 } },
    { name: 'an unknown keepAlive policy', options: { port: 0, keepAlive: 'SOMETIMES' } },
    { name: 'an unknown chunking policy', options: { port: 0, chunking: 'auto' } },
    { name: 'a non-boolean caseSensitive', options: { port: 0, caseSensitive: 'yes' } },
    { name: 'a logger without warn', options: { port: 0, logger: { error() {} } } },
  ])('rejects $name with X_ERR_HTTP_INVALID_OPTION', ({ options }) => {
    expect(() => new Listener(options as unknown as ListenerOptions)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })

  it.each([
    { name: 'a service that is not an object', service: 'x' },
    { name: 'no resources', service: {} },
    { name: 'a relative basePath', service: { basePath: 'api', resources: [] } },
    { name: 'a basePath with a parameter', service: { basePath: '/{x}', resources: [] } },
    { name: 'a host with a port', service: { host: 'a:80', resources: [] } },
    { name: 'a resource without handler', service: { resources: [{ path: '/' }] } },
    { name: 'a relative resource path', service: { resources: [{ path: 'x', handler() {} }] } },
    { name: 'a malformed template', service: { resources: [{ path: '/{x', handler() {} }] } },
    { name: 'a bad method', service: { resources: [{ path: '/', methods: ['GE T'], handler() {} }] } },
    {
      name: 'methods that is not an array',
      service: { resources: [{ path: '/', methods: 'GET', handler() {} }] },
    },
    {
      name: 'two resources on one route',
      service: {
        resources: [
          { path: '/a', handler() {} },
          { path: '/a', handler() {} },
        ],
      },
    },
    {
      name: 'a type for an unknown path parameter',
      service: { resources: [{ path: '/{id}', params: { di: 'integer' }, handler() {} }] },
    },
    {
      name: 'an unknown parameter type',
      service: { resources: [{ path: '/{id}', params: { id: 'int' }, handler() {} }] },
    },
    {
      name: 'an array path parameter',
      service: { resources: [{ path: '/{id}', params: { id: 'integer[]' }, handler() {} }] },
    },
    {
      name: 'a typed rest parameter',
      service: { resources: [{ path: '/{...r}', params: { r: 'integer' }, handler() {} }] },
    },
    {
      name: 'an upper-case header declaration',
      service: { resources: [{ path: '/', headers: { 'X-A': 'string' }, handler() {} }] },
    },
    { name: 'an unknown body kind', service: { resources: [{ path: '/', body: 'xml', handler() {} }] } },
    {
      name: 'a negative body maxSize',
      service: { resources: [{ path: '/', body: { type: 'json', maxSize: -1 }, handler() {} }] },
    },
    {
      name: 'a body schema that is not a Standard Schema',
      service: { resources: [{ path: '/', body: { type: 'json', schema: {} }, handler() {} }] },
    },
    {
      name: 'a malformed consumes',
      service: { resources: [{ path: '/', consumes: ['json'], handler() {} }] },
    },
    {
      name: 'a wildcard in produces',
      service: { resources: [{ path: '/', produces: ['text/*'], handler() {} }] },
    },
    {
      name: 'an unknown chunking policy',
      service: { resources: [{ path: '/', chunking: 'MAYBE', handler() {} }] },
    },
  ])('rejects $name at attach with a coded error', ({ service }) => {
    const listener = new Listener({ port: 0 })
    let error: unknown
    try {
      listener.attach(service as object)
    } catch (e) {
      error = e
    }
    expect(isHttpError(error)).toBe(true)
    expect(['X_ERR_HTTP_INVALID_SERVICE', 'X_ERR_HTTP_INVALID_OPTION']).toContain((error as HttpError).code)
  })

  it('rejects two services with the same basePath with X_ERR_HTTP_DUPLICATE_BASE_PATH', () => {
    const listener = new Listener({ port: 0 })
    listener.attach({ basePath: '/api/', resources: [] })
    expect(() => listener.attach({ basePath: '/api', resources: [] })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_DUPLICATE_BASE_PATH' }),
    )
    // The same base path on another host is a different service.
    expect(() => listener.attach({ basePath: '/api', host: 'a.example', resources: [] })).not.toThrow()
  })

  it('rejects attaching the same service object twice', () => {
    const listener = new Listener({ port: 0 })
    const svc = { resources: [] }
    listener.attach(svc)
    expect(() => listener.attach(svc)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }),
    )
  })
})

describe('Listener lifecycle', () => {
  it('reports the port the OS picked, and the configured one before start', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1' })
    expect(listener.port).toBe(0)
    await listener.start()
    expect(listener.port).toBeGreaterThan(0)
    await listener.gracefulStop()
  })

  it('rejects a second start() with X_ERR_HTTP_LISTENER_STATE', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1' })
    await listener.start()
    await expect(listener.start()).rejects.toMatchObject({ code: 'X_ERR_HTTP_LISTENER_STATE' })
    await listener.immediateStop()
    expect(() => listener.attach({ resources: [] })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_LISTENER_STATE' }),
    )
  })

  it('rejects start() on a port in use with X_ERR_HTTP_LISTEN_FAILED and the cause', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    const listener = new Listener({ port, host: '127.0.0.1' })
    const error = await listener.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'X_ERR_HTTP_LISTEN_FAILED', cause: { code: 'EADDRINUSE' } })
    await new Promise<void>((r) => blocker.close(() => r()))
  })

  it('resolves a stop of a Listener that never started', async () => {
    await expect(new Listener({ port: 0 }).gracefulStop()).resolves.toBeUndefined()
  })

  it('rejects a bad gracefulStop timeout with X_ERR_HTTP_INVALID_OPTION', async () => {
    const listener = new Listener({ port: 0 })
    expect(() => listener.gracefulStop({ timeout: -5 })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })

  it('publishes start and stop on diagnostics channels', async () => {
    const events: string[] = []
    const onStart = () => events.push('start')
    const onStop = (m: unknown) => events.push(`stop forced=${(m as { forced: number }).forced}`)
    subscribe('x:http:listener-start', onStart)
    subscribe('x:http:listener-stop', onStop)
    try {
      const listener = new Listener({ port: 0, host: '127.0.0.1' })
      await listener.start()
      await listener.gracefulStop()
    } finally {
      unsubscribe('x:http:listener-start', onStart)
      unsubscribe('x:http:listener-stop', onStop)
    }
    expect(events).toEqual(['start', 'stop forced=0'])
  })
})

describe('errors', () => {
  it('turns a thrown HttpError into a problem with its status, detail and headers', async () => {
    server = await serve({
      resources: [
        {
          path: '/e',
          handler: () => {
            throw new HttpError(429, 'slow down', {
              headers: { 'Retry-After': 3 },
              extensions: { limit: 10, status: 1 },
            })
          },
        },
      ],
    })
    const res = await server.fetch('/e')
    expect(res.status).toBe(429)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(res.headers['retry-after']).toBe('3')
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'slow down',
      code: 'X_ERR_HTTP_STATUS',
      limit: 10,
    })
    expect(server.logger.errors).toHaveLength(0)
  })

  it.each([
    {
      name: 'a thrown Error',
      handler: () => {
        throw new Error('db password is hunter2')
      },
    },
    { name: 'a rejected promise', handler: () => Promise.reject(new TypeError('internal detail')) },
    {
      name: 'a thrown string',
      handler: () => {
        throw 'internal detail'
      },
    },
    {
      name: 'an HttpError with a non-error status',
      handler: () => {
        throw new HttpError(200, 'internal detail')
      },
    },
    { name: 'a body that cannot be serialised', handler: () => ({ n: 10n }) },
    { name: 'a function as body', handler: () => () => 'internal detail' },
  ])('answers 500 for $name, leaking nothing, and logs it', async ({ handler }) => {
    server = await serve({ resources: [{ path: '/e', handler }] })
    const res = await server.fetch('/e')
    expect(res.status).toBe(500)
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      code: 'X_ERR_HTTP_INTERNAL',
    })
    expect(res.text).not.toMatch(/hunter2|internal detail|at /)
    expect(server.logger.errors).toHaveLength(1)
  })

  it('publishes 500s on x:http:listener-error', async () => {
    const seen: unknown[] = []
    const onError = (m: unknown) => seen.push((m as { error: unknown }).error)
    subscribe('x:http:listener-error', onError)
    try {
      server = await serve({
        resources: [
          {
            path: '/e',
            handler: () => {
              throw new Error('x')
            },
          },
        ],
      })
      await server.fetch('/e')
    } finally {
      unsubscribe('x:http:listener-error', onError)
    }
    expect(seen).toHaveLength(1)
  })

  it('ends the connection when a handler fails after the response started', async () => {
    server = await serve({
      resources: [
        { path: '/ok', handler: () => 'ok' },
        {
          path: '/s',
          handler: () =>
            Readable.from(
              (async function* () {
                yield 'partial'
                throw new Error('broke midway')
              })(),
            ),
        },
      ],
    })
    const res = await raw(server.port, 'GET /s HTTP/1.1\r\nHost: a\r\n\r\n')
    expect(statusOf(res)).toBe(200)
    expect(res).toContain('partial')
    // The chunked body never gets its terminating chunk: the client can tell it is truncated.
    expect(res.endsWith('0\r\n\r\n')).toBe(false)
    expect(server.logger.errors).toHaveLength(1)
    expect((await server.fetch('/ok')).text).toBe('ok')
  })

  it('logs, without answering twice, an error thrown after the caller responded', async () => {
    server = await serve({
      resources: [
        {
          path: '/c',
          handler: async (ctx) => {
            await ctx.caller.respond('done')
            throw new Error('after')
          },
        },
      ],
    })
    const res = await server.fetch('/c')
    expect(res.text).toBe('done')
    await expect.poll(() => server.logger.errors.length).toBe(1)
  })

  it('warns when a handler returns a value after it responded through the caller', async () => {
    server = await serve({
      resources: [
        {
          path: '/c',
          handler: (ctx) => {
            void ctx.caller.respond('first')
            return 'second'
          },
        },
      ],
    })
    expect((await server.fetch('/c')).text).toBe('first')
    expect(server.logger.warnings).toHaveLength(1)
  })

  it('survives a logger that throws, in sync and async handlers', async () => {
    const logger = {
      error() {
        throw new Error('logger down')
      },
      warn() {
        throw new Error('logger down')
      },
    }
    server = await serve(
      {
        resources: [
          {
            path: '/sync',
            handler: () => {
              throw new Error('x')
            },
          },
          {
            path: '/async',
            handler: async () => {
              throw new Error('x')
            },
          },
          { path: '/ok', handler: () => 'ok' },
        ],
      },
      { logger },
    )
    for (const path of ['/sync', '/async']) expect((await server.fetch(path)).status).toBe(500)
    expect((await server.fetch('/ok')).text).toBe('ok')
  })

  it('brands HttpError so isHttpError holds across copies and checks the code', () => {
    const e = new HttpError(404, 'x')
    expect(isHttpError(e)).toBe(true)
    expect(isHttpError(e, 'X_ERR_HTTP_STATUS')).toBe(true)
    expect(isHttpError(e, 'X_ERR_HTTP_NOT_FOUND')).toBe(false)
    const foreign = { [Symbol.for('x.error.http')]: true, code: 'X_ERR_HTTP_STATUS' }
    expect(foreign instanceof HttpError).toBe(true)
    expect(isHttpError(new Error('x'))).toBe(false)
  })

  it('rejects an HttpResponse with a status outside 200–599', () => {
    expect(() => new HttpResponse({ status: 99 })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })

  it('defaults to a logger that writes to the console', () => {
    const logger = memoryLogger()
    expect(() => new Listener({ port: 0, logger })).not.toThrow()
  })
})
