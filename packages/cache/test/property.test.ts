// Fast code against naive references: the MemoryStore's LRU bookkeeping against a plain
// array kept in use order, and Vary matching against a spelled-out normalisation.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/index.ts'
import { varyMatches } from '../src/store.ts'
import { Clock } from './helpers/origin.ts'

const origin = 'http://p.test'

describe('MemoryStore against a naive LRU list', () => {
  it('holds and evicts exactly what a list kept in use order would', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        path: fc.integer({ min: 0, max: 11 }),
        size: fc.integer({ min: 0, max: 300 }),
      }),
      fc.record({ kind: fc.constant('get' as const), path: fc.integer({ min: 0, max: 11 }) }),
      fc.record({ kind: fc.constant('delete' as const), path: fc.integer({ min: 0, max: 11 }) }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0.2, 0.5, 1),
        async (ops, maxEntries, factor) => {
          const clock = new Clock()
          const store = new MemoryStore({
            maxEntries,
            evictionFactor: factor,
            now: clock.now,
            maxBytes: 1 << 30,
          })
          const evictCount = Math.max(1, Math.ceil(factor * maxEntries))
          let model: Array<{ path: number; size: number }> = []
          for (const o of ops) {
            const key = { origin, method: 'GET', path: `/${o.path}`, headers: {} }
            if (o.kind === 'put') {
              const ws = store.createWriteStream(key, {
                statusCode: 200,
                statusMessage: 'OK',
                headers: {},
                cachedAt: clock.ms,
                staleAt: clock.ms + 1000,
                deleteAt: clock.ms + 1000,
              })!
              await new Promise<void>((resolve) => {
                ws.once('finish', resolve)
                ws.end(Buffer.alloc(o.size, 1))
              })
              model = model.filter((e) => e.path !== o.path)
              if (model.length >= maxEntries) model = model.slice(evictCount)
              model.push({ path: o.path, size: o.size })
            } else if (o.kind === 'get') {
              const got = store.get(key)
              const i = model.findIndex((e) => e.path === o.path)
              expect(got !== undefined).toBe(i !== -1)
              if (i !== -1) {
                const [e] = model.splice(i, 1)
                model.push(e!)
                expect(Buffer.concat(got!.body as Buffer[]).byteLength).toBe(e!.size)
              }
            } else {
              store.delete(key)
              model = model.filter((e) => e.path !== o.path)
            }
            expect(store.size).toBe(model.length)
            expect(store.size).toBeLessThanOrEqual(maxEntries)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('Vary matching against a spelled-out normalisation', () => {
  const codings = ['gzip', 'br', 'deflate', 'zstd', 'identity', '*']

  it('matches Accept-Encoding values with the same members whatever their order, case and spacing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...codings), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (members, seed) => {
          const a = members.join(', ')
          const pads = [' ', '', '\t', '  ']
          const b = [...members]
            .reverse()
            .map(
              (m, i) =>
                `${pads[(seed + i) % 4]}${(seed + i) % 2 === 0 ? m.toUpperCase() : m}${pads[(seed + 2 * i) % 4]}`,
            )
            .join(',')
          expect(varyMatches({ 'accept-encoding': a }, { 'accept-encoding': b })).toBe(true)
        },
      ),
    )
  })

  it('never matches Accept-Encoding values whose member sets differ', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...codings), { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(fc.constantFrom(...codings), { minLength: 1, maxLength: 5 }),
        (x, y) => {
          const same = [...x].sort().join() === [...y].sort().join()
          expect(varyMatches({ 'accept-encoding': x.join(', ') }, { 'accept-encoding': y.join(',') })).toBe(
            same,
          )
        },
      ),
    )
  })

  it('keeps case and order for fields whose values are not case-insensitive lists', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/),
        fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/),
        (x, y) => {
          expect(varyMatches({ 'x-tenant': x }, { 'x-tenant': y })).toBe(x === y)
          expect(varyMatches({ 'x-list': `${x}, ${y}` }, { 'x-list': `${x},${y}` })).toBe(true)
        },
      ),
    )
  })
})
