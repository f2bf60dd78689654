// CORS as the Fetch standard's CORS protocol asks for, checked header by header with undici:
// configuration errors at attach, preflights answered before filters and resources, refused
// requests without any CORS header, Vary: Origin, credentials, exposed headers, 304s.
import { afterEach, describe, expect, it } from 'vitest'
import { type Filter, HttpError, HttpResponse, Listener, type Service } from '../src/index.ts'
import { raw, type Served, serve, statusOf } from './helpers/serve.ts'

let server: Served | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const APP = 'http://app.example'
const OTHER = 'http://evil.example'

function corsHeaders(headers: Record<string, string | string[] | undefined>) {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('access-control-')))
}

function preflight(method: string, origin = APP, requestHeaders?: string) {
  const headers: Record<string, string> = { origin, 'access-control-request-method': method }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return { method: 'OPTIONS', headers }
}

describe('CORS configuration', () => {
  it.each([
    { name: 'cors without allowOrigins', cors: {} },
    { name: 'an empty allowOrigins list', cors: { allowOrigins: [] } },
    { name: "'*' with allowCredentials", cors: { allowOrigins: '*', allowCredentials: true } },
    { name: "['*'] with allowCredentials", cors: { allowOrigins: ['*'], allowCredentials: true } },
    { name: 'an origin with a path', cors: { allowOrigins: ['http://a.example/x'] } },
    { name: 'an origin with the default port spelled out', cors: { allowOrigins: ['http://a.example:80'] } },
    { name: 'a bare host name', cors: { allowOrigins: ['a.example'] } },
    { name: 'a non-string origin', cors: { allowOrigins: [42] } },
    { name: 'allowOrigins as a number', cors: { allowOrigins: 1 } },
    { name: 'a non-boolean allowCredentials', cors: { allowOrigins: [APP], allowCredentials: 'yes' } },
    { name: 'a header name with a space', cors: { allowOrigins: [APP], allowHeaders: ['x a'] } },
    { name: 'a method with a space', cors: { allowOrigins: [APP], allowMethods: ['GE T'] } },
    {
      name: "exposeHeaders '*' with credentials",
      cors: { allowOrigins: [APP], allowCredentials: true, exposeHeaders: '*' },
    },
    { name: 'a negative maxAge', cors: { allowOrigins: [APP], maxAge: -1 } },
    { name: 'a fractional maxAge', cors: { allowOrigins: [APP], maxAge: 1.5 } },
    { name: 'an unknown option', cors: { allowOrigins: [APP], allowOrigin: [APP] } },
    { name: 'cors as an array', cors: [APP] },
  ])('refuses $name at attach with X_ERR_HTTP_INVALID_SERVICE', ({ cors }) => {
    const listener = new Listener({ port: 0 })
    const service = { cors, resources: [{ methods: ['GET'], path: '/', handler: () => 'x' }] }
    expect(() => listener.attach(service as unknown as Service)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }),
    )
    const onResource = { resources: [{ methods: ['GET'], path: '/', cors, handler: () => 'x' }] }
    expect(() => listener.attach(onResource as unknown as Service)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }),
    )
  })

  it('refuses a resource whose merged settings pair credentials with any origin', () => {
    const listener = new Listener({ port: 0 })
    const service: Service = {
      cors: { allowOrigins: '*' },
      resources: [{ path: '/', cors: { allowCredentials: true }, handler: () => 'x' }],
    }
    expect(() => listener.attach(service)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }),
    )
  })
})

describe('preflight', () => {
  const calls: string[] = []
  const auth: Filter = {
    request(ctx) {
      calls.push(`filter ${ctx.method}`)
      if (ctx.headers.authorization !== 'Bearer t') throw new HttpError(401, 'no token')
    },
  }
  const service: Service = {
    basePath: '/api',
    filters: [auth],
    cors: {
      allowOrigins: [APP],
      allowCredentials: true,
      allowHeaders: ['content-type', 'x-trace'],
      exposeHeaders: ['x-total', 'etag'],
      maxAge: 600,
    },
    resources: [
      {
        methods: ['GET', 'PUT', 'DELETE'],
        path: '/items/{id}',
        handler: (ctx) => {
          calls.push(`resource ${ctx.method}`)
          return new HttpResponse({ headers: { 'x-total': '1' }, body: { id: ctx.params.id } })
        },
      },
      {
        methods: ['OPTIONS'],
        path: '/custom',
        handler: () => {
          calls.push('resource OPTIONS')
          return 'custom options'
        },
      },
      {
        methods: ['GET'],
        path: '/public',
        cors: { allowOrigins: '*', allowCredentials: false },
        handler: () => 'p',
      },
      { methods: ['GET'], path: '/closed', cors: false, handler: () => 'c' },
      {
        methods: ['POST'],
        path: '/any',
        cors: { allowMethods: '*', allowHeaders: '*' },
        handler: () => 'a',
      },
    ],
  }

  afterEach(() => {
    calls.length = 0
  })

  it('answers an allowed preflight with 204 and exactly the CORS headers, without running filters or the resource', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/items/7', preflight('PUT', APP, 'content-type,x-trace'))
    expect(res.status).toBe(204)
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'content-type, x-trace',
      'access-control-max-age': '600',
    })
    expect(res.headers.vary).toBe('Origin')
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.text).toBe('')
    expect(calls).toEqual([])
  })

  it.each([
    { name: 'an origin not in the list', init: preflight('PUT', OTHER) },
    { name: 'the origin with another scheme', init: preflight('PUT', 'https://app.example') },
    { name: 'the origin with a port', init: preflight('PUT', 'http://app.example:8080') },
    { name: 'the opaque origin null', init: preflight('PUT', 'null') },
    { name: 'a method the route does not answer', init: preflight('PATCH') },
    { name: 'a method spelled in lower case', init: preflight('put') },
    { name: 'a header not allowed', init: preflight('PUT', APP, 'content-type, x-secret') },
    { name: 'a malformed header list', init: preflight('PUT', APP, 'content-type, x(y)') },
    {
      name: '200 requested headers',
      init: preflight('PUT', APP, Array.from({ length: 200 }, (_, i) => `x-h${i}`).join(',')),
    },
  ])('refuses $name with 403 and no CORS header at all', async ({ init }) => {
    server = await serve(service)
    const res = await server.fetch('/api/items/7', init)
    expect(res.status).toBe(403)
    expect(corsHeaders(res.headers)).toEqual({})
    expect(res.headers.vary).toBe('Origin')
    expect(res.json()).toMatchObject({ status: 403, code: 'X_ERR_HTTP_CORS_REJECTED' })
    expect(calls).toEqual([])
  })

  it('answers a preflight with 200 requested headers under allowHeaders "*" by refusing it, and one with 100 by echoing them', async () => {
    server = await serve(service)
    const hundred = Array.from({ length: 100 }, (_, i) => `x-h${i}`).join(',')
    const ok = await server.fetch('/api/any', preflight('POST', APP, hundred))
    expect(ok.status).toBe(204)
    expect(String(ok.headers['access-control-allow-headers']).split(', ')).toHaveLength(100)
    const tooMany = Array.from({ length: 200 }, (_, i) => `x-h${i}`).join(',')
    const refused = await server.fetch('/api/any', preflight('POST', APP, tooMany))
    expect(refused.status).toBe(403)
  })

  it('echoes the requested method and headers under "*" (so they also hold with credentials)', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/any', preflight('POST', APP, 'authorization, x-anything'))
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-methods']).toBe('POST')
    expect(res.headers['access-control-allow-headers']).toBe('authorization, x-anything')
    expect(res.headers['access-control-allow-credentials']).toBe('true')
  })

  it('lists the allowed methods when allowMethods names them', async () => {
    server = await serve({
      cors: { allowOrigins: [APP], allowMethods: ['GET', 'PUT'] },
      resources: [{ methods: ['GET', 'PUT', 'DELETE'], path: '/x', handler: () => 'x' }],
    })
    const put = await server.fetch('/x', preflight('PUT'))
    expect(put.status).toBe(204)
    expect(put.headers['access-control-allow-methods']).toBe('GET, PUT')
    const del = await server.fetch('/x', preflight('DELETE'))
    expect(del.status).toBe(403)
  })

  it('sends no Vary: Origin and "*" for a resource open to any origin', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/public', preflight('GET', OTHER))
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
  })

  it('lets OPTIONS without Access-Control-Request-Method reach the resource (not a preflight)', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/custom', {
      method: 'OPTIONS',
      headers: { origin: APP, authorization: 'Bearer t' },
    })
    expect(res.status).toBe(200)
    expect(res.text).toBe('custom options')
    expect(calls).toEqual(['filter OPTIONS', 'resource OPTIONS'])
    const auto = await server.fetch('/api/items/1', {
      method: 'OPTIONS',
      headers: { authorization: 'Bearer t' },
    })
    expect(auto.status).toBe(204)
    expect(auto.headers.allow).toBe('DELETE, GET, HEAD, OPTIONS, PUT')
  })

  it('answers a preflight for a resource that takes OPTIONS itself without calling it', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/custom', preflight('OPTIONS'))
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-methods']).toBe('OPTIONS')
    expect(calls).toEqual([])
  })

  it('treats a preflight to a resource with cors: false as a plain OPTIONS request', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/closed', {
      ...preflight('GET'),
      headers: { ...preflight('GET').headers, authorization: 'Bearer t' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS')
    expect(corsHeaders(res.headers)).toEqual({})
    expect(calls).toEqual(['filter OPTIONS'])
  })

  it('gives a preflight to an unknown path the ordinary 404 (filters run)', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/nothing', {
      ...preflight('GET'),
      headers: { ...preflight('GET').headers, authorization: 'Bearer t' },
    })
    expect(res.status).toBe(404)
    expect(calls).toEqual(['filter OPTIONS'])
  })

  it('ignores preflight headers on a service without CORS', async () => {
    server = await serve({ resources: [{ methods: ['GET'], path: '/x', handler: () => 'x' }] })
    const res = await server.fetch('/x', preflight('GET'))
    expect(res.status).toBe(204)
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS')
    expect(corsHeaders(res.headers)).toEqual({})
  })
})

describe('actual requests', () => {
  const service: Service = {
    basePath: '/api',
    filters: [
      {
        request(ctx) {
          if (ctx.headers.authorization !== 'Bearer t') throw new HttpError(401, 'no token')
        },
      },
    ],
    cors: { allowOrigins: [APP], allowCredentials: true, exposeHeaders: ['x-total'] },
    resources: [
      {
        methods: ['GET'],
        path: '/items',
        handler: () =>
          new HttpResponse({ headers: { 'x-total': '2', vary: 'Accept-Language' }, body: [1, 2] }),
      },
      {
        methods: ['GET'],
        path: '/tagged',
        cacheControl: { maxAge: 60 },
        handler: () => ({ tagged: true }),
      },
      {
        methods: ['GET'],
        path: '/predicate',
        cors: { allowOrigins: (o: string) => o.endsWith('.trusted.example') },
        handler: () => 'p',
      },
      {
        methods: ['GET'],
        path: '/throwing',
        cors: {
          allowOrigins: () => {
            throw new Error('bug in the predicate')
          },
        },
        handler: () => 't',
      },
    ],
  }
  const auth = { authorization: 'Bearer t' }

  it('gives an allowed origin the allow, credentials and expose headers, merging Vary', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/items', { headers: { ...auth, origin: APP } })
    expect(res.status).toBe(200)
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-total',
    })
    expect(res.headers.vary).toBe('Accept-Language, Origin')
  })

  it('gives a refused origin no CORS header but still Vary: Origin', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/items', { headers: { ...auth, origin: OTHER } })
    expect(res.status).toBe(200)
    expect(corsHeaders(res.headers)).toEqual({})
    expect(res.headers.vary).toBe('Accept-Language, Origin')
  })

  it('sends Vary: Origin on a same-origin request without Origin, so a cache cannot mix them up', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/items', { headers: auth })
    expect(corsHeaders(res.headers)).toEqual({})
    expect(res.headers.vary).toBe('Accept-Language, Origin')
  })

  it('puts the CORS headers on a filter rejection and on 404 / 405 answers, so the page can read them', async () => {
    server = await serve(service)
    const denied = await server.fetch('/api/items', { headers: { origin: APP } })
    expect(denied.status).toBe(401)
    expect(denied.headers['access-control-allow-origin']).toBe(APP)
    const missing = await server.fetch('/api/nothing', { headers: { ...auth, origin: APP } })
    expect(missing.status).toBe(404)
    expect(missing.headers['access-control-allow-origin']).toBe(APP)
    const wrong = await server.fetch('/api/items', { method: 'DELETE', headers: { ...auth, origin: APP } })
    expect(wrong.status).toBe(405)
    expect(wrong.headers['access-control-allow-origin']).toBe(APP)
  })

  it('keeps the CORS headers on a 304', async () => {
    server = await serve(service)
    const first = await server.fetch('/api/tagged', { headers: { ...auth, origin: APP } })
    const tag = first.headers.etag as string
    expect(tag).toMatch(/^"/)
    const again = await server.fetch('/api/tagged', {
      headers: { ...auth, origin: APP, 'if-none-match': tag },
    })
    expect(again.status).toBe(304)
    expect(corsHeaders(again.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-total',
    })
    expect(again.headers.vary).toBe('Origin')
  })

  it('asks a predicate for each origin', async () => {
    server = await serve(service)
    const ok = await server.fetch('/api/predicate', {
      headers: { ...auth, origin: 'https://a.trusted.example' },
    })
    expect(ok.headers['access-control-allow-origin']).toBe('https://a.trusted.example')
    const no = await server.fetch('/api/predicate', {
      headers: { ...auth, origin: 'https://trusted.example.evil' },
    })
    expect(no.headers['access-control-allow-origin']).toBeUndefined()
    expect(no.headers.vary).toBe('Origin')
  })

  it('refuses the origin when the predicate throws, logs the fault, and still answers', async () => {
    server = await serve(service)
    const res = await server.fetch('/api/throwing', { headers: { ...auth, origin: APP } })
    expect(res.status).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    const pre = await server.fetch('/api/throwing', preflight('GET'))
    expect(pre.status).toBe(403)
    expect(server.logger.errors).toHaveLength(2)
  })

  it('overrides the service field by field: the resource keeps the service origins and credentials', async () => {
    server = await serve({
      cors: { allowOrigins: [APP], allowCredentials: true },
      resources: [{ methods: ['GET'], path: '/x', cors: { exposeHeaders: ['x-a'] }, handler: () => 'x' }],
    })
    const res = await server.fetch('/x', { headers: { origin: APP } })
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-a',
    })
  })

  it('answers "*" on every response of a resource open to any origin, without Vary', async () => {
    server = await serve({
      cors: { allowOrigins: '*', exposeHeaders: '*' },
      resources: [{ methods: ['GET'], path: '/x', handler: () => 'x' }],
    })
    const withOrigin = await server.fetch('/x', { headers: { origin: OTHER } })
    expect(corsHeaders(withOrigin.headers)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': '*',
    })
    expect(withOrigin.headers.vary).toBeUndefined()
    const without = await server.fetch('/x')
    expect(without.headers['access-control-allow-origin']).toBe('*')
  })

  it('survives a raw preflight flood of hostile header values and keeps serving', async () => {
    server = await serve(service)
    const hostile = [
      'OPTIONS /api/items HTTP/1.1\r\nHost: x\r\nOrigin: \r\nAccess-Control-Request-Method: GET\r\n\r\n',
      'OPTIONS /api/items HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\nAccess-Control-Request-Method: \r\n\r\n',
      'OPTIONS /api/items HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\nAccess-Control-Request-Method: G\tET\r\n\r\n',
      `OPTIONS /api/items HTTP/1.1\r\nHost: x\r\nOrigin: http://app.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: ${','.repeat(5000)}\r\n\r\n`,
    ]
    for (const request of hostile) {
      const answer = await raw(server.port, `${request.slice(0, -2)}Connection: close\r\n\r\n`)
      expect([204, 403]).toContain(statusOf(answer))
      expect(answer).not.toMatch(/access-control-allow-origin: http:\/\/app.example[\s\S]*403/)
    }
    const ok = await server.fetch('/api/items', { headers: { ...auth, origin: APP } })
    expect(ok.status).toBe(200)
  })
})
