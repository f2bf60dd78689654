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

describe('validation of stale entries', () => {
  it('revalidates with If-None-Match and If-Modified-Since from the stored validators', async () => {
    const lm = clock.date(-3600)
    origin.route('/v', (req) => {
      const headers = { 'cache-control': 'max-age=10', etag: '"e1"', 'last-modified': lm, date: clock.date() }
      return req.headers['if-none-match'] === '"e1"' ? { status: 304, headers } : { headers, body: 'one' }
    })
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    const res = await c.send(`${origin.url}/v`)
    expect(res.status).toBe(200)
    expect(res.body).toBe('one')
    expect(origin.seen[1]?.headers['if-none-match']).toBe('"e1"')
    expect(origin.seen[1]?.headers['if-modified-since']).toBe(lm)
  })

  it('updates the stored headers from a 304 and takes its new freshness (RFC 9111 §4.3.4)', async () => {
    origin.route('/v', (req, n) => {
      if (req.headers['if-none-match'] === '"e1"') {
        return {
          status: 304,
          headers: { 'cache-control': 'max-age=100', etag: '"e1"', 'x-version': `v${n}`, date: clock.date() },
        }
      }
      return {
        headers: { 'cache-control': 'max-age=10', etag: '"e1"', 'x-version': 'v1', date: clock.date() },
        body: 'body',
      }
    })
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    const revalidated = await c.send(`${origin.url}/v`)
    expect(revalidated.headers['x-version']).toBe('v2')
    expect(revalidated.headers['cache-control']).toBe('max-age=100')
    expect(revalidated.headers.age).toBe('0')
    clock.advance(50)
    const hit = await c.send(`${origin.url}/v`)
    expect(hit.headers['x-version']).toBe('v2')
    expect(hit.body).toBe('body')
    expect(hit.headers.age).toBe('50')
    expect(origin.hits('/v')).toBe(2)
  })

  it('keeps the stored Content-Length when a 304 carries another one', async () => {
    origin.route('/v', (req) => {
      if (req.headers['if-none-match'] === '"e1"') {
        return {
          status: 304,
          headers: { 'cache-control': 'max-age=10', etag: '"e1"', 'content-length': '999' },
        }
      }
      return { headers: { 'cache-control': 'max-age=10', etag: '"e1"' }, body: 'abc' }
    })
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    const res = await c.send(`${origin.url}/v`)
    expect(res.headers['content-length']).toBe('3')
    expect(res.body).toBe('abc')
  })

  it('replaces the entry when revalidation returns a 200', async () => {
    origin.route('/v', (_req, n) => ({
      headers: { 'cache-control': 'max-age=10', etag: `"e${n}"`, date: clock.date() },
      body: `body${n}`,
    }))
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    const changed = await c.send(`${origin.url}/v`)
    const hit = await c.send(`${origin.url}/v`)
    expect(changed.body).toBe('body2')
    expect(hit.body).toBe('body2')
    expect(origin.hits('/v')).toBe(2)
  })

  it('fetches the full response when a 304 names another ETag', async () => {
    origin.route('/v', (req, n) => {
      if (req.headers['if-none-match'] !== undefined) {
        return { status: 304, headers: { 'cache-control': 'max-age=10', etag: '"other"' } }
      }
      return { headers: { 'cache-control': 'max-age=10', etag: `"e${n}"` }, body: `body${n}` }
    })
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    const res = await c.send(`${origin.url}/v`)
    expect(res.status).toBe(200)
    expect(res.body).toBe('body3')
    expect(origin.seen.map((s) => s.headers['if-none-match'])).toEqual([undefined, '"e1"', undefined])
  })

  it('drops the stored entry when the revalidation answer may not be stored', async () => {
    origin.route('/v', (_req, n) => ({
      headers: { 'cache-control': n === 2 ? 'no-store' : 'max-age=10', etag: `"e${n}"` },
      body: `body${n}`,
    }))
    open()
    await c.send(`${origin.url}/v`)
    clock.advance(11)
    await c.send(`${origin.url}/v`)
    const third = await c.send(`${origin.url}/v`, { headers: { 'cache-control': 'max-stale' } })
    expect(third.body).toBe('body3')
    expect(origin.hits('/v')).toBe(3)
  })
})

describe("the client's own validators", () => {
  it('answers a matching If-None-Match from a fresh entry with 304, without the origin', async () => {
    origin.route('/v', { headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: 'x' })
    open()
    await c.send(`${origin.url}/v`)
    const res = await c.send(`${origin.url}/v`, { headers: { 'if-none-match': 'W/"e0", W/"e1"' } })
    expect(res.status).toBe(304)
    expect(res.headers.etag).toBe('"e1"')
    expect(res.body).toBe('')
    expect(origin.hits('/v')).toBe(1)
  })

  it('answers a non-matching If-None-Match with the stored 200', async () => {
    origin.route('/v', { headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: 'x' })
    open()
    await c.send(`${origin.url}/v`)
    const res = await c.send(`${origin.url}/v`, { headers: { 'if-none-match': '"e2"' } })
    expect(res.status).toBe(200)
    expect(res.body).toBe('x')
  })

  it('answers If-Modified-Since from Last-Modified', async () => {
    const lm = clock.date(-100)
    origin.route('/v', { headers: { 'cache-control': 'max-age=60', 'last-modified': lm }, body: 'x' })
    open()
    await c.send(`${origin.url}/v`)
    const same = await c.send(`${origin.url}/v`, { headers: { 'if-modified-since': lm } })
    const older = await c.send(`${origin.url}/v`, { headers: { 'if-modified-since': clock.date(-200) } })
    const garbage = await c.send(`${origin.url}/v`, { headers: { 'if-modified-since': 'yesterday' } })
    expect([same.status, older.status, garbage.status]).toEqual([304, 200, 200])
    expect(origin.hits('/v')).toBe(1)
  })

  it('passes If-Match requests and ranges it holds nothing for to the origin, storing nothing from them', async () => {
    origin.route('/v', (req) =>
      req.headers.range !== undefined
        ? {
            status: 206,
            headers: { 'content-range': 'bytes 0-0/3', 'cache-control': 'max-age=60', etag: '"e1"' },
            body: 'a',
          }
        : { headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: 'abc' },
    )
    open()
    const partial = await c.send(`${origin.url}/v`, { headers: { range: 'bytes=0-0' } })
    expect(partial.status).toBe(206)
    await c.send(`${origin.url}/v`, { headers: { 'if-match': '"e1"' } })
    const full = await c.send(`${origin.url}/v`)
    expect(full.body).toBe('abc')
    expect(origin.hits('/v')).toBe(3)
    // Now that the complete response is stored, the range is cut from it.
    const partialAgain = await c.send(`${origin.url}/v`, { headers: { range: 'bytes=0-0' } })
    expect(partialAgain.status).toBe(206)
    expect(partialAgain.body).toBe('a')
    expect(origin.hits('/v')).toBe(3)
  })
})
