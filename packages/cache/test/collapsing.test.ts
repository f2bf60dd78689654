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

function all(n: number, path: string, headers: (i: number) => Record<string, string> = () => ({})) {
  return Promise.all(
    Array.from({ length: n }, (_, i) => c.send(`${origin.url}${path}`, { headers: headers(i) })),
  )
}

describe('request collapsing', () => {
  it('sends concurrent identical misses to the origin once', async () => {
    origin.route('/c', (_req, n) => ({
      headers: { 'cache-control': 'max-age=60', etag: '"1"' },
      body: `v${n}`,
    }))
    open()
    const answers = await all(5, '/c')
    expect(answers.map((a) => a.body)).toEqual(['v1', 'v1', 'v1', 'v1', 'v1'])
    expect(origin.hits('/c')).toBe(1)
  })

  it('lets every waiting request go to the origin when the answer may not be stored', async () => {
    origin.route('/c', (_req, n) => ({ headers: { 'cache-control': 'no-store' }, body: `v${n}` }))
    open()
    const answers = await all(3, '/c')
    expect(answers.map((a) => a.body).sort()).toEqual(['v1', 'v2', 'v3'])
  })

  it('sends a waiting request whose Vary values differ to the origin itself', async () => {
    origin.route('/c', (req, n) => ({
      headers: { 'cache-control': 'max-age=60', etag: `"${n}"`, vary: 'accept-language' },
      body: `${req.headers['accept-language']}`,
    }))
    open()
    const answers = await all(4, '/c', (i) => ({ 'accept-language': i % 2 === 0 ? 'en' : 'fr' }))
    expect(answers.map((a) => a.body)).toEqual(['en', 'fr', 'en', 'fr'])
    expect(origin.hits('/c')).toBe(2)
  })

  it('does not collapse when collapseRequests is false', async () => {
    origin.route('/c', (_req, n) => ({
      headers: { 'cache-control': 'max-age=60', etag: '"1"' },
      body: `v${n}`,
    }))
    open({ collapseRequests: false })
    await all(3, '/c')
    expect(origin.hits('/c')).toBe(3)
  })

  it('stops waiting after collapseTimeout when the first request hangs', async () => {
    let open1: () => void = () => {}
    const gate = new Promise<void>((r) => {
      open1 = r
    })
    origin.route('/c', async (_req, n) => {
      if (n === 1) await gate
      return { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: `v${n}` }
    })
    open({ collapseTimeout: 20 })
    const first = c.send(`${origin.url}/c`)
    const others = await all(2, '/c')
    expect(others.map((a) => a.body).sort()).toEqual(['v2', 'v3'])
    open1()
    expect((await first).body).toBe('v1')
  })

  it('releases the waiting requests when the first one fails', async () => {
    origin.route('/c', (_req, n) => {
      if (n === 1) throw new Error('reset')
      return { headers: { 'cache-control': 'max-age=60', etag: '"1"' }, body: `v${n}` }
    })
    open()
    const results = await Promise.allSettled([
      c.send(`${origin.url}/c`),
      c.send(`${origin.url}/c`),
      c.send(`${origin.url}/c`),
    ])
    expect(results[0]?.status).toBe('rejected')
    const ok = results.filter((r) => r.status === 'fulfilled')
    expect(ok).toHaveLength(2)
  })
})
