import { Agent, cacheStores, interceptors } from 'undici'
import type { Peer } from './types.ts'

export function undiciMemory(): Peer {
  const agent = new Agent({ connections: 16 })
  return {
    name: 'undici cache + MemoryCacheStore',
    path: '/undici-memory',
    caches: true,
    dispatcher: agent.compose(
      interceptors.cache({ store: new cacheStores.MemoryCacheStore(), type: 'shared' }),
    ),
    close: () => agent.close(),
  }
}
