import * as diagnostics from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { type CacheGetResult, MemoryStore } from '@x/cache'
import { fetch } from 'undici'
import { describe, expect, it } from 'vitest'
import { listen } from '../../../../test-support/listen.ts'
import { clientChain } from '../../src/client/chain.js'
import { resolveClientOptions } from '../../src/client/options.js'
import { Client, type ClientOptions, isClientError } from '../../src/index.js'
import { client, onCleanup, server } from './helpers.ts'

/** A clock the test moves; the cache reads it and the origin dates its answers by it. */
class Clock {
  ms = Date.UTC(2026, 0, 1, 12)
  readonly now = (): number => this.ms
  advance(seconds: number): void {
    this.ms += seconds * 1000
  }
  date(): string {
    return new Date(this.ms).toUTCString()
  }
}

/** An origin that counts what reaches it, per path. */
async function origin(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const hits = new Map<string, number>()
  const seen: IncomingMessage[] = []
  const s = await server((req, res) => {
    const n = (hits.get(req.url ?? '') ?? 0) + 1
    hits.set(req.url ?? '', n)
    seen.push(req)
    handle(req, res, n)
  })
  return { url: s.url, hits: (path: string) => hits.get(path) ?? 0, seen }
}

function cached(options: ClientOptions['cache'], clock: Clock, extra: ClientOptions = {}) {
  return (url: string) => client(url, { ...extra, cache: { now: clock.now, ...options } })
}

describe('the cache option', () => {
  it('answers a repeated GET from the cache without reaching the origin', async () => {
    const clock = new Clock()
    const o = await origin((_req, res, n) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"', date: clock.date() }).end(`v${n}`)
    })
    const c = cached({}, clock)(o.url)
    const first = await c.get('/doc')
    expect(await first.text()).toBe('v1')
    clock.advance(10)
    const second = await c.get('/doc')
    expect(await second.text()).toBe('v1')
    expect(second.headers.age).toBe('10')
    expect(o.hits('/doc')).toBe(1)
  })

  it('answers fetch(url, { dispatcher: client.dispatcher }) from the same cache', async () => {
    const clock = new Clock()
    const o = await origin((_req, res, n) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"', date: clock.date() }).end(`v${n}`)
    })
    const c = cached({}, clock)(o.url)
    expect(await (await c.get('/doc')).text()).toBe('v1')
    const res = await fetch(`${o.url}/doc`, { dispatcher: c.dispatcher })
    expect(await res.text()).toBe('v1')
    expect(res.headers.get('age')).toBe('0')
    expect(o.hits('/doc')).toBe(1)
  })

  it('revalidates a stale entry and takes the headers of the 304', async () => {
    const clock = new Clock()
    const o = await origin((req, res, n) => {
      const headers = { 'cache-control': 'max-age=5', etag: '"a"', 'x-version': `${n}`, date: clock.date() }
      if (req.headers['if-none-match'] === '"a"') res.writeHead(304, headers).end()
      else res.writeHead(200, headers).end('body')
    })
    const c = cached({}, clock)(o.url)
    await (await c.get('/doc')).text()
    clock.advance(6)
    const res = await c.get('/doc')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('body')
    expect(res.headers['x-version']).toBe('2')
    expect(o.seen[1]?.headers['if-none-match']).toBe('"a"')
    clock.advance(2)
    expect((await c.get('/doc')).headers['x-version']).toBe('2')
    expect(o.hits('/doc')).toBe(2)
  })

  it('keeps one variant per Vary value', async () => {
    const clock = new Clock()
    const o = await origin((req, res) => {
      res
        .writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"', vary: 'accept-language' })
        .end(String(req.headers['accept-language']))
    })
    const c = cached({}, clock)(o.url)
    const get = async (lang: string) => (await c.get('/doc', { headers: { 'accept-language': lang } })).text()
    expect(await get('en')).toBe('en')
    expect(await get('fr')).toBe('fr')
    expect(await get('en')).toBe('en')
    expect(await get('fr')).toBe('fr')
    expect(o.hits('/doc')).toBe(2)
  })

  it('drops the entry after a successful POST to the same URL', async () => {
    const clock = new Clock()
    const o = await origin((req, res, n) => {
      if (req.method === 'POST') return void req.resume().on('end', () => res.writeHead(204).end())
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"' }).end(`v${n}`)
    })
    const c = cached({}, clock)(o.url)
    expect(await (await c.get('/doc')).text()).toBe('v1')
    expect((await c.post('/doc', 'change')).status).toBe(204)
    expect(await (await c.get('/doc')).text()).toBe('v3')
  })

  it('serves the stale entry within stale-if-error when the origin answers 503, even after retries', async () => {
    const clock = new Clock()
    let fail = false
    const o = await origin((_req, res) => {
      if (fail) return void res.writeHead(503, { 'retry-after': '0' }).end()
      res.writeHead(200, { 'cache-control': 'max-age=5, stale-if-error=60', etag: '"a"' }).end('kept')
    })
    const c = cached({}, clock, { retryConfig: { count: 1, interval: 1 } })(o.url)
    await (await c.get('/doc')).text()
    fail = true
    clock.advance(10)
    const res = await c.get('/doc')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('kept')
    expect(o.hits('/doc')).toBe(3)
    clock.advance(60)
    expect((await c.get('/doc')).status).toBe(503)
  })

  it('serves the stale entry within stale-if-error when the origin is gone', async () => {
    const clock = new Clock()
    const srv = createServer((_req, res) => {
      res
        .writeHead(200, { 'cache-control': 'max-age=5, stale-if-error=60', etag: '"a"', connection: 'close' })
        .end('kept')
    })
    const l = await listen(srv)
    const c = cached({}, clock)(l.url)
    await (await c.get('/doc')).text()
    await l.drained()
    await l.close()
    clock.advance(10)
    const res = await c.get('/doc')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('kept')
    clock.advance(60)
    expect(isClientError(await c.get('/doc').catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECT_FAILED')).toBe(
      true,
    )
  })

  it('answers HEAD from a stored GET', async () => {
    const clock = new Clock()
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"', 'content-length': '5' }).end('hello')
    })
    const c = cached({}, clock)(o.url)
    await (await c.get('/doc')).text()
    const head = await c.head('/doc')
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('5')
    expect(await head.text()).toBe('')
    expect(o.hits('/doc')).toBe(1)
  })

  it('stores the encoded body and decodes each hit for the caller (decompress is outside the cache)', async () => {
    const clock = new Clock()
    const gz = gzipSync('hello, cache')
    const o = await origin((req, res) => {
      res
        .writeHead(200, {
          'cache-control': 'max-age=60',
          etag: '"a"',
          vary: 'accept-encoding',
          'content-encoding': 'gzip',
          'x-asked': String(req.headers['accept-encoding']),
        })
        .end(gz)
    })
    const store = new MemoryStore({ now: clock.now })
    const c = cached({ store }, clock)(o.url)
    const first = await c.get('/doc')
    expect(await first.text()).toBe('hello, cache')
    expect(first.headers['content-encoding']).toBeUndefined()
    const entry = store.get({
      origin: o.url,
      method: 'GET',
      path: '/doc',
      headers: { 'accept-encoding': 'br, gzip, deflate' },
    }) as CacheGetResult
    expect(entry.headers['content-encoding']).toBe('gzip')
    expect(Buffer.concat(entry.body as Buffer[])).toEqual(gz)
    const hit = await c.get('/doc')
    expect(await hit.text()).toBe('hello, cache')
    expect(hit.headers['content-encoding']).toBeUndefined()
    expect(hit.headers.age).toBe('0')
    // A caller with its own Accept-Encoding is another variant and gets the body as sent.
    const raw = await c.get('/doc', { headers: { 'accept-encoding': 'gzip' } })
    expect(Buffer.from(await raw.bytes())).toEqual(gz)
    expect(o.hits('/doc')).toBe(2)
  })

  it('applies maxDecodedSize to hits too: a stored bomb fails every time it is decoded', async () => {
    const clock = new Clock()
    const bomb = gzipSync(Buffer.alloc(1 << 20))
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"', 'content-encoding': 'gzip' }).end(bomb)
    })
    const c = cached({}, clock, { maxDecodedSize: 1024 })(o.url)
    for (let i = 0; i < 2; i++) {
      const err = await c
        .get('/doc')
        .then((r) => r.text())
        .catch((e: unknown) => e)
      expect(isClientError(err, 'X_ERR_CLIENT_DECODED_TOO_LARGE')).toBe(true)
    }
    // The encoded body arrived whole before decoding failed, so it was stored; the hit was
    // decoded again under the same limit.
    expect(o.hits('/doc')).toBe(1)
  })

  it('does not store a redirected response under the URL first asked for (the cache is outside redirect)', async () => {
    const clock = new Clock()
    const o = await origin((req, res, n) => {
      if (req.url === '/old') return void res.writeHead(301, { location: '/new' }).end()
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"' }).end(`new${n}`)
    })
    const c = cached({}, clock, { followRedirects: { enabled: true } })(o.url)
    expect(await (await c.get('/old')).text()).toBe('new1')
    expect(await (await c.get('/old')).text()).toBe('new2')
    expect(o.hits('/old')).toBe(2)
  })

  it('keeps private answers out of a shared cache (isShared) and in a private one', async () => {
    const clock = new Clock()
    const o = await origin((_req, res, n) => {
      res.writeHead(200, { 'cache-control': 'private, max-age=60', etag: '"a"' }).end(`v${n}`)
    })
    const shared = cached({ isShared: true }, clock)(o.url)
    await (await shared.get('/a')).text()
    await (await shared.get('/a')).text()
    expect(o.hits('/a')).toBe(2)
    const own = cached({}, clock)(o.url)
    await (await own.get('/b')).text()
    await (await own.get('/b')).text()
    expect(o.hits('/b')).toBe(1)
  })

  it("follows Ballerina's default policy: no validator, not stored; RFC_9111 stores it", async () => {
    const clock = new Clock()
    const o = await origin((_req, res, n) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`v${n}`)
    })
    const strict = cached({}, clock)(o.url)
    await (await strict.get('/a')).text()
    await (await strict.get('/a')).text()
    expect(o.hits('/a')).toBe(2)
    const rfc = cached({ policy: 'RFC_9111' }, clock)(o.url)
    await (await rfc.get('/b')).text()
    await (await rfc.get('/b')).text()
    expect(o.hits('/b')).toBe(1)
  })

  it('evicts by capacity and evictionFactor in the default store', async () => {
    const clock = new Clock()
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"' }).end('x')
    })
    const c = cached({ capacity: 2, evictionFactor: 0.5 }, clock)(o.url)
    for (const p of ['/1', '/2', '/3']) await (await c.get(p)).text()
    // Storing /3 dropped the least recently used entry, /1.
    await (await c.get('/1')).text()
    await (await c.get('/3')).text()
    expect([o.hits('/1'), o.hits('/3')]).toEqual([2, 1])
  })

  it('reports hits on x:cache:hit', async () => {
    const clock = new Clock()
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a"' }).end('x')
    })
    const c = cached({}, clock)(o.url)
    const hits: unknown[] = []
    const onHit = (m: unknown) => hits.push(m)
    diagnostics.subscribe('x:cache:hit', onHit)
    onCleanup(async () => {
      diagnostics.unsubscribe('x:cache:hit', onHit)
    })
    await (await c.get('/doc')).text()
    await (await c.get('/doc')).text()
    expect(hits).toEqual([{ origin: o.url, path: '/doc', method: 'GET', age: 0 }])
  })
})

describe('the cache in the chain', () => {
  it('sits between decompress and redirect when enabled, and is absent otherwise', () => {
    const on = resolveClientOptions({ cache: {}, followRedirects: { enabled: true } })
    expect(clientChain(on).map((s) => s.name)).toEqual(['deadline', 'decompress', 'cache', 'redirect'])
    expect(clientChain(resolveClientOptions({})).some((s) => s.name === 'cache')).toBe(false)
    const off = resolveClientOptions({ cache: { enabled: false, isShared: true } })
    expect(off.cache).toBeNull()
    expect(clientChain(off).some((s) => s.name === 'cache')).toBe(false)
  })

  it("maps Ballerina's names onto the cache's own in client.config", () => {
    const store = new MemoryStore()
    const c = new Client('http://127.0.0.1:1', {
      cache: { isShared: true, policy: 'RFC_9111', store, targets: ['CDN-Cache-Control'] },
    })
    onCleanup(() => c.close())
    expect(c.config.cache).toEqual({
      shared: true,
      policy: 'RFC_9111',
      store,
      targets: ['CDN-Cache-Control'],
    })
  })

  it.each([
    { name: 'cache that is not an object', cache: true, option: 'cache' },
    { name: 'an unknown cache option', cache: { size: 10 }, option: 'cache.size' },
    { name: 'enabled that is not a boolean', cache: { enabled: 'yes' }, option: 'cache.enabled' },
    { name: 'isShared that is not a boolean', cache: { isShared: 1 }, option: 'cache.isShared' },
    { name: 'a zero capacity', cache: { capacity: 0 }, option: 'cache.capacity' },
    { name: 'a fractional capacity', cache: { capacity: 1.5 }, option: 'cache.capacity' },
    { name: 'an evictionFactor above 1', cache: { evictionFactor: 1.5 }, option: 'cache.evictionFactor' },
    { name: 'an unknown policy', cache: { policy: 'RFC_7234' }, option: 'cache.policy' },
    { name: 'a store without get', cache: { store: { delete() {} } }, option: 'cache.store' },
    {
      name: 'capacity together with a store',
      cache: { store: new MemoryStore(), capacity: 5 },
      option: 'cache.capacity',
    },
    { name: 'targets naming Cache-Control', cache: { targets: ['Cache-Control'] }, option: 'cache.targets' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION', ({ cache, option }) => {
    let err: unknown
    try {
      new Client('http://127.0.0.1:1', { cache } as ClientOptions)
    } catch (e) {
      err = e
    }
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((err as { option?: string }).option).toBe(option)
  })
})
