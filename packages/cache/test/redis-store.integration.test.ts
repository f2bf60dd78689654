import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../../test-support/redis.ts'
import { cache, isCacheError } from '../src/index.ts'
import { RedisStore } from '../src/redis.ts'
import type { CacheStore } from '../src/store.ts'
import { storeSuite, write } from './cases/store-suite.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let redis: RedisServer
let prefixes = 0

async function ready(store: RedisStore): Promise<RedisStore> {
  if (store.client.status !== 'ready')
    await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
  return store
}

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.stop()
})

storeSuite('RedisStore', {
  create: ({ now, maxEntryBytes }) =>
    ready(new RedisStore({ url: redis.url, now, maxEntryBytes, prefix: `suite${prefixes++}:` })),
  dispose: (store: CacheStore) => (store as RedisStore).close(),
})

describe('RedisStore', () => {
  let origin: Origin
  let c: TestClient | undefined
  const stores: RedisStore[] = []
  const make = async (options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
    const s = await ready(new RedisStore({ url: redis.url, prefix: `t${prefixes++}:`, ...options }))
    stores.push(s)
    return s
  }

  beforeEach(async () => {
    origin = await startOrigin()
  })

  afterEach(async () => {
    await c?.close()
    c = undefined
    for (const s of stores.splice(0)) await s.close()
    await origin.close()
  })

  it('expires entries by TTL in Redis, not only by checking deleteAt', async () => {
    const store = await make({ prefix: 'ttl:' })
    const clock = new Clock(Date.now())
    await write(
      store,
      { origin: 'http://a.test', method: 'GET', path: '/x', headers: {} },
      {
        statusCode: 200,
        statusMessage: 'OK',
        headers: {},
        cachedAt: clock.ms,
        staleAt: clock.ms + 1000,
        deleteAt: clock.ms + 30_000,
      },
      ['x'],
    )
    const ttl = await store.client.pttl('ttl:http://a.test /x')
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(30_000)
  })

  it('shares entries between two processes', async () => {
    origin.route('/shared', (_req, n) => ({
      headers: { 'cache-control': 'public, max-age=600', etag: '"1"' },
      body: `from origin #${n}`,
    }))
    const child = fileURLToPath(new URL('./helpers/redis-child.ts', import.meta.url))
    const run = async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', child, redis.url, `${origin.url}/shared`],
        {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
        },
      )
      return JSON.parse(stdout.trim()) as { status: number; body: string; age: string | null }
    }
    const first = await run()
    const second = await run()
    expect(first.body).toBe('from origin #1')
    expect(second.body).toBe('from origin #1')
    expect(second.age).not.toBeNull()
    expect(origin.hits('/shared')).toBe(1)
  })

  it('misses instead of failing while Redis is down, and caches again after it restarts', async () => {
    const server = await startRedis()
    const store = await ready(new RedisStore({ url: server.url, redisOptions: { retryStrategy: () => 20 } }))
    stores.push(store)
    origin.route('/r', (_req, n) => ({
      headers: { 'cache-control': 'max-age=600', etag: '"1"' },
      body: `n${n}`,
    }))
    c = client(cache({ store }))
    const send = () => c!.send(`${origin.url}/r`)
    await send()
    await waitUntil(async () => (await send()).body === 'n1' && origin.hits('/r') === 1)
    await server.stop()
    const during = await send()
    expect(during.status).toBe(200)
    expect(origin.hits('/r')).toBe(2)
    await server.start()
    await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
    // The restarted Redis is empty: a miss, then stored again.
    await send()
    await waitUntil(async () => {
      const before = origin.hits('/r')
      await send()
      return origin.hits('/r') === before
    })
    await server.stop()
  })

  it('answers a lookup that outlasts its timeout as a miss', async () => {
    const blocker = new Redis(redis.url)
    const store = await make({ timeout: 50 })
    origin.route('/slow', { headers: { 'cache-control': 'max-age=600', etag: '"1"' }, body: 'x' })
    c = client(cache({ store }))
    await c.send(`${origin.url}/slow`)
    const key = { origin: origin.url, method: 'GET', path: '/slow', headers: {} }
    await waitUntil(async () => (await store.get(key)) !== undefined)
    try {
      // Redis holds every client's commands for 400 ms once this returns OK.
      await blocker.call('CLIENT', 'PAUSE', '400', 'ALL')
      const res = await c.send(`${origin.url}/slow`)
      expect(res.status).toBe(200)
      expect(origin.hits('/slow')).toBe(2)
    } finally {
      blocker.disconnect()
    }
  })

  it('never fails a request when a user-supplied client is closed', async () => {
    const own = new Redis(redis.url)
    await new Promise<void>((resolve) => own.once('ready', () => resolve()))
    const store = new RedisStore({ client: own })
    own.disconnect()
    origin.route('/c', { headers: { 'cache-control': 'max-age=600', etag: '"1"' }, body: 'x' })
    c = client(cache({ store }))
    expect((await c.send(`${origin.url}/c`)).status).toBe(200)
    expect((await c.send(`${origin.url}/c`)).status).toBe(200)
    expect(origin.hits('/c')).toBe(2)
  })

  it.each([
    { name: 'neither client nor url', options: {} },
    { name: 'both client and url', options: { client: {}, url: 'redis://x' } },
    { name: 'a url of another scheme', options: { url: 'http://127.0.0.1:6379' } },
    { name: 'a client that is not ioredis', options: { client: { get() {} } } },
    { name: 'a negative timeout', options: { url: 'redis://127.0.0.1:1', timeout: -1 } },
    { name: 'a numeric prefix', options: { url: 'redis://127.0.0.1:1', prefix: 5 } },
  ])('rejects $name', ({ options }) => {
    let caught: unknown
    try {
      new RedisStore(options as never)
    } catch (e) {
      caught = e
    }
    expect(isCacheError(caught, 'X_ERR_CACHE_INVALID_OPTION')).toBe(true)
  })
})

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error('condition never held')
}
