import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { RedisStore } from '@x/cache/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../../../test-support/redis.ts'
import { client, onCleanup, server } from './helpers.ts'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.stop()
})

async function redisStore(prefix: string): Promise<RedisStore> {
  const store = new RedisStore({ url: redis.url, prefix })
  if (store.client.status !== 'ready')
    await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
  onCleanup(() => store.close())
  return store
}

/** Runs the same request from a Client in another process. */
async function fromChild(prefix: string, base: string, path: string) {
  const child = fileURLToPath(new URL('./redis-child.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@x/source', '--import', 'tsx', child, redis.url, prefix, base, path],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  )
  return JSON.parse(stdout.trim()) as { status: number; age: string | null; body: string }
}

describe('Clients sharing one cache through RedisStore', () => {
  it('answers a second process from what the first one stored, and the other way round', async () => {
    const hits = new Map<string, number>()
    const s = await server((req, res) => {
      const n = (hits.get(req.url ?? '') ?? 0) + 1
      hits.set(req.url ?? '', n)
      res.writeHead(200, { 'cache-control': 'public, max-age=600', etag: '"1"' }).end(`${req.url} #${n}`)
    })
    const c = client(s.url, { cache: { isShared: true, store: await redisStore('two-procs:') } })

    // This process stores, the other one is answered from Redis.
    expect(await (await c.get('/a')).text()).toBe('/a #1')
    const child = await fromChild('two-procs:', s.url, '/a')
    expect(child).toMatchObject({ status: 200, body: '/a #1' })
    expect(child.age).not.toBeNull()

    // The other process stores, this one is answered from Redis.
    expect((await fromChild('two-procs:', s.url, '/b')).body).toBe('/b #1')
    expect(await (await c.get('/b')).text()).toBe('/b #1')

    expect([hits.get('/a'), hits.get('/b')]).toEqual([1, 1])
  })

  it('sees the invalidation another process made with an unsafe method', async () => {
    let version = 1
    const s = await server((req, res) => {
      if (req.method === 'PUT') {
        version++
        return void req.resume().on('end', () => res.writeHead(204).end())
      }
      res.writeHead(200, { 'cache-control': 'public, max-age=600', etag: `"${version}"` }).end(`v${version}`)
    })
    const store = await redisStore('invalidate:')
    const a = client(s.url, { cache: { isShared: true, store } })
    const b = client(s.url, { cache: { isShared: true, store: await redisStore('invalidate:') } })
    expect(await (await a.get('/doc')).text()).toBe('v1')
    expect(await (await b.get('/doc')).text()).toBe('v1')
    expect((await b.put('/doc', 'new')).status).toBe(204)
    expect(await (await a.get('/doc')).text()).toBe('v2')
  })
})
