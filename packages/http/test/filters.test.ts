import { afterEach, describe, expect, it } from 'vitest'
import { type Filter, HttpError, HttpResponse } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

/** A filter that records what it sees in `log`. */
function tracer(name: string, log: string[], extra: Partial<Filter> = {}): Filter {
  return {
    name,
    request(ctx) {
      log.push(`${name}:in`)
      return ctx.next()
    },
    response(_ctx, res) {
      log.push(`${name}:out`)
      res.headers[`x-${name}`] = 'seen'
    },
    ...extra,
  }
}

describe('filters', () => {
  it('runs Listener filters, then service filters, then the resource, and response filters in reverse', async () => {
    const log: string[] = []
    server = await serve(
      {
        filters: [tracer('s1', log)],
        resources: [
          {
            path: '/r',
            handler: () => {
              log.push('resource')
              return 'ok'
            },
          },
        ],
      },
      { filters: [tracer('l1', log), tracer('l2', log)] },
    )
    const res = await server.fetch('/r')
    expect(res.text).toBe('ok')
    expect(log).toEqual(['l1:in', 'l2:in', 's1:in', 'resource', 's1:out', 'l2:out', 'l1:out'])
    expect(res.headers['x-l1']).toBe('seen')
  })

  it('lets a filter answer itself; only the filters the request passed see the response', async () => {
    const log: string[] = []
    const auth: Filter = {
      request(ctx) {
        log.push('auth:in')
        if (ctx.headers.authorization !== 'Bearer good') {
          throw new HttpError(401, 'missing or bad token', { headers: { 'www-authenticate': 'Bearer' } })
        }
        return ctx.next()
      },
      response() {
        log.push('auth:out')
      },
    }
    server = await serve(
      {
        filters: [auth, tracer('after', log)],
        resources: [
          {
            path: '/r',
            handler: () => {
              log.push('resource')
              return 'ok'
            },
          },
        ],
      },
      { filters: [tracer('first', log)] },
    )
    const res = await server.fetch('/r')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    expect(res.json().code).toBe('X_ERR_HTTP_STATUS')
    expect(log).toEqual(['first:in', 'auth:in', 'first:out'])
    log.length = 0
    const ok = await server.fetch('/r', { headers: { authorization: 'Bearer good' } })
    expect(ok.status).toBe(200)
    expect(log).toEqual(['first:in', 'auth:in', 'after:in', 'resource', 'after:out', 'auth:out', 'first:out'])
  })

  it('answers with the value a request filter returns', async () => {
    server = await serve({
      filters: [{ request: () => new HttpResponse({ status: 403, body: { denied: true } }) }],
      resources: [{ path: '/r', handler: () => 'unreached' }],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(403)
    expect(res.json()).toEqual({ denied: true })
  })

  it('lets a filter answer through ctx.caller', async () => {
    server = await serve({
      filters: [{ request: (ctx) => void ctx.caller.respond('from filter', 200) }],
      resources: [{ path: '/r', handler: () => 'unreached' }],
    })
    expect((await server.fetch('/r')).text).toBe('from filter')
  })

  it('shares values through ctx.state and lets filters change the request', async () => {
    server = await serve(
      {
        resources: [{ path: '/r', handler: (ctx) => ({ user: ctx.state.user, tag: ctx.headers['x-tag'] }) }],
      },
      {
        filters: [
          {
            async request(ctx) {
              await Promise.resolve()
              ctx.state.user = 'ada'
              ctx.headers['x-tag'] = 'added'
            },
          },
        ],
      },
    )
    expect((await server.fetch('/r')).json()).toEqual({ user: 'ada', tag: 'added' })
  })

  it('runs filters when no resource matches, and for 405', async () => {
    const log: string[] = []
    server = await serve(
      {
        basePath: '/api',
        filters: [tracer('svc', log)],
        resources: [{ methods: ['GET'], path: '/r', handler: () => 'ok' }],
      },
      { filters: [tracer('l', log)] },
    )
    const missing = await server.fetch('/nothing-here')
    expect(missing.status).toBe(404)
    expect(missing.headers['x-l']).toBe('seen')
    expect(log).toEqual(['l:in', 'l:out'])
    log.length = 0
    const notAllowed = await server.fetch('/api/r', { method: 'PUT' })
    expect(notAllowed.status).toBe(405)
    expect(log).toEqual(['l:in', 'svc:in', 'svc:out', 'l:out'])
  })

  it('sends an error thrown in a filter to the nearest error filter downstream', async () => {
    const log: string[] = []
    server = await serve({
      filters: [
        {
          error: () => {
            log.push('upstream error filter')
            return 'wrong one'
          },
        },
        {
          request: () => {
            throw new Error('boom')
          },
        },
        tracer('skipped', log),
        {
          error(_ctx, e) {
            log.push(`handled ${(e as Error).message}`)
            return new HttpResponse({ status: 503, body: 'handled' })
          },
        },
      ],
      resources: [{ path: '/r', handler: () => 'unreached' }],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(503)
    expect(res.text).toBe('handled')
    expect(log).toEqual(['handled boom'])
    expect(server.logger.errors).toHaveLength(0)
  })

  it('passes an error on when an error filter returns nothing, to the default handler', async () => {
    const seen: unknown[] = []
    server = await serve({
      filters: [
        {
          request: () => {
            throw new Error('boom')
          },
        },
        { error: (_ctx, e) => void seen.push(e) },
      ],
      resources: [{ path: '/r', handler: () => 'unreached' }],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(500)
    expect(seen).toHaveLength(1)
    expect(server.logger.errors).toHaveLength(1)
  })

  it('sends a resource error out through the error filters of the filters it passed', async () => {
    server = await serve({
      filters: [
        {
          async error(_ctx, e) {
            return (e as HttpError).status === 409
              ? new HttpResponse({ status: 409, body: { mapped: true } })
              : undefined
          },
        },
        {
          error: (_ctx, e) => {
            throw e
          },
        },
      ],
      resources: [
        {
          path: '/r',
          handler: () => {
            throw new HttpError(409, 'conflict')
          },
        },
      ],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(409)
    expect(res.json()).toEqual({ mapped: true })
  })

  it('answers an error thrown in a response filter, through the filters outside it', async () => {
    const log: string[] = []
    server = await serve({
      filters: [
        tracer('outer', log),
        {
          response: () => {
            throw new HttpError(502, 'bad response')
          },
        },
      ],
      resources: [{ path: '/r', handler: () => 'ok' }],
    })
    const res = await server.fetch('/r')
    expect(res.status).toBe(502)
    expect(res.headers['x-outer']).toBe('seen')
    expect(log).toEqual(['outer:in', 'outer:out'])
  })

  it('lets a response filter change status, headers and body, also of error responses', async () => {
    server = await serve(
      { resources: [{ path: '/r', handler: () => ({ a: 1 }) }] },
      {
        filters: [
          {
            async response(_ctx, res) {
              res.headers['x-request-id'] = 'r1'
              if (res.status === 200) res.body = { wrapped: res.body }
            },
          },
        ],
      },
    )
    const ok = await server.fetch('/r')
    expect(ok.json()).toEqual({ wrapped: { a: 1 } })
    expect(ok.headers['x-request-id']).toBe('r1')
    const missing = await server.fetch('/x')
    expect(missing.status).toBe(404)
    expect(missing.headers['x-request-id']).toBe('r1')
  })

  it.each([
    { name: 'not an array', filters: {} },
    { name: 'a filter without hooks', filters: [{ name: 'x' }] },
    { name: 'a hook that is not a function', filters: [{ request: 1 }] },
  ])('rejects $name with X_ERR_HTTP_INVALID_OPTION', async ({ filters }) => {
    const { Listener } = await import('../src/index.ts')
    expect(() => new Listener({ port: 0, filters: filters as never })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })
})
