import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CacheOptions, cache } from '../src/index.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let origin: Origin
let clock: Clock
let c: TestClient

function open(options: CacheOptions = {}) {
  c = client(cache({ now: clock.now, policy: 'RFC_9111', ...options }))
  return c
}

/** An origin path that answers with `cache-control`, an ETag, and 304 to a matching If-None-Match. */
function validated(path: string, cacheControl: string, extra: Record<string, string> = {}) {
  origin.route(path, (req, n) => {
    const headers = { 'cache-control': cacheControl, etag: '"v1"', date: clock.date(), ...extra }
    if (req.headers['if-none-match'] === '"v1"') return { status: 304, headers }
    return { headers, body: `body${n}` }
  })
}

beforeEach(async () => {
  origin = await startOrigin()
  clock = new Clock()
})

afterEach(async () => {
  await c?.close()
  await origin.close()
})

describe('request directives', () => {
  it('revalidates when the request says max-age=0, and serves the stored body on 304', async () => {
    validated('/r', 'max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    const res = await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'max-age=0' } })
    expect(res.status).toBe(200)
    expect(res.body).toBe('body1')
    expect(origin.hits('/r')).toBe(2)
    expect(origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('serves when the age is within the request max-age', async () => {
    validated('/r', 'max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    clock.advance(5)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'max-age=10' } })
    expect(origin.hits('/r')).toBe(1)
  })

  it('honours min-fresh', async () => {
    validated('/r', 'max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    clock.advance(30)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'min-fresh=20' } })
    expect(origin.hits('/r')).toBe(1)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'min-fresh=40' } })
    expect(origin.hits('/r')).toBe(2)
  })

  it.each([
    { name: 'max-stale without a value accepts any staleness', cc: 'max-stale', hits: 1 },
    { name: 'max-stale=100 accepts 50 s of staleness', cc: 'max-stale=100', hits: 1 },
    { name: 'max-stale=10 refuses 50 s of staleness', cc: 'max-stale=10', hits: 2 },
  ])('$name', async ({ cc, hits }) => {
    validated('/r', 'max-age=10')
    open()
    await c.send(`${origin.url}/r`)
    clock.advance(60)
    const res = await c.send(`${origin.url}/r`, { headers: { 'cache-control': cc } })
    expect(res.status).toBe(200)
    expect(origin.hits('/r')).toBe(hits)
  })

  it.each([
    { name: 'Cache-Control: no-cache', headers: { 'cache-control': 'no-cache' } },
    { name: 'Pragma: no-cache without Cache-Control', headers: { pragma: 'no-cache' } },
  ])('revalidates a fresh response on $name', async ({ headers }) => {
    validated('/r', 'max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    const res = await c.send(`${origin.url}/r`, { headers })
    expect(res.body).toBe('body1')
    expect(origin.hits('/r')).toBe(2)
    expect(origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('does not store the response to a request with no-store', async () => {
    validated('/r', 'max-age=60')
    open()
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'no-store' } })
    await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(2)
  })

  it('answers only-if-cached with 504 when nothing is stored, without reaching the origin', async () => {
    validated('/r', 'max-age=60')
    open()
    const res = await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'only-if-cached' } })
    expect(res.status).toBe(504)
    expect(origin.hits('/r')).toBe(0)
  })

  it('answers only-if-cached from a fresh entry, and with 504 once it is stale', async () => {
    validated('/r', 'max-age=10')
    open()
    await c.send(`${origin.url}/r`)
    const hit = await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'only-if-cached' } })
    expect(hit.status).toBe(200)
    clock.advance(20)
    const stale = await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'only-if-cached' } })
    expect(stale.status).toBe(504)
    const allowed = await c.send(`${origin.url}/r`, {
      headers: { 'cache-control': 'only-if-cached, max-stale' },
    })
    expect(allowed.status).toBe(200)
    expect(origin.hits('/r')).toBe(1)
  })
})

describe('response directives', () => {
  it('never stores no-store', async () => {
    validated('/r', 'no-store, max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(2)
  })

  it('stores must-understand with no-store for a status it understands, not for one it does not', async () => {
    validated('/ok', 'must-understand, no-store, max-age=60')
    origin.route('/odd', {
      status: 299,
      headers: { 'cache-control': 'must-understand, no-store, max-age=60' },
    })
    open()
    for (const p of ['/ok', '/ok', '/odd', '/odd']) await c.send(`${origin.url}${p}`)
    expect(origin.hits('/ok')).toBe(1)
    expect(origin.hits('/odd')).toBe(2)
  })

  it('revalidates an unqualified no-cache response every time, answering from the store on 304', async () => {
    validated('/r', 'no-cache, max-age=60')
    open()
    await c.send(`${origin.url}/r`)
    const second = await c.send(`${origin.url}/r`)
    expect(second.body).toBe('body1')
    expect(origin.hits('/r')).toBe(2)
  })

  it('serves no-cache="x-secret" without the named field, and with it after validation', async () => {
    validated('/r', 'no-cache="x-secret", max-age=60', { 'x-secret': 's3' })
    open()
    await c.send(`${origin.url}/r`)
    const hit = await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(1)
    expect(hit.headers['x-secret']).toBeUndefined()
    const validatedHit = await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'no-cache' } })
    expect(validatedHit.headers['x-secret']).toBe('s3')
  })

  it.each([
    { name: 'private cache stores private', shared: false, hits: 1 },
    { name: 'shared cache does not store private', shared: true, hits: 2 },
  ])('$name', async ({ shared, hits }) => {
    validated('/r', 'private, max-age=60')
    open({ shared })
    await c.send(`${origin.url}/r`)
    await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(hits)
  })

  it('stores private="x-user" in a shared cache without the named field', async () => {
    validated('/r', 'private="x-user", max-age=60', { 'x-user': 'alice' })
    open({ shared: true })
    await c.send(`${origin.url}/r`)
    const hit = await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(1)
    expect(hit.headers['x-user']).toBeUndefined()
  })

  it.each([
    { name: 'must-revalidate (private cache)', cc: 'max-age=10, must-revalidate', shared: false },
    { name: 'proxy-revalidate (shared cache)', cc: 'max-age=10, proxy-revalidate', shared: true },
    { name: 's-maxage (shared cache)', cc: 's-maxage=10', shared: true },
  ])('never serves a stale $name response, even with max-stale', async ({ cc, shared }) => {
    validated('/r', cc)
    open({ shared })
    await c.send(`${origin.url}/r`)
    clock.advance(30)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'max-stale' } })
    expect(origin.hits('/r')).toBe(2)
  })

  it('lets a private cache serve a stale proxy-revalidate response with max-stale', async () => {
    validated('/r', 'max-age=10, proxy-revalidate')
    open({ shared: false })
    await c.send(`${origin.url}/r`)
    clock.advance(30)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'max-stale' } })
    expect(origin.hits('/r')).toBe(1)
  })

  it('does not revalidate a fresh immutable response on a reload (max-age=0), but does on no-cache', async () => {
    validated('/r', 'max-age=60, immutable')
    open()
    await c.send(`${origin.url}/r`)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'max-age=0' } })
    expect(origin.hits('/r')).toBe(1)
    await c.send(`${origin.url}/r`, { headers: { 'cache-control': 'no-cache' } })
    expect(origin.hits('/r')).toBe(2)
  })
})

describe('Authorization in a shared cache (RFC 9111 §3.5)', () => {
  it.each([
    { name: 'max-age alone', cc: 'max-age=60', hits: 2 },
    { name: 'public', cc: 'public, max-age=60', hits: 1 },
    { name: 's-maxage', cc: 's-maxage=60', hits: 1 },
    { name: 'must-revalidate', cc: 'max-age=60, must-revalidate', hits: 1 },
  ])('stores and reuses an authorised response with $name only when allowed', async ({ cc, hits }) => {
    validated('/r', cc)
    open({ shared: true })
    const auth = { authorization: 'Bearer a' }
    await c.send(`${origin.url}/r`, { headers: auth })
    await c.send(`${origin.url}/r`, { headers: auth })
    expect(origin.hits('/r')).toBe(hits)
  })

  it('does not answer an authorised request from a response stored for an anonymous one', async () => {
    validated('/r', 'max-age=60')
    open({ shared: true })
    await c.send(`${origin.url}/r`)
    await c.send(`${origin.url}/r`, { headers: { authorization: 'Bearer a' } })
    expect(origin.hits('/r')).toBe(2)
  })

  it('a private cache stores authorised responses', async () => {
    validated('/r', 'max-age=60')
    open({ shared: false })
    await c.send(`${origin.url}/r`, { headers: { authorization: 'Bearer a' } })
    await c.send(`${origin.url}/r`, { headers: { authorization: 'Bearer a' } })
    expect(origin.hits('/r')).toBe(1)
  })
})

describe('Set-Cookie', () => {
  it('a shared cache stores a public response with Set-Cookie (RFC 9111 allows it)', async () => {
    validated('/r', 'public, max-age=60', { 'set-cookie': 'a=1' })
    open({ shared: true })
    await c.send(`${origin.url}/r`)
    const hit = await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(1)
    expect(hit.headers['set-cookie']).toBe('a=1')
  })

  it('a shared cache drops Set-Cookie when the origin says private="set-cookie"', async () => {
    validated('/r', 'max-age=60, private="set-cookie"', { 'set-cookie': 'a=1' })
    open({ shared: true })
    await c.send(`${origin.url}/r`)
    const hit = await c.send(`${origin.url}/r`)
    expect(origin.hits('/r')).toBe(1)
    expect(hit.headers['set-cookie']).toBeUndefined()
  })
})
