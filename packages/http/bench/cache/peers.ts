// The peers of the Client cache bench, each behind one adapter: get(path) reads a whole body.
import { cache } from '@x/cache'
import { RedisStore } from '@x/cache/redis'
import { Agent, cacheStores, interceptors, request } from 'undici'
import { Client, MemoryStore } from '../../src/index.ts'

export interface CachePeer {
  readonly name: string
  /** The path it asks for, so the origin counts its trips apart. */
  readonly path: string
  /** Every request after the first wave should be a hit. */
  readonly caches: boolean
  get(): Promise<string>
  close(): Promise<void>
}

function viaClient(
  name: string,
  path: string,
  client: Client,
  caches: boolean,
  close?: () => Promise<void>,
): CachePeer {
  return {
    name,
    path,
    caches,
    get: async () => (await client.get(path)).text(),
    async close() {
      await client.close()
      await close?.()
    },
  }
}

/** Client with the cache on an in-memory store. */
export const clientMemory = (origin: string): CachePeer =>
  viaClient(
    'Client + cache (MemoryStore)',
    '/client-memory',
    new Client(origin, { cache: { isShared: true, policy: 'RFC_9111', store: new MemoryStore() } }),
    true,
  )

/** Client without a cache: every request is a round trip. */
export const clientNone = (origin: string): CachePeer =>
  viaClient('Client, no cache (round trip)', '/client-none', new Client(origin), false)

/** Client with the cache on Redis. */
export async function clientRedis(origin: string, redisUrl: string): Promise<CachePeer> {
  const store = new RedisStore({ url: redisUrl })
  await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
  return viaClient(
    'Client + cache (RedisStore)',
    '/client-redis',
    new Client(origin, { cache: { isShared: true, policy: 'RFC_9111', store } }),
    true,
    () => store.close(),
  )
}

/** undici's own cache interceptor with its memory store, used as undici intends: undici.request. */
export function undiciMemory(origin: string): CachePeer {
  const agent = new Agent()
  const dispatcher = agent.compose(
    interceptors.cache({ store: new cacheStores.MemoryCacheStore(), type: 'shared' }),
  )
  const url = `${origin}/undici-memory`
  return {
    name: 'undici.request + undici cache',
    path: '/undici-memory',
    caches: true,
    get: async () => (await request(url, { dispatcher })).body.text(),
    close: () => agent.close(),
  }
}

/** @x/cache through undici.request, to tell the cache's cost from the API's. */
export function undiciXMemory(origin: string): CachePeer {
  const agent = new Agent()
  const dispatcher = agent.compose(cache({ shared: true, policy: 'RFC_9111', store: new MemoryStore() }))
  const url = `${origin}/undici-x-memory`
  return {
    name: 'undici.request + @x/cache',
    path: '/undici-x-memory',
    caches: true,
    get: async () => (await request(url, { dispatcher })).body.text(),
    close: () => agent.close(),
  }
}
