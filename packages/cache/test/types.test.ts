// Type-level checks (run by typecheck): our stores are undici CacheStores and undici's
// stores are ours, in both directions, under exactOptionalPropertyTypes.
import { cacheStores, type interceptors } from 'undici'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type CacheStore, MemoryStore } from '../src/index.ts'
import type { RedisStore } from '../src/redis.ts'

type UndiciStore = NonNullable<NonNullable<Parameters<typeof interceptors.cache>[0]>['store']>

describe('store types', () => {
  it('MemoryStore and RedisStore are undici CacheStores', () => {
    expectTypeOf<MemoryStore>().toExtend<UndiciStore>()
    expectTypeOf<RedisStore>().toExtend<UndiciStore>()
    const s: UndiciStore = new MemoryStore()
    expect(typeof s.get).toBe('function')
  })

  it("undici's MemoryCacheStore is one of ours", () => {
    expectTypeOf<InstanceType<typeof cacheStores.MemoryCacheStore>>().toExtend<CacheStore>()
    const s: CacheStore = new cacheStores.MemoryCacheStore()
    expect(typeof s.createWriteStream).toBe('function')
  })
})
