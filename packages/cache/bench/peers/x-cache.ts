import { cache, MemoryStore } from '@x/cache'
import { RedisStore } from '@x/cache/redis'
import { Agent } from 'undici'
import type { Peer } from './types.ts'

export function xMemory(): Peer {
  const agent = new Agent({ connections: 16 })
  return {
    name: '@x/cache MemoryStore',
    path: '/x-memory',
    caches: true,
    dispatcher: agent.compose(cache({ store: new MemoryStore(), shared: true, policy: 'RFC_9111' })),
    close: () => agent.close(),
  }
}

export async function xRedis(url: string): Promise<Peer> {
  const agent = new Agent({ connections: 16 })
  const store = new RedisStore({ url })
  await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
  return {
    name: '@x/cache RedisStore',
    path: '/x-redis',
    caches: true,
    dispatcher: agent.compose(cache({ store, shared: true, policy: 'RFC_9111' })),
    async close() {
      await agent.close()
      await store.close()
    },
  }
}
