// Response caching headers: Cache-Control from @x/cache, strong ETags hashed from the body or
// supplied by the handler, Last-Modified, and conditional requests evaluated in the order of
// RFC 9110 §13.2.2, before the handler where a resource reports its validators.
import { etag } from '@x/cache'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpError, HttpResponse, Listener, type Service } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served | undefined
let agent = new Agent()
afterEach(async () => {
  await agent.close()
  agent = new Agent()
  await server?.close()
  server = undefined
})

async function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const res = await request(`${server!.url}${path}`, {
    method: method as 'GET',
    headers,
    body: body ?? null,
    dispatcher: agent,
  })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

const MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT'
const BEFORE = 'Tue, 20 Oct 2015 07:28:00 GMT'
const AFTER = 'Thu, 22 Oct 2015 07:28:00 GMT'

let runs = 0
const document = { title: 'cached', body: 'x'.repeat(100) }
const store = { version: 1, exists: true, value: 'v1' }

const service: Service = {
  resources: [
    {
      methods: ['GET'],
      path: '/doc',
      cacheControl: { public: true, maxAge: 60, staleWhileRevalidate: 30 },
      handler: () => {
        runs++
        return document
      },
    },
    {
      methods: ['GET'],
      path: '/dated',
      cacheControl: { maxAge: 10 },
      etag: false,
      handler: () => new HttpResponse({ headers: { 'last-modified': MODIFIED }, body: 'dated' }),
    },
    {
      methods: ['GET'],
      path: '/own-tag',
      handler: () => new HttpResponse({ headers: { etag: 'W/"weak-1"' }, body: 'weak' }),
    },
    {
      methods: ['GET'],
      path: '/missing',
      cacheControl: { maxAge: 60 },
      handler: () => {
        throw new HttpError(404, 'gone')
      },
    },
    {
      methods: ['GET'],
      path: '/private',
      cacheControl: { private: true, noCache: true, mustRevalidate: true },
      handler: () => 'mine',
    },
    { methods: ['GET'], path: '/nostore', cacheControl: { noStore: true }, handler: () => 'secret' },
    {
      methods: ['GET', 'PUT', 'POST'],
      path: '/item',
      body: { type: 'text', optional: true },
      cacheControl: { maxAge: 0, mustRevalidate: true },
      validators: () =>
        store.exists
          ? { etag: `"v${store.version}"`, lastModified: Date.parse(MODIFIED) }
          : { exists: false },
      handler: (ctx) => {
        runs++
        if (ctx.method === 'GET') {
          if (!store.exists) throw new HttpError(404, 'no item')
          return store.value
        }
        store.exists = true
        store.version++
        store.value = String(ctx.body)
        return new HttpResponse({ status: 200, headers: { etag: `"v${store.version}"` }, body: store.value })
      },
    },
    {
      methods: ['GET'],
      path: '/slow-validators',
      validators: async () => {
        await Promise.resolve()
        return { etag: '"async"' }
      },
      handler: () => {
        runs++
        return 'async body'
      },
    },
    {
      methods: ['GET'],
      path: '/bad-validators',
      validators: () => ({ etag: 'not-quoted' }),
      handler: () => 'never',
    },
  ],
}

afterEach(() => {
  runs = 0
  store.version = 1
  store.exists = true
  store.value = 'v1'
})

describe('Cache-Control and ETag', () => {
  it('sends the declared Cache-Control and a strong ETag of the body', async () => {
    server = await serve(service)
    const res = await get('/doc')
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30')
    expect(res.headers.etag).toBe(etag(JSON.stringify(document)))
  })

  it('sends them on HEAD too, with the same ETag', async () => {
    server = await serve(service)
    const head = await get('/doc', {}, 'HEAD')
    expect(head.headers.etag).toBe(etag(JSON.stringify(document)))
    expect(head.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30')
  })

  it('keeps Cache-Control off error answers', async () => {
    server = await serve(service)
    const res = await get('/missing')
    expect(res.status).toBe(404)
    expect(res.headers['cache-control']).toBeUndefined()
    expect(res.headers.etag).toBeUndefined()
  })

  it('sends no ETag for no-store, and none when etag is false', async () => {
    server = await serve(service)
    const noStore = await get('/nostore')
    expect(noStore.headers['cache-control']).toBe('no-store')
    expect(noStore.headers.etag).toBeUndefined()
    const dated = await get('/dated')
    expect(dated.headers.etag).toBeUndefined()
    expect(dated.headers['last-modified']).toBe(MODIFIED)
    const priv = await get('/private')
    expect(priv.headers['cache-control']).toBe('private, no-cache, must-revalidate')
  })

  it.each([
    { name: 'public with private', cacheControl: { public: true, private: true } },
    { name: 'no-store with max-age', cacheControl: { noStore: true, maxAge: 1 } },
    { name: 'a negative max-age', cacheControl: { maxAge: -1 } },
    { name: 'an unknown directive', cacheControl: { maxAgee: 1 } },
    { name: 'no directive', cacheControl: {} },
  ])('refuses $name at attach with X_ERR_HTTP_INVALID_SERVICE', ({ cacheControl }) => {
    const listener = new Listener({ port: 0 })
    expect(() =>
      listener.attach({ resources: [{ path: '/', cacheControl, handler: () => 1 }] } as unknown as Service),
    ).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
  })

  it.each([
    { name: 'a non-boolean etag', extra: { etag: 'yes' } },
    { name: 'validators that is not a function', extra: { validators: { etag: '"x"' } } },
  ])('refuses $name at attach', ({ extra }) => {
    const listener = new Listener({ port: 0 })
    expect(() =>
      listener.attach({ resources: [{ path: '/', ...extra, handler: () => 1 }] } as unknown as Service),
    ).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
  })
})

describe('conditional GET', () => {
  it('answers 200 then 304 for the same ETag, with the validator fields and no body', async () => {
    server = await serve(service)
    const first = await get('/doc')
    const tag = first.headers.etag as string
    const second = await get('/doc', { 'if-none-match': tag })
    expect(second.status).toBe(304)
    expect(second.text).toBe('')
    expect(second.headers.etag).toBe(tag)
    expect(second.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30')
    expect(second.headers['content-type']).toBeUndefined()
    expect(second.headers['content-length']).toBeUndefined()
  })

  it.each([
    { name: 'a list containing it', header: (t: string) => `"other", ${t}`, status: 304 },
    { name: 'its weak form (weak comparison)', header: (t: string) => `W/${t}`, status: 304 },
    { name: '*', header: () => '*', status: 304 },
    { name: 'another tag', header: () => '"other"', status: 200 },
    { name: 'a malformed list', header: () => 'not-a-tag, also bad', status: 200 },
  ])('evaluates If-None-Match with $name', async ({ header, status }) => {
    server = await serve(service)
    const tag = (await get('/doc')).headers.etag as string
    expect((await get('/doc', { 'if-none-match': header(tag) })).status).toBe(status)
  })

  it('compares a handler-supplied weak ETag weakly for If-None-Match and never for If-Match', async () => {
    server = await serve(service)
    expect((await get('/own-tag', { 'if-none-match': '"weak-1"' })).status).toBe(304)
    expect((await get('/own-tag', { 'if-match': 'W/"weak-1"' })).status).toBe(412)
  })

  it.each([
    { name: 'a later If-Modified-Since', headers: { 'if-modified-since': AFTER }, status: 304 },
    { name: 'the same If-Modified-Since', headers: { 'if-modified-since': MODIFIED }, status: 304 },
    { name: 'an earlier If-Modified-Since', headers: { 'if-modified-since': BEFORE }, status: 200 },
    { name: 'a garbage If-Modified-Since', headers: { 'if-modified-since': 'yesterday' }, status: 200 },
    {
      name: 'a date with a bad day',
      headers: { 'if-modified-since': 'Wed, 31 Feb 2015 07:28:00 GMT' },
      status: 200,
    },
    { name: 'an earlier If-Unmodified-Since', headers: { 'if-unmodified-since': BEFORE }, status: 412 },
    { name: 'a later If-Unmodified-Since', headers: { 'if-unmodified-since': AFTER }, status: 200 },
    { name: 'a garbage If-Unmodified-Since', headers: { 'if-unmodified-since': '0' }, status: 200 },
    {
      name: 'If-None-Match taking precedence over If-Modified-Since',
      headers: { 'if-none-match': '"nope"', 'if-modified-since': AFTER },
      status: 200,
    },
  ])('evaluates $name against Last-Modified', async ({ headers, status }) => {
    server = await serve(service)
    expect((await get('/dated', headers)).status).toBe(status)
  })

  it('answers 412 for an If-Match that fails, before If-None-Match is looked at', async () => {
    server = await serve(service)
    const tag = (await get('/doc')).headers.etag as string
    const res = await get('/doc', { 'if-match': '"other"', 'if-none-match': tag })
    expect(res.status).toBe(412)
    expect(JSON.parse(res.text)).toMatchObject({ status: 412, code: 'X_ERR_HTTP_PRECONDITION_FAILED' })
    expect((await get('/doc', { 'if-match': tag })).status).toBe(200)
    expect((await get('/doc', { 'if-match': '*' })).status).toBe(200)
  })

  it('never answers 304 where the response would not have been 2xx', async () => {
    server = await serve(service)
    expect((await get('/missing', { 'if-none-match': '*' })).status).toBe(404)
    expect((await get('/missing', { 'if-match': '"x"' })).status).toBe(404)
  })

  it('gives gzip and identity different tags, so a gzip tag never validates identity', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/',
          cacheControl: { maxAge: 5 },
          handler: () => ({ big: 'y'.repeat(5000) }),
        },
      ],
    })
    const identity = await get('/', { 'accept-encoding': 'identity' })
    const gzip = await get('/', { 'accept-encoding': 'gzip' })
    expect(gzip.headers.etag).not.toBe(identity.headers.etag)
    expect(gzip.headers.etag).toBe((identity.headers.etag as string).replace(/"$/, '-gzip"'))
    expect(
      (await get('/', { 'accept-encoding': 'gzip', 'if-none-match': gzip.headers.etag as string })).status,
    ).toBe(304)
    expect(
      (await get('/', { 'accept-encoding': 'identity', 'if-none-match': gzip.headers.etag as string }))
        .status,
    ).toBe(200)
    const notModified = await get('/', {
      'accept-encoding': 'gzip',
      'if-none-match': gzip.headers.etag as string,
    })
    expect(notModified.headers.vary).toBe('Accept-Encoding')
    expect(notModified.headers['content-encoding']).toBeUndefined()
  })
})

describe('validators before the handler', () => {
  it('answers a matching conditional GET with 304 without running the handler', async () => {
    server = await serve(service)
    const res = await get('/item', { 'if-none-match': '"v1"' })
    expect(res.status).toBe(304)
    expect(res.headers.etag).toBe('"v1"')
    expect(res.headers['last-modified']).toBe(MODIFIED)
    expect(res.headers['cache-control']).toBe('max-age=0, must-revalidate')
    expect(runs).toBe(0)
  })

  it('sends the reported validators on a 200', async () => {
    server = await serve(service)
    const res = await get('/item')
    expect(res.status).toBe(200)
    expect(res.headers.etag).toBe('"v1"')
    expect(res.headers['last-modified']).toBe(MODIFIED)
  })

  it('stops a PUT with a stale If-Match with 412 before its body is read or the handler runs', async () => {
    server = await serve(service)
    const res = await get('/item', { 'if-match': '"v0"', 'content-type': 'text/plain' }, 'PUT', 'lost update')
    expect(res.status).toBe(412)
    expect(runs).toBe(0)
    expect(store.value).toBe('v1')
    const ok = await get('/item', { 'if-match': '"v1"', 'content-type': 'text/plain' }, 'PUT', 'new value')
    expect(ok.status).toBe(200)
    expect(ok.headers.etag).toBe('"v2"')
    expect(store.value).toBe('new value')
  })

  it('answers 412 (not 304) to a PUT whose If-None-Match matches, and lets If-None-Match: * create', async () => {
    server = await serve(service)
    const exists = await get('/item', { 'if-none-match': '*', 'content-type': 'text/plain' }, 'PUT', 'x')
    expect(exists.status).toBe(412)
    store.exists = false
    const create = await get('/item', { 'if-none-match': '*', 'content-type': 'text/plain' }, 'PUT', 'fresh')
    expect(create.status).toBe(200)
    expect(store.value).toBe('fresh')
  })

  it('fails If-Match: * when the resource does not exist', async () => {
    server = await serve(service)
    store.exists = false
    expect((await get('/item', { 'if-match': '*', 'content-type': 'text/plain' }, 'PUT', 'x')).status).toBe(
      412,
    )
  })

  it('answers a 412 with the request body unread by closing the connection afterwards', async () => {
    server = await serve(service)
    const big = 'b'.repeat(200_000)
    const res = await get('/item', { 'if-match': '"v0"', 'content-type': 'text/plain' }, 'PUT', big)
    expect(res.status).toBe(412)
    expect(res.headers.connection).toBe('close')
  })

  it('waits for async validators', async () => {
    server = await serve(service)
    expect((await get('/slow-validators', { 'if-none-match': '"async"' })).status).toBe(304)
    expect(runs).toBe(0)
    expect((await get('/slow-validators')).headers.etag).toBe('"async"')
  })

  it('answers 500 (and logs) when validators report a malformed ETag', async () => {
    server = await serve(service)
    const res = await get('/bad-validators')
    expect(res.status).toBe(500)
    expect(server.logger.errors).toHaveLength(1)
  })

  it('ignores preconditions on a request that fails binding (400 wins over 304)', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/{id}',
          params: { id: 'integer' },
          validators: () => ({ etag: '"x"' }),
          handler: () => 'x',
        },
      ],
    })
    expect((await get('/abc', { 'if-none-match': '"x"' })).status).toBe(400)
    expect((await get('/1', { 'if-none-match': '"x"' })).status).toBe(304)
  })
})
