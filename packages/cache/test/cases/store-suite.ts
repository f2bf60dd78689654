// The store contract, run against every store (as undici runs one suite over its stores):
// lookups by origin, method, path and Vary'd headers; replacement; delete; expiry; size
// limits; and end-to-end use by our interceptor and by undici's own.
import { Readable } from 'node:stream'
import { Agent, interceptors, request } from 'undici'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cache } from '../../src/index.ts'
import type { CacheGetResult, CacheKey, CacheStore, CacheValue } from '../../src/store.ts'
import { Clock, type Origin, startOrigin } from '../helpers/origin.ts'

/** What a store's test file provides. */
export interface StoreHarness {
  /** A new, empty store using `now` as its clock and `maxEntryBytes` as its limit. */
  create(options: { now: () => number; maxEntryBytes: number }): Promise<CacheStore> | CacheStore
  /** Releases what `create` made. */
  dispose(store: CacheStore): Promise<void> | void
  setup?(): Promise<void>
  teardown?(): Promise<void>
}

export async function bodyOf(result: CacheGetResult | undefined): Promise<string> {
  const body = result?.body
  if (body == null) return ''
  if (typeof body === 'string') return body
  if (Buffer.isBuffer(body)) return body.toString()
  const parts: Buffer[] = []
  const source = Array.isArray(body)
    ? body
    : body instanceof Readable
      ? body
      : (body as AsyncIterable<Buffer>)
  for await (const c of source as AsyncIterable<Buffer | string>) parts.push(Buffer.from(c))
  return Buffer.concat(parts).toString()
}

export function write(store: CacheStore, key: CacheKey, value: CacheValue, chunks: string[]): Promise<void> {
  const ws = store.createWriteStream(key, value)
  if (ws === undefined) return Promise.resolve()
  return new Promise((resolve, reject) => {
    ws.once('close', resolve)
    ws.once('error', reject)
    for (const c of chunks) ws.write(Buffer.from(c))
    ws.end()
  })
}

export function storeSuite(name: string, harness: StoreHarness): void {
  describe(`${name}: the store contract`, () => {
    let clock: Clock
    let store: CacheStore
    const origin = 'http://example.test'

    function value(overrides: Partial<CacheValue> = {}): CacheValue {
      return {
        statusCode: 200,
        statusMessage: 'OK',
        headers: { 'content-type': 'text/plain' },
        cacheControlDirectives: { 'max-age': 60 },
        cachedAt: clock.ms,
        staleAt: clock.ms + 60_000,
        deleteAt: clock.ms + 120_000,
        ...overrides,
      }
    }

    beforeAll(async () => {
      await harness.setup?.()
    })
    afterAll(async () => {
      await harness.teardown?.()
    })
    beforeEach(async () => {
      clock = new Clock()
      store = await harness.create({ now: clock.now, maxEntryBytes: 1024 })
    })
    afterEach(async () => {
      await harness.dispose(store)
    })

    it('answers undefined for a key never written', async () => {
      expect(await store.get({ origin, method: 'GET', path: '/none', headers: {} })).toBeUndefined()
    })

    it('returns what was written, body included', async () => {
      const key = { origin, method: 'GET', path: '/a?q=1', headers: {} }
      await write(store, key, value({ etag: '"x"' }), ['hel', 'lo'])
      const got = await store.get(key)
      expect(got?.statusCode).toBe(200)
      expect(got?.headers['content-type']).toBe('text/plain')
      expect(got?.etag).toBe('"x"')
      expect(got?.cacheControlDirectives['max-age']).toBe(60)
      expect(got?.staleAt).toBe(clock.ms + 60_000)
      expect(await bodyOf(got)).toBe('hello')
    })

    it('keys on origin, method and path', async () => {
      const key = { origin, method: 'GET', path: '/a', headers: {} }
      await write(store, key, value(), ['a'])
      expect(await store.get({ ...key, origin: 'http://other.test' })).toBeUndefined()
      expect(await store.get({ ...key, method: 'POST' })).toBeUndefined()
      expect(await store.get({ ...key, path: '/a?x' })).toBeUndefined()
    })

    it('keeps one entry per Vary variant and matches normalised request values', async () => {
      const path = '/v'
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'accept-encoding': 'gzip' } },
        value({ vary: { 'accept-encoding': 'gzip' } }),
        ['gz'],
      )
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'accept-encoding': 'br,gzip' } },
        value({ vary: { 'accept-encoding': 'br,gzip' } }),
        ['both'],
      )
      await write(
        store,
        { origin, method: 'GET', path, headers: {} },
        value({ vary: { 'accept-encoding': null } }),
        ['none'],
      )
      const get = (headers: Record<string, string | string[]>) =>
        store.get({ origin, method: 'GET', path, headers })
      expect(await bodyOf(await get({ 'accept-encoding': 'gzip' }))).toBe('gz')
      expect(await bodyOf(await get({ 'accept-encoding': 'GZIP, br' }))).toBe('both')
      expect(await bodyOf(await get({ 'accept-encoding': ['br', 'gzip'] }))).toBe('both')
      expect(await bodyOf(await get({}))).toBe('none')
      expect(await get({ 'accept-encoding': 'deflate' })).toBeUndefined()
    })

    it('never matches a Vary of *', async () => {
      const key = { origin, method: 'GET', path: '/star', headers: {} }
      await write(store, key, value({ vary: { '*': null } }), ['x'])
      expect(await store.get(key)).toBeUndefined()
    })

    it('replaces the variant a new write for the same request supersedes', async () => {
      const key = { origin, method: 'GET', path: '/r', headers: { 'accept-language': 'en' } }
      await write(store, key, value({ vary: { 'accept-language': 'en' } }), ['old'])
      clock.advance(1)
      await write(store, key, value({ vary: { 'accept-language': 'en' } }), ['new'])
      expect(await bodyOf(await store.get(key))).toBe('new')
    })

    it('answers the most recent of several stored responses that fit the request', async () => {
      const path = '/recent'
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'x-a': '1' } },
        value({ vary: { 'x-a': '1' } }),
        ['older'],
      )
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'x-a': '2' } },
        value({ vary: { 'x-b': null }, cachedAt: clock.ms + 1000 }),
        ['newer'],
      )
      expect(await bodyOf(await store.get({ origin, method: 'GET', path, headers: { 'x-a': '1' } }))).toBe(
        'newer',
      )
    })

    it('deletes every variant of a URL', async () => {
      const path = '/d'
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'x-a': '1' } },
        value({ vary: { 'x-a': '1' } }),
        ['1'],
      )
      await write(
        store,
        { origin, method: 'GET', path, headers: { 'x-a': '2' } },
        value({ vary: { 'x-a': '2' } }),
        ['2'],
      )
      await store.delete({ origin, method: 'GET', path })
      expect(await store.get({ origin, method: 'GET', path, headers: { 'x-a': '1' } })).toBeUndefined()
      expect(await store.get({ origin, method: 'GET', path, headers: { 'x-a': '2' } })).toBeUndefined()
    })

    it('stops returning an entry once its deleteAt has passed', async () => {
      const key = { origin, method: 'GET', path: '/t', headers: {} }
      await write(store, key, value({ deleteAt: clock.ms + 5_000 }), ['t'])
      expect(await store.get(key)).toBeDefined()
      clock.advance(6)
      expect(await store.get(key)).toBeUndefined()
    })

    it('does not store a body over maxEntryBytes', async () => {
      const key = { origin, method: 'GET', path: '/big', headers: {} }
      await write(store, key, value(), ['x'.repeat(600), 'y'.repeat(600)])
      expect(await store.get(key)).toBeUndefined()
    })

    it('does not store an entry whose body stream was destroyed', async () => {
      const key = { origin, method: 'GET', path: '/cut', headers: {} }
      const ws = store.createWriteStream(key, value())!
      ws.on('error', () => {})
      ws.write(Buffer.from('partial'))
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve())
        ws.destroy()
      })
      expect(await store.get(key)).toBeUndefined()
    })

    it('rejects a malformed key or value with a TypeError', async () => {
      expect(() => store.createWriteStream({ origin } as unknown as CacheKey, value())).toThrow(TypeError)
      expect(() =>
        store.createWriteStream({ origin, method: 'GET', path: '/' }, {
          statusCode: 200,
        } as unknown as CacheValue),
      ).toThrow(TypeError)
      await expect(Promise.resolve().then(() => store.get(null as unknown as CacheKey))).rejects.toThrow(
        TypeError,
      )
    })

    describe('behind an interceptor', () => {
      let o: Origin
      beforeEach(async () => {
        o = await startOrigin()
        o.route('/i', (_req, n) => ({
          headers: { 'cache-control': 'public, max-age=60', etag: '"1"' },
          body: `n${n}`,
        }))
      })
      afterEach(async () => {
        await o.close()
      })

      it.each([
        { name: '@x/cache', make: (s: CacheStore) => cache({ store: s }) },
        {
          name: "undici's interceptors.cache",
          make: (s: CacheStore) => interceptors.cache({ store: s as never }),
        },
      ])('serves a stored response through $name', async ({ make }) => {
        const agent = new Agent()
        const d = agent.compose(make(store))
        const read = async () => await (await request(`${o.url}/i`, { dispatcher: d })).body.text()
        // The store may finish its write after the response ends: wait for it to be visible.
        expect(await read()).toBe('n1')
        for (
          let i = 0;
          i < 50 &&
          (await store.get({ origin: o.url, method: 'GET', path: '/i', headers: {} })) === undefined;
          i++
        ) {
          await new Promise((r) => setImmediate(r))
        }
        expect(await read()).toBe('n1')
        expect(o.hits('/i')).toBe(1)
        await agent.close()
      })
    })
  })
}
