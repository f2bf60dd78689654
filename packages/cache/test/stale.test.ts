import { request } from 'undici'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type CacheOptions, cache, MemoryStore } from '../src/index.ts'
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

describe('stale-while-revalidate', () => {
  it('serves stale at once and revalidates once in the background', async () => {
    origin.route('/s', (_req, n) => ({
      headers: {
        'cache-control': 'max-age=10, stale-while-revalidate=60',
        etag: `"${n}"`,
        date: clock.date(),
      },
      body: `v${n}`,
    }))
    open()
    await c.send(`${origin.url}/s`)
    clock.advance(20)
    const [a, b, d] = await Promise.all([
      c.send(`${origin.url}/s`),
      c.send(`${origin.url}/s`),
      c.send(`${origin.url}/s`),
    ])
    expect([a.body, b.body, d.body]).toEqual(['v1', 'v1', 'v1'])
    expect(a.headers.age).toBe('20')
    await vi.waitFor(async () => {
      const fresh = await c.send(`${origin.url}/s`, { headers: { 'cache-control': 'only-if-cached' } })
      expect(fresh.body).toBe('v2')
    })
    expect(origin.hits('/s')).toBe(2)
  })

  it('revalidates in the foreground once the window has passed', async () => {
    origin.route('/s', (_req, n) => ({
      headers: { 'cache-control': 'max-age=10, stale-while-revalidate=5', etag: `"${n}"` },
      body: `v${n}`,
    }))
    open()
    await c.send(`${origin.url}/s`)
    clock.advance(20)
    const res = await c.send(`${origin.url}/s`)
    expect(res.body).toBe('v2')
  })

  it('is overridden by must-revalidate', async () => {
    origin.route('/s', (_req, n) => ({
      headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60, must-revalidate', etag: `"${n}"` },
      body: `v${n}`,
    }))
    open()
    await c.send(`${origin.url}/s`)
    clock.advance(20)
    const res = await c.send(`${origin.url}/s`)
    expect(res.body).toBe('v2')
  })
})

describe('stale-if-error', () => {
  function failing(path: string, cc: string, failure: 'status' | 'reset', status = 500) {
    origin.route(path, (_req, n) => {
      if (n === 1) return { headers: { 'cache-control': cc, etag: '"1"', date: clock.date() }, body: 'good' }
      if (failure === 'reset') throw new Error('reset the connection')
      return { status, body: 'broken' }
    })
  }

  it.each([
    { name: '500', status: 500 },
    { name: '502', status: 502 },
    { name: '503', status: 503 },
    { name: '504', status: 504 },
  ])('serves the stale response when the origin answers $name within the window', async ({ status }) => {
    failing('/e', 'max-age=10, stale-if-error=60', 'status', status)
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(30)
    const res = await c.send(`${origin.url}/e`)
    expect(res.status).toBe(200)
    expect(res.body).toBe('good')
    expect(res.headers.age).toBe('30')
  })

  it('serves the stale response when the connection fails', async () => {
    failing('/e', 'max-age=10, stale-if-error=60', 'reset')
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(30)
    const res = await c.send(`${origin.url}/e`)
    expect(res.body).toBe('good')
  })

  it('passes the error through once the window has passed', async () => {
    failing('/e', 'max-age=10, stale-if-error=5', 'status')
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(30)
    const res = await c.send(`${origin.url}/e`)
    expect(res.status).toBe(500)
  })

  it('honours stale-if-error sent by the client', async () => {
    failing('/e', 'max-age=10', 'status')
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(30)
    const res = await c.send(`${origin.url}/e`, { headers: { 'cache-control': 'stale-if-error=60' } })
    expect(res.body).toBe('good')
  })

  it('is overridden by must-revalidate', async () => {
    failing('/e', 'max-age=10, stale-if-error=60, must-revalidate', 'status')
    open()
    await c.send(`${origin.url}/e`)
    clock.advance(30)
    const res = await c.send(`${origin.url}/e`)
    expect(res.status).toBe(500)
  })
})

describe('stale-if-error with the origin gone', () => {
  it('serves the stale response when nothing listens any more', async () => {
    const store = new MemoryStore({ now: clock.now })
    const other = await startOrigin()
    other.route('/e', {
      headers: { 'cache-control': 'max-age=10, stale-if-error=60', etag: '"1"' },
      body: 'good',
    })
    c = client(cache({ now: clock.now, store }))
    await c.send(`${other.url}/e`)
    await c.close()
    await other.close()
    clock.advance(30)
    c = client(cache({ now: clock.now, store }))
    const res = await c.send(`${other.url}/e`)
    expect(res.body).toBe('good')
  })
})

describe('aborts', () => {
  it('aborts the origin request when the caller gives up during a revalidation', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    origin.route('/slow', async (_req, n) => {
      if (n === 2) await gate
      return { headers: { 'cache-control': 'max-age=10', etag: `"${n}"` }, body: `v${n}` }
    })
    open()
    await c.send(`${origin.url}/slow`)
    clock.advance(20)
    const ac = new AbortController()
    const pending = request(`${origin.url}/slow`, { dispatcher: c.dispatcher, signal: ac.signal })
    await vi.waitFor(() => expect(origin.hits('/slow')).toBe(2))
    ac.abort()
    await expect(pending).rejects.toThrow()
    release()
    const after = await c.send(`${origin.url}/slow`)
    expect(after.status).toBe(200)
  })
})
