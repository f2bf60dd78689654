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

beforeEach(async () => {
  origin = await startOrigin()
  clock = new Clock()
})

afterEach(async () => {
  await c?.close()
  await origin.close()
})

describe('storing and freshness', () => {
  it('serves a fresh max-age response without reaching the origin, with its Age', async () => {
    origin.route('/a', () => ({
      headers: { 'cache-control': 'max-age=60', date: clock.date() },
      body: 'hello',
    }))
    open()
    const first = await c.send(`${origin.url}/a`)
    clock.advance(10)
    const second = await c.send(`${origin.url}/a`)
    expect(first.body).toBe('hello')
    expect(second.body).toBe('hello')
    expect(second.headers.age).toBe('10')
    expect(origin.hits('/a')).toBe(1)
  })

  it('goes back to the origin once max-age has passed', async () => {
    origin.route('/a', (_req, n) => ({
      headers: { 'cache-control': 'max-age=5', date: clock.date() },
      body: `v${n}`,
    }))
    open()
    await c.send(`${origin.url}/a`)
    clock.advance(6)
    const again = await c.send(`${origin.url}/a`)
    expect(again.body).toBe('v2')
    expect(origin.hits('/a')).toBe(2)
  })

  it("stores only responses with Cache-Control and a validator under 'CACHE_CONTROL_AND_VALIDATORS'", async () => {
    origin.route('/plain', { headers: { 'cache-control': 'max-age=60' }, body: 'x' })
    origin.route('/etag', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: 'x' })
    origin.route('/expires', { headers: { expires: clock.date(60), etag: '"1"' }, body: 'x' })
    open({ policy: 'CACHE_CONTROL_AND_VALIDATORS' })
    for (const p of ['/plain', '/etag', '/expires']) {
      await c.send(`${origin.url}${p}`)
      await c.send(`${origin.url}${p}`)
    }
    expect(origin.hits('/plain')).toBe(2)
    expect(origin.hits('/etag')).toBe(1)
    expect(origin.hits('/expires')).toBe(2)
  })

  it("stores every response RFC 9111 allows under 'RFC_9111'", async () => {
    origin.route('/plain', { headers: { 'cache-control': 'max-age=60' }, body: 'x' })
    origin.route('/expires', () => ({ headers: { expires: clock.date(60), date: clock.date() }, body: 'x' }))
    open({ policy: 'RFC_9111' })
    for (const p of ['/plain', '/expires']) {
      await c.send(`${origin.url}${p}`)
      await c.send(`${origin.url}${p}`)
    }
    expect(origin.hits('/plain')).toBe(1)
    expect(origin.hits('/expires')).toBe(1)
  })

  it.each([
    { name: 'shared: s-maxage overrides max-age=0', shared: true, hits: 1 },
    { name: 'private: s-maxage is ignored', shared: false, hits: 2 },
  ])('$name', async ({ shared, hits }) => {
    origin.route('/s', () => ({
      headers: { 'cache-control': 'max-age=0, s-maxage=60', date: clock.date() },
      body: 's',
    }))
    open({ shared })
    await c.send(`${origin.url}/s`)
    await c.send(`${origin.url}/s`)
    expect(origin.hits('/s')).toBe(hits)
  })

  it('computes freshness from Expires minus Date', async () => {
    origin.route('/e', () => ({ headers: { expires: clock.date(30), date: clock.date() }, body: 'e' }))
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(29)
    await c.send(`${origin.url}/e`)
    expect(origin.hits('/e')).toBe(1)
    clock.advance(2)
    await c.send(`${origin.url}/e`)
    expect(origin.hits('/e')).toBe(2)
  })

  it.each([
    { name: 'Expires: 0', expires: '0' },
    { name: 'a garbage Expires', expires: 'next tuesday' },
    {
      name: 'two Expires lines',
      expires: ['Thu, 01 Jan 2099 00:00:00 GMT', 'Thu, 01 Jan 2099 00:00:00 GMT'],
    },
  ])('treats $name as already expired', async ({ expires }) => {
    origin.route('/e', () => ({ headers: { expires, date: clock.date() }, body: 'e' }))
    open()
    await c.send(`${origin.url}/e`)
    await c.send(`${origin.url}/e`)
    expect(origin.hits('/e')).toBe(2)
  })

  it('uses 10% of the time since Last-Modified as heuristic freshness for a 200', async () => {
    origin.route('/h', () => ({
      headers: { 'last-modified': clock.date(-1000), date: clock.date() },
      body: 'h',
    }))
    open()
    await c.send(`${origin.url}/h`)
    clock.advance(99)
    await c.send(`${origin.url}/h`)
    expect(origin.hits('/h')).toBe(1)
    clock.advance(2)
    await c.send(`${origin.url}/h`)
    expect(origin.hits('/h')).toBe(2)
  })

  it.each([
    { name: '302', status: 302, hits: 2 },
    { name: '500', status: 500, hits: 2 },
    { name: '404', status: 404, hits: 1 },
    { name: '410', status: 410, hits: 1 },
    { name: '301', status: 301, hits: 1 },
  ])(
    'applies heuristic freshness to a $name only when RFC 9110 calls it heuristically cacheable',
    async ({ status, hits }) => {
      origin.route('/h', () => ({
        status,
        headers: { 'last-modified': clock.date(-1000), date: clock.date(), location: '/x' },
        body: 'h',
      }))
      open()
      await c.send(`${origin.url}/h`)
      await c.send(`${origin.url}/h`)
      expect(origin.hits('/h')).toBe(hits)
    },
  )

  it('lets public make any final status heuristically cacheable', async () => {
    origin.route('/p', () => ({
      status: 302,
      headers: {
        'cache-control': 'public',
        'last-modified': clock.date(-1000),
        date: clock.date(),
        location: '/x',
      },
    }))
    open()
    await c.send(`${origin.url}/p`)
    await c.send(`${origin.url}/p`)
    expect(origin.hits('/p')).toBe(1)
  })
})

describe('Age (RFC 9111 §4.2.3)', () => {
  it('adds the response delay to the Age the origin sent', async () => {
    origin.route('/slow', () => {
      const date = clock.date()
      clock.advance(5)
      return { headers: { 'cache-control': 'max-age=100', age: '10', date }, body: 'slow' }
    })
    open()
    await c.send(`${origin.url}/slow`)
    const hit = await c.send(`${origin.url}/slow`)
    expect(hit.headers.age).toBe('15')
  })

  it('uses the apparent age from Date when it is larger', async () => {
    origin.route('/old', () => ({
      headers: { 'cache-control': 'max-age=100', date: clock.date(-40) },
      body: 'old',
    }))
    open()
    await c.send(`${origin.url}/old`)
    const hit = await c.send(`${origin.url}/old`)
    expect(hit.headers.age).toBe('40')
    clock.advance(61)
    await c.send(`${origin.url}/old`)
    expect(origin.hits('/old')).toBe(2)
  })

  it.each([
    { name: 'a list keeps its first member', age: '10, 20', expected: '10' },
    { name: 'repeated lines keep the first', age: ['7', '30'], expected: '7' },
    { name: 'a non-numeric value is ignored', age: 'abc', expected: '0' },
    { name: 'a negative value is ignored', age: '-5', expected: '0' },
    {
      name: 'a huge value is clamped, and the response is stale',
      age: '99999999999999999999',
      expected: undefined,
    },
  ])('Age: $name', async ({ age, expected }) => {
    origin.route('/age', () => ({
      headers: { 'cache-control': 'max-age=100', age, date: clock.date() },
      body: 'a',
    }))
    open()
    await c.send(`${origin.url}/age`)
    const second = await c.send(`${origin.url}/age`)
    if (expected === undefined) expect(origin.hits('/age')).toBe(2)
    else {
      expect(origin.hits('/age')).toBe(1)
      expect(second.headers.age).toBe(expected)
    }
  })
})
