import { describe, expect, it } from 'vitest'
import { isCacheError, MemoryStore } from '../src/index.ts'
import type { CacheValue } from '../src/store.ts'
import { storeSuite, write } from './cases/store-suite.ts'
import { Clock } from './helpers/origin.ts'

storeSuite('MemoryStore', {
  create: ({ now, maxEntryBytes }) => new MemoryStore({ now, maxEntryBytes }),
  dispose: () => {},
})

const origin = 'http://example.test'
function value(clock: Clock): CacheValue {
  return {
    statusCode: 200,
    statusMessage: 'OK',
    headers: {},
    cachedAt: clock.ms,
    staleAt: clock.ms + 60_000,
    deleteAt: clock.ms + 60_000,
  }
}
const key = (path: string) => ({ origin, method: 'GET', path, headers: {} })

describe('MemoryStore bounds', () => {
  it('evicts single-variant URLs, least recently used first, when full', async () => {
    const clock = new Clock()
    const store = new MemoryStore({ maxEntries: 4, evictionFactor: 0.5, now: clock.now })
    for (const p of ['/1', '/2', '/3', '/4']) await write(store, key(p), value(clock), ['x'])
    store.get(key('/1'))
    await write(store, key('/5'), value(clock), ['x'])
    expect(store.size).toBe(3)
    expect(store.get(key('/1'))).toBeDefined()
    expect(store.get(key('/2'))).toBeUndefined()
    expect(store.get(key('/3'))).toBeUndefined()
    expect(store.get(key('/4'))).toBeDefined()
    expect(store.get(key('/5'))).toBeDefined()
  })

  it('drops entries until the bytes fit', async () => {
    const clock = new Clock()
    const store = new MemoryStore({
      maxBytes: 3000,
      maxEntryBytes: 3000,
      evictionFactor: 0.01,
      now: clock.now,
    })
    for (const p of ['/1', '/2', '/3']) await write(store, key(p), value(clock), ['x'.repeat(600)])
    await write(store, key('/4'), value(clock), ['x'.repeat(1500)])
    expect(store.bytes).toBeLessThanOrEqual(3000)
    expect(store.get(key('/4'))).toBeDefined()
    expect(store.get(key('/1'))).toBeUndefined()
  })

  it('never holds more than maxEntries under churn', async () => {
    const clock = new Clock()
    const store = new MemoryStore({ maxEntries: 16, now: clock.now })
    for (let i = 0; i < 200; i++) await write(store, key(`/${i}`), value(clock), ['x'])
    expect(store.size).toBeLessThanOrEqual(16)
    expect(store.get(key('/199'))).toBeDefined()
  })

  it('clear() empties it', async () => {
    const clock = new Clock()
    const store = new MemoryStore({ now: clock.now })
    await write(store, key('/a'), value(clock), ['x'])
    store.clear()
    expect([store.size, store.bytes]).toEqual([0, 0])
  })

  it.each([
    { name: 'maxEntries 0', options: { maxEntries: 0 } },
    { name: 'maxEntries 1.5', options: { maxEntries: 1.5 } },
    { name: 'maxBytes negative', options: { maxBytes: -1 } },
    { name: 'maxEntryBytes a string', options: { maxEntryBytes: '1' } },
    { name: 'evictionFactor 0', options: { evictionFactor: 0 } },
    { name: 'evictionFactor above 1', options: { evictionFactor: 1.5 } },
    { name: 'evictionFactor NaN', options: { evictionFactor: Number.NaN } },
    { name: 'now not a function', options: { now: 5 } },
  ])('rejects $name', ({ options }) => {
    let caught: unknown
    try {
      new MemoryStore(options as never)
    } catch (e) {
      caught = e
    }
    expect(isCacheError(caught, 'X_ERR_CACHE_INVALID_OPTION')).toBe(true)
  })
})
