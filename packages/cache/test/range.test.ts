import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CacheOptions, cache } from '../src/index.ts'
import { parseRange, resolveRange, sliceChunks } from '../src/range.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let origin: Origin
let clock: Clock
let c: TestClient | undefined

function open(options: CacheOptions = {}): TestClient {
  const opened = client(cache({ now: clock.now, policy: 'RFC_9111', ...options }))
  c = opened
  return opened
}

beforeEach(async () => {
  origin = await startOrigin()
  clock = new Clock()
})

afterEach(async () => {
  await c?.close()
  c = undefined
  await origin.close()
})

describe('ranges cut from a stored complete response', () => {
  beforeEach(() => {
    origin.route('/r', (req) =>
      req.headers.range === undefined
        ? { headers: { 'cache-control': 'max-age=60', 'x-a': '1' }, body: '0123456789' }
        : { status: 206, headers: { 'content-range': 'bytes 0-0/10' }, body: 'X' },
    )
  })

  it.each([
    { name: 'first-last', range: 'bytes=0-1', body: '01', contentRange: 'bytes 0-1/10' },
    { name: 'first- (to the end)', range: 'bytes=3-', body: '3456789', contentRange: 'bytes 3-9/10' },
    { name: 'a suffix', range: 'bytes=-2', body: '89', contentRange: 'bytes 8-9/10' },
    {
      name: 'a last past the end (clamped)',
      range: 'bytes=7-100',
      body: '789',
      contentRange: 'bytes 7-9/10',
    },
    {
      name: 'a suffix longer than the body',
      range: 'bytes=-50',
      body: '0123456789',
      contentRange: 'bytes 0-9/10',
    },
    {
      name: 'an upper-case unit with spaces',
      range: ' BYTES = 2 - 3 ',
      body: '23',
      contentRange: 'bytes 2-3/10',
    },
  ])(
    'answers $name with 206 from the store, keeping the stored fields',
    async ({ range, body, contentRange }) => {
      const c = open()
      await c.send(`${origin.url}/r`)
      const res = await c.send(`${origin.url}/r`, { headers: { range } })
      expect(res.status).toBe(206)
      expect(res.body).toBe(body)
      expect(res.headers['content-range']).toBe(contentRange)
      expect(res.headers['content-length']).toBe(String(body.length))
      expect(res.headers['x-a']).toBe('1')
      expect(res.headers.age).toBe('0')
      expect(origin.hits('/r')).toBe(1)
    },
  )

  it.each([
    { name: 'several ranges', range: 'bytes=0-1,4-5' },
    { name: 'another unit', range: 'items=0-1' },
    { name: 'a reversed range', range: 'bytes=5-2' },
    { name: 'garbage', range: 'bytes=a-b' },
    { name: 'an empty suffix', range: 'bytes=-0' },
  ])('passes $name to the origin untouched', async ({ range }) => {
    const c = open()
    await c.send(`${origin.url}/r`)
    const res = await c.send(`${origin.url}/r`, { headers: { range } })
    expect(res.status).toBe(206)
    expect(res.body).toBe('X')
    expect(origin.seen[1]?.headers.range).toBe(range)
    expect(origin.hits('/r')).toBe(2)
  })

  it('sends the whole stored 200 for a range past the end (a server may ignore Range)', async () => {
    const c = open()
    await c.send(`${origin.url}/r`)
    const res = await c.send(`${origin.url}/r`, { headers: { range: 'bytes=10-' } })
    expect(res.status).toBe(200)
    expect(res.body).toBe('0123456789')
    expect(origin.hits('/r')).toBe(1)
  })

  it('answers a matching If-None-Match with 304 before cutting a range', async () => {
    origin.route('/e', { headers: { 'cache-control': 'max-age=60', etag: '"t"' }, body: '0123' })
    const c = open()
    await c.send(`${origin.url}/e`)
    const res = await c.send(`${origin.url}/e`, { headers: { range: 'bytes=0-1', 'if-none-match': '"t"' } })
    expect(res.status).toBe(304)
    expect(origin.hits('/e')).toBe(1)
  })

  it('passes a range to the origin when the stored response is stale, keeping the entry', async () => {
    const c = open()
    await c.send(`${origin.url}/r`)
    clock.advance(61)
    const partial = await c.send(`${origin.url}/r`, { headers: { range: 'bytes=0-0' } })
    expect(partial.status).toBe(206)
    expect(partial.body).toBe('X')
    expect(origin.hits('/r')).toBe(2)
  })

  it('neither stores a 206 from the origin nor collapses range requests', async () => {
    const c = open()
    const [a, b] = await Promise.all([
      c.send(`${origin.url}/r`, { headers: { range: 'bytes=0-0' } }),
      c.send(`${origin.url}/r`, { headers: { range: 'bytes=0-0' } }),
    ])
    expect([a.status, b.status]).toEqual([206, 206])
    expect(origin.hits('/r')).toBe(2)
    const full = await c.send(`${origin.url}/r`)
    expect(full.status).toBe(200)
    expect(origin.hits('/r')).toBe(3)
  })

  it('cuts the range from the stored encoded bytes, Content-Encoding kept', async () => {
    const gz = gzipSync('hello hello hello')
    origin.route('/z', {
      headers: { 'cache-control': 'max-age=60', 'content-encoding': 'gzip', vary: 'accept-encoding' },
      body: gz,
    })
    const c = open()
    await c.send(`${origin.url}/z`, { headers: { 'accept-encoding': 'gzip' } })
    const res = await c.send(`${origin.url}/z`, {
      headers: { 'accept-encoding': 'gzip', range: 'bytes=0-3' },
    })
    expect(res.status).toBe(206)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-range']).toBe(`bytes 0-3/${gz.length}`)
    expect(res.headers['content-length']).toBe('4')
    expect(origin.hits('/z')).toBe(1)
  })

  it('passes a HEAD with Range on to the origin', async () => {
    const c = open()
    await c.send(`${origin.url}/r`)
    const res = await c.send(`${origin.url}/r`, { method: 'HEAD', headers: { range: 'bytes=0-1' } })
    expect(res.status).toBe(206)
    expect(origin.hits('/r')).toBe(2)
  })
})

describe('range arithmetic', () => {
  it('slices chunked bodies exactly like one contiguous buffer (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 6 }),
        fc.nat(60),
        fc.nat(60),
        (parts, a, b) => {
          const chunks = parts.map((p) => Buffer.from(p))
          const whole = Buffer.concat(chunks)
          const [start, end] = a <= b ? [a, b] : [b, a]
          expect(Buffer.concat(sliceChunks(chunks, start, end))).toEqual(whole.subarray(start, end))
        },
      ),
    )
  })

  it('resolves every parsed range inside the body (property)', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.integer({ min: 1, max: 2000 }), (x, y, total) => {
        const text = x % 3 === 0 ? `bytes=-${y}` : x % 3 === 1 ? `bytes=${x}-` : `bytes=${x}-${x + y}`
        const range = parseRange(text)
        if (range === null) return
        const r = resolveRange(range, total)
        if (r === null) return
        expect(r.start).toBeGreaterThanOrEqual(0)
        expect(r.end).toBeLessThan(total)
        expect(r.start).toBeLessThanOrEqual(r.end)
      }),
    )
  })

  it.each([
    { name: 'a list-valued field', value: ['bytes=0-1', 'bytes=2-3'] },
    { name: 'no equals sign', value: 'bytes 0-1' },
    { name: 'no dash', value: 'bytes=5' },
    { name: 'a 16-digit position', value: 'bytes=1234567890123456-' },
  ])('refuses $name', ({ value }) => {
    expect(parseRange(value)).toBeNull()
  })
})
