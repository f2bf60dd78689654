import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CacheOptions, type CacheStore, cache, isCacheError, MemoryStore } from '../src/index.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let origin: Origin
let clock: Clock
let c: TestClient | undefined

beforeEach(async () => {
  origin = await startOrigin()
  clock = new Clock()
})

afterEach(async () => {
  await c?.close()
  c = undefined
  await origin.close()
})

function open(options: CacheOptions = {}) {
  c = client(cache({ now: clock.now, policy: 'RFC_9111', ...options }))
  return c
}

describe('a failing store never fails the request', () => {
  const broken: Array<{ name: string; store: CacheStore }> = [
    {
      name: 'get throws',
      store: {
        get() {
          throw new Error('boom')
        },
        createWriteStream: () => undefined,
        delete() {},
      },
    },
    {
      name: 'get rejects',
      store: {
        get: () => Promise.reject(new Error('boom')),
        createWriteStream: () => undefined,
        delete() {},
      },
    },
    {
      name: 'createWriteStream throws',
      store: {
        get: () => undefined,
        createWriteStream() {
          throw new Error('boom')
        },
        delete() {
          throw new Error('boom')
        },
      },
    },
    {
      name: 'the write stream errors',
      store: {
        get: () => undefined,
        createWriteStream: () =>
          new Writable({
            write(_c, _e, cb) {
              cb(new Error('disk full'))
            },
          }),
        delete: () => Promise.reject(new Error('boom')),
      },
    },
  ]

  it.each(broken)('when $name', async ({ store }) => {
    origin.route('/x', { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: 'body' })
    open({ store })
    const errors: unknown[] = []
    const onError = (m: unknown) => errors.push(m)
    subscribe('x:cache:error', onError)
    try {
      for (let i = 0; i < 2; i++) {
        const res = await c!.send(`${origin.url}/x`)
        expect(res.body).toBe('body')
      }
      const post = await c!.send(`${origin.url}/x`, { method: 'POST', body: 'x' })
      expect(post.status).toBe(200)
    } finally {
      unsubscribe('x:cache:error', onError)
    }
    expect(errors.length).toBeGreaterThan(0)
  })
})

describe('hostile origins', () => {
  it.each([
    {
      name: 'a Cache-Control of 1 000 directives',
      headers: { 'cache-control': Array.from({ length: 1_000 }, (_, i) => `x${i}=${i}`).join(', ') },
    },
    {
      name: 'an unterminated quoted string',
      headers: { 'cache-control': 'max-age=60, no-cache="set-cookie' },
    },
    { name: 'max-age with a sign', headers: { 'cache-control': 'max-age=+60' } },
    { name: 'max-age as a float', headers: { 'cache-control': 'max-age=6.5' } },
    { name: 'a huge max-age', headers: { 'cache-control': `max-age=${'9'.repeat(400)}` } },
    { name: 'empty directives', headers: { 'cache-control': ',,, ,=,max-age=' } },
    {
      name: 'a Date far in the future',
      headers: { 'cache-control': 'max-age=60', date: 'Fri, 31 Dec 9999 23:59:59 GMT' },
    },
    { name: 'a garbage Date', headers: { 'cache-control': 'max-age=60', date: 'soon' } },
    { name: 'a garbage Last-Modified', headers: { 'last-modified': 'Thu, 99 Zzz 99999 99:99:99 GMT' } },
    {
      name: 'a Vary of 500 fields',
      headers: {
        'cache-control': 'max-age=60',
        vary: Array.from({ length: 500 }, (_, i) => `x-${i}`).join(','),
      },
    },
    { name: 'a malformed ETag', headers: { 'cache-control': 'max-age=60', etag: 'W/"' } },
    { name: 'repeated Cache-Control lines', headers: { 'cache-control': ['max-age=60', 'no-store'] } },
  ])('serves through $name and keeps serving', async ({ headers }) => {
    origin.route('/h', { headers: headers as Record<string, string | string[]>, body: 'ok' })
    origin.route('/fine', { headers: { 'cache-control': 'max-age=60' }, body: 'fine' })
    open()
    for (let i = 0; i < 2; i++) expect((await c!.send(`${origin.url}/h`)).body).toBe('ok')
    expect((await c!.send(`${origin.url}/fine`)).body).toBe('fine')
  })

  it('treats a response with a future Date as fresh for its max-age, never older', async () => {
    origin.route('/h', () => ({
      headers: { 'cache-control': 'max-age=60', date: clock.date(3600) },
      body: 'ok',
    }))
    open()
    await c!.send(`${origin.url}/h`)
    const hit = await c!.send(`${origin.url}/h`)
    expect(hit.headers.age).toBe('0')
    expect(origin.hits('/h')).toBe(1)
  })

  it('repeated Cache-Control lines are read together: no-store wins', async () => {
    origin.route('/h', { headers: { 'cache-control': ['max-age=60', 'no-store'] }, body: 'ok' })
    open()
    await c!.send(`${origin.url}/h`)
    await c!.send(`${origin.url}/h`)
    expect(origin.hits('/h')).toBe(2)
  })

  it('hostile request directives are ignored, not fatal', async () => {
    origin.route('/h', { headers: { 'cache-control': 'max-age=60' }, body: 'ok' })
    open()
    await c!.send(`${origin.url}/h`)
    for (const cc of ['max-age=abc', 'max-stale=-1', 'min-fresh=', '"', 'only-if-cached=1, max-age=x']) {
      const res = await c!.send(`${origin.url}/h`, { headers: { 'cache-control': cc } })
      expect(res.body).toBe('ok')
    }
  })
})

describe('options', () => {
  it.each([
    {
      name: 'a store without delete',
      options: { store: { get() {}, createWriteStream() {} } },
      option: 'store',
    },
    {
      name: 'a store and a capacity',
      options: { store: new MemoryStore(), capacity: 10 },
      option: 'capacity',
    },
    { name: 'shared as a string', options: { shared: 'yes' }, option: 'shared' },
    { name: 'an unknown policy', options: { policy: 'ALWAYS' }, option: 'policy' },
    { name: 'capacity 0', options: { capacity: 0 }, option: 'capacity' },
    { name: 'evictionFactor 2', options: { evictionFactor: 2 }, option: 'evictionFactor' },
    { name: 'heuristicFraction 2', options: { heuristicFraction: 2 }, option: 'heuristicFraction' },
    { name: 'maxHeuristicAge -1', options: { maxHeuristicAge: -1 }, option: 'maxHeuristicAge' },
    { name: 'retainStale 0.5', options: { retainStale: 0.5 }, option: 'retainStale' },
    { name: 'collapseRequests 1', options: { collapseRequests: 1 }, option: 'collapseRequests' },
    { name: 'collapseTimeout -1', options: { collapseTimeout: -1 }, option: 'collapseTimeout' },
    { name: 'now not a function', options: { now: 'now' }, option: 'now' },
    { name: 'options null', options: null, option: 'options' },
    { name: 'a fractional capacity', options: { capacity: 2.5 }, option: 'capacity' },
  ])('rejects $name with X_ERR_CACHE_INVALID_OPTION naming the option', ({ options, option }) => {
    let caught: unknown
    try {
      cache(options as CacheOptions)
    } catch (e) {
      caught = e
    }
    expect(isCacheError(caught, 'X_ERR_CACHE_INVALID_OPTION')).toBe(true)
    expect((caught as { option?: string }).option).toBe(option)
  })

  it('maps Ballerina capacity and evictionFactor onto the default MemoryStore', async () => {
    for (let i = 0; i < 6; i++)
      origin.route(`/${i}`, { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: `${i}` })
    open({ capacity: 4, evictionFactor: 0.5 })
    for (let i = 0; i < 6; i++) await c!.send(`${origin.url}/${i}`)
    // Four fit; storing /4 evicted half (/0 and /1), so /2../5 are held.
    for (const i of [5, 4, 3, 2, 0]) await c!.send(`${origin.url}/${i}`)
    expect(Array.from({ length: 6 }, (_, i) => origin.hits(`/${i}`))).toEqual([2, 1, 1, 1, 1, 1])
  })
})

describe('diagnostics channels', () => {
  it('reports miss, store, hit, revalidate and invalidate on x:cache:*', async () => {
    origin.route('/d', (req) =>
      req.headers['if-none-match'] === '"1"'
        ? { status: 304, headers: { etag: '"1"', 'cache-control': 'max-age=10' } }
        : { headers: { 'cache-control': 'max-age=10', etag: '"1"' }, body: 'd' },
    )
    open()
    const events: string[] = []
    const names = ['miss', 'store', 'hit', 'revalidate', 'invalidate']
    const listeners = names.map((n) => {
      const f = (m: unknown) =>
        events.push(`${n}${n === 'revalidate' ? `:${(m as { result: string }).result}` : ''}`)
      subscribe(`x:cache:${n}`, f)
      return [n, f] as const
    })
    try {
      await c!.send(`${origin.url}/d`)
      await c!.send(`${origin.url}/d`)
      clock.advance(11)
      await c!.send(`${origin.url}/d`)
      await c!.send(`${origin.url}/d`, { method: 'DELETE' })
    } finally {
      for (const [n, f] of listeners) unsubscribe(`x:cache:${n}`, f)
    }
    expect(events).toEqual(['miss', 'store', 'hit', 'store', 'revalidate:not-modified', 'invalidate'])
  })
})
