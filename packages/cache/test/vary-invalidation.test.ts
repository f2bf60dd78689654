import { fetch, interceptors } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CacheOptions, cache } from '../src/index.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let origin: Origin
let clock: Clock
let c: TestClient

function open(options: CacheOptions = {}) {
  c = client(cache({ now: clock.now, ...options }))
  return c
}

beforeEach(async () => {
  origin = await startOrigin()
  clock = new Clock()
})

afterEach(async () => {
  await c?.close()
  await origin.close()
})

function negotiated(path: string, vary: string) {
  origin.route(path, (req, n) => ({
    headers: { 'cache-control': 'max-age=60', etag: `"${n}"`, vary },
    body: `${req.headers['accept-language'] ?? 'none'}#${n}`,
  }))
}

describe('Vary', () => {
  it('keeps one variant per Accept-Language and serves each to its own requests', async () => {
    negotiated('/v', 'Accept-Language')
    open()
    const en = await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'en' } })
    const fr = await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'fr' } })
    const none = await c.send(`${origin.url}/v`)
    const en2 = await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'en' } })
    const fr2 = await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'fr' } })
    const none2 = await c.send(`${origin.url}/v`)
    expect([en.body, fr.body, none.body]).toEqual(['en#1', 'fr#2', 'none#3'])
    expect([en2.body, fr2.body, none2.body]).toEqual(['en#1', 'fr#2', 'none#3'])
    expect(origin.hits('/v')).toBe(3)
  })

  it('never matches Vary: *', async () => {
    negotiated('/v', '*')
    open()
    await c.send(`${origin.url}/v`)
    await c.send(`${origin.url}/v`)
    expect(origin.hits('/v')).toBe(2)
  })

  it.each([
    { name: 'whitespace around commas', first: 'gzip, br', second: 'gzip,br' },
    { name: 'member order and case of Accept-Encoding', first: 'gzip, br', second: 'BR, GZIP' },
    { name: 'whitespace around parameters', first: 'gzip;q=1.0, br', second: 'gzip ; q=1.0,br' },
    { name: 'repeated field lines', first: 'gzip, br', second: ['gzip', 'br'] },
  ])('matches request values that differ only by $name', async ({ first, second }) => {
    negotiated('/v', 'Accept-Encoding')
    open()
    await c.send(`${origin.url}/v`, { headers: { 'accept-encoding': first } })
    await c.send(`${origin.url}/v`, { headers: { 'accept-encoding': second } })
    expect(origin.hits('/v')).toBe(1)
  })

  it('does not match values that differ in meaning', async () => {
    negotiated('/v', 'Accept-Encoding')
    open()
    await c.send(`${origin.url}/v`, { headers: { 'accept-encoding': 'gzip' } })
    await c.send(`${origin.url}/v`, { headers: { 'accept-encoding': 'gzip, br' } })
    expect(origin.hits('/v')).toBe(2)
  })

  it('varies on several fields at once', async () => {
    origin.route('/v', (req, n) => ({
      headers: { 'cache-control': 'max-age=60', etag: `"${n}"`, vary: 'accept-language, x-tenant' },
      body: `${req.headers['x-tenant']}#${n}`,
    }))
    open()
    await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'en', 'x-tenant': 'a' } })
    await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'en', 'x-tenant': 'b' } })
    const a = await c.send(`${origin.url}/v`, { headers: { 'accept-language': 'en', 'x-tenant': 'a' } })
    expect(a.body).toBe('a#1')
    expect(origin.hits('/v')).toBe(2)
  })
})

describe('invalidation by unsafe methods (RFC 9111 §4.4)', () => {
  function stored(path: string) {
    origin.route(path, (_req, n) => ({
      headers: { 'cache-control': 'max-age=600', etag: `"${n}"` },
      body: `${path}#${n}`,
    }))
  }

  it.each([
    { name: 'POST', method: 'POST' },
    { name: 'PUT', method: 'PUT' },
    { name: 'PATCH', method: 'PATCH' },
    { name: 'DELETE', method: 'DELETE' },
    { name: 'an unknown method', method: 'PURGE' },
  ])('a successful $name invalidates the target URI', async ({ method }) => {
    stored('/item')
    open()
    await c.send(`${origin.url}/item`)
    origin.route('/item', (req, n) =>
      req.method === 'GET'
        ? { headers: { 'cache-control': 'max-age=600', etag: `"${n}"` }, body: `/item#${n}` }
        : { status: 204 },
    )
    await c.send(`${origin.url}/item`, { method, body: method === 'DELETE' ? undefined : 'x' } as never)
    const after = await c.send(`${origin.url}/item`)
    expect(after.body).toBe('/item#3')
  })

  it('invalidates same-origin Location and Content-Location, and ignores another origin', async () => {
    stored('/a')
    stored('/b')
    stored('/c?x=1')
    open()
    for (const p of ['/a', '/b', '/c?x=1']) await c.send(`${origin.url}${p}`)
    origin.route('/post', {
      status: 201,
      headers: { location: '/a', 'content-location': `${origin.url}/c?x=1` },
    })
    origin.route('/post2', { status: 200, headers: { location: 'http://elsewhere.invalid/b' } })
    await c.send(`${origin.url}/post`, { method: 'POST', body: 'x' })
    await c.send(`${origin.url}/post2`, { method: 'POST', body: 'x' })
    for (const p of ['/a', '/b', '/c?x=1']) await c.send(`${origin.url}${p}`)
    expect([origin.hits('/a'), origin.hits('/b'), origin.hits('/c?x=1')]).toEqual([2, 1, 2])
  })

  it('does not invalidate on an error status', async () => {
    stored('/item')
    open()
    await c.send(`${origin.url}/item`)
    origin.route('/item', (req, n) =>
      req.method === 'GET' ? { headers: { 'cache-control': 'max-age=600' }, body: `#${n}` } : { status: 500 },
    )
    await c.send(`${origin.url}/item`, { method: 'POST', body: 'x' })
    const after = await c.send(`${origin.url}/item`)
    expect(after.body).toBe('/item#1')
  })
})

describe('HEAD, and the dispatch surfaces', () => {
  it('answers HEAD from a stored GET without reaching the origin', async () => {
    origin.route('/h', {
      headers: { 'cache-control': 'max-age=60', etag: '"1"', 'x-kind': 'get' },
      body: 'hello',
    })
    open()
    await c.send(`${origin.url}/h`)
    const head = await c.send(`${origin.url}/h`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe('5')
    expect(head.headers['x-kind']).toBe('get')
    expect(origin.hits('/h')).toBe(1)
  })

  it('passes a HEAD miss through and stores nothing from it', async () => {
    origin.route('/h', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: 'hello' })
    open()
    await c.send(`${origin.url}/h`, { method: 'HEAD' })
    const get = await c.send(`${origin.url}/h`)
    expect(get.body).toBe('hello')
    expect(origin.seen.map((s) => s.method)).toEqual(['HEAD', 'GET'])
  })

  it('freshens a stale stored GET from a HEAD whose validators agree (RFC 9111 §4.3.5)', async () => {
    origin.route('/h', (req, n) => ({
      headers: {
        'cache-control': 'max-age=10',
        etag: '"1"',
        'x-seen': `${req.method}${n}`,
        date: clock.date(),
      },
      body: 'hello',
    }))
    open()
    await c.send(`${origin.url}/h`)
    clock.advance(20)
    await c.send(`${origin.url}/h`, { method: 'HEAD' })
    const get = await c.send(`${origin.url}/h`)
    expect(get.body).toBe('hello')
    expect(get.headers['x-seen']).toBe('HEAD2')
    expect(origin.seen.map((s) => s.method)).toEqual(['GET', 'HEAD'])
  })

  it('drops a stale stored GET when a HEAD shows another ETag', async () => {
    origin.route('/h', (req, n) => ({
      headers: { 'cache-control': 'max-age=10', etag: `"${n}"`, date: clock.date() },
      body: `${req.method}${n}`,
    }))
    open()
    await c.send(`${origin.url}/h`)
    clock.advance(20)
    await c.send(`${origin.url}/h`, { method: 'HEAD' })
    const get = await c.send(`${origin.url}/h`, { headers: { 'cache-control': 'max-stale' } })
    expect(get.body).toBe('GET3')
  })

  it('does not store a response reached through a followed redirect under the original URL', async () => {
    origin.route('/old', { status: 302, headers: { location: '/new', 'cache-control': 'no-store' } })
    origin.route('/new', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: 'new' })
    c = client(interceptors.redirect({ maxRedirections: 2 }), cache({ now: clock.now }))
    expect((await c.send(`${origin.url}/old`)).body).toBe('new')
    expect((await c.send(`${origin.url}/old`)).body).toBe('new')
    expect(origin.hits('/old')).toBe(2)
  })

  it('works under fetch(url, { dispatcher })', async () => {
    origin.route('/f', {
      headers: { 'cache-control': 'max-age=60', etag: '"1"', 'content-type': 'text/plain' },
      body: 'fetched',
    })
    open()
    const first = await fetch(`${origin.url}/f`, { dispatcher: c.dispatcher })
    expect(await first.text()).toBe('fetched')
    const second = await fetch(`${origin.url}/f`, { dispatcher: c.dispatcher })
    expect(second.status).toBe(200)
    expect(second.headers.get('age')).toBe('0')
    expect(await second.text()).toBe('fetched')
    expect(origin.hits('/f')).toBe(1)
  })

  it('works under dispatcher.request() with a query object', async () => {
    origin.route('/q?a=1', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: 'q' })
    open()
    for (let i = 0; i < 2; i++) {
      const res = await c.dispatcher.request({
        origin: origin.url,
        path: '/q',
        query: { a: '1' },
        method: 'GET',
      })
      expect(await res.body.text()).toBe('q')
    }
    expect(origin.hits('/q?a=1')).toBe(1)
  })

  it('serves a large stored body in pieces under back-pressure', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'x')
    origin.route('/big', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: big })
    open()
    await c.send(`${origin.url}/big`)
    const res = await fetch(`${origin.url}/big`, { dispatcher: c.dispatcher })
    const reader = res.body!.getReader()
    let n = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      n += value.byteLength
      await new Promise((r) => setImmediate(r))
    }
    expect(n).toBe(big.byteLength)
    expect(origin.hits('/big')).toBe(1)
  })

  it('stops serving a stored body when the caller aborts', async () => {
    origin.route('/big', {
      headers: { 'cache-control': 'max-age=60', etag: '"1"' },
      body: Buffer.alloc(1024 * 1024),
    })
    open()
    await c.send(`${origin.url}/big`)
    const ac = new AbortController()
    const res = await fetch(`${origin.url}/big`, { dispatcher: c.dispatcher, signal: ac.signal })
    const reader = res.body!.getReader()
    await reader.read()
    ac.abort()
    await expect(reader.read()).rejects.toThrow()
  })
})
