// Random route tables and random paths, checked against a deliberately naive reference:
// match every template on its own, order the matches by specificity, pick the first
// that accepts the method.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRouter, type RouteMatch, type RouterOptions } from '../src/index.js'

type Seg = { kind: 'static'; text: string } | { kind: 'param' } | { kind: 'rest' }
interface Spec {
  methods: string[]
  segs: Seg[]
  trailing: boolean
}

const NAMES = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']

function templateOf(spec: Spec): string {
  let i = 0
  const parts = spec.segs.map((s) =>
    s.kind === 'static' ? s.text : s.kind === 'param' ? `{${NAMES[i++]}}` : `{...${NAMES[i++]}}`,
  )
  return `/${parts.join('/')}${spec.trailing && parts.length > 0 ? '/' : ''}`
}

/** Template segments as the reference sees them (a kept trailing slash is a final empty static). */
function refSegments(spec: Spec, ignoreTrailingSlash: boolean): Seg[] {
  const segs = spec.segs.slice()
  if (spec.trailing && segs.length > 0 && !ignoreTrailingSlash && segs[segs.length - 1]!.kind !== 'rest') {
    segs.push({ kind: 'static', text: '' })
  }
  return segs
}

/** Splits and decodes a path the slow, obvious way; undefined when it is unmatchable. */
function refPath(path: string, o: Required<RouterOptions>): string[] | undefined {
  const q = path.indexOf('?')
  if (q !== -1) path = path.slice(0, q)
  if (!path.startsWith('/')) return undefined
  if (o.ignoreTrailingSlash && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  if (path === '/') return []
  const out: string[] = []
  for (const raw of path.slice(1).split('/')) {
    try {
      out.push(decodeURIComponent(raw))
    } catch {
      return undefined
    }
  }
  return out
}

/** The specificity key of one template matched against `segs`, and its params; undefined on no match. */
function refMatch(tsegs: Seg[], segs: string[], o: Required<RouterOptions>) {
  const key: number[] = []
  const values: string[] = []
  for (let i = 0; i < tsegs.length; i++) {
    const t = tsegs[i]!
    if (t.kind === 'rest') {
      values.push(segs.slice(i).join('/'))
      key.push(2)
      return { key, values }
    }
    if (i >= segs.length) return undefined
    const s = segs[i]!
    if (t.kind === 'static') {
      const eq = o.caseSensitive ? s === t.text : s.toLowerCase() === t.text.toLowerCase()
      if (!eq) return undefined
      key.push(0)
    } else {
      if (s === '') return undefined
      values.push(s)
      key.push(1)
    }
  }
  return tsegs.length === segs.length ? { key, values } : undefined
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

function shapeOf(tsegs: Seg[], o: Required<RouterOptions>): string {
  return tsegs
    .map((s) => (s.kind === 'static' ? `s:${o.caseSensitive ? s.text : s.text.toLowerCase()}` : s.kind))
    .join('|')
}

function reference(specs: Spec[], o: Required<RouterOptions>, method: string, path: string) {
  const segs = refPath(path, o)
  if (segs === undefined) return { kind: 'not-found' as const }
  // Group routes by shape: routes of one shape answer together, as one endpoint.
  const groups = new Map<string, { tsegs: Seg[]; byMethod: Map<string, number> }>()
  specs.forEach((spec, index) => {
    const tsegs = refSegments(spec, o.ignoreTrailingSlash)
    const shape = shapeOf(tsegs, o)
    let g = groups.get(shape)
    if (g === undefined) {
      g = { tsegs, byMethod: new Map() }
      groups.set(shape, g)
    }
    for (const m of spec.methods) g.byMethod.set(m, index)
  })
  const matches: Array<{ key: number[]; values: string[]; byMethod: Map<string, number> }> = []
  for (const g of groups.values()) {
    const m = refMatch(g.tsegs, segs, o)
    if (m !== undefined) matches.push({ ...m, byMethod: g.byMethod })
  }
  matches.sort((a, b) => compareKeys(a.key, b.key))
  const allow = new Set<string>()
  for (const m of matches) {
    const index =
      m.byMethod.get(method) ?? (method === 'HEAD' ? m.byMethod.get('GET') : undefined) ?? m.byMethod.get('*')
    if (index !== undefined) {
      const spec = specs[index]!
      const params: Record<string, string> = {}
      let i = 0
      for (const s of spec.segs) if (s.kind !== 'static') params[NAMES[i]!] = m.values[i++]!
      return { kind: 'found' as const, value: index, params }
    }
    for (const k of m.byMethod.keys()) if (k !== '*') allow.add(k)
    if (m.byMethod.has('GET')) allow.add('HEAD')
  }
  if (matches.length > 0) return { kind: 'method-not-allowed' as const, allow: [...allow].sort() }
  return { kind: 'not-found' as const }
}

function normalize(m: RouteMatch<number>) {
  if (m.kind === 'found') return { kind: m.kind, value: m.value, params: { ...m.params } }
  if (m.kind === 'method-not-allowed') return { kind: m.kind, allow: [...m.allow] }
  return { kind: m.kind }
}

const segArb: fc.Arbitrary<Seg> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('a', 'b', 'A', 'c').map((text) => ({ kind: 'static' as const, text })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'param' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rest' as const }) },
)

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    methods: fc.uniqueArray(fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE', '*'), {
      minLength: 1,
      maxLength: 3,
    }),
    segs: fc.array(segArb, { maxLength: 5 }),
    trailing: fc.boolean(),
  })
  .map((s) => {
    const restAt = s.segs.findIndex((x) => x.kind === 'rest')
    return restAt === -1 ? s : { ...s, segs: s.segs.slice(0, restAt + 1), trailing: false }
  })

const pathArb = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'b', 'A', 'c', 'x', '', '%61', 'a%2Fb', '%zz', 'caf%C3%A9'), {
      maxLength: 7,
    }),
    fc.boolean(),
    fc.constantFrom('', '?q=1', '?a/b'),
  )
  .map(([segs, trailing, query]) => `/${segs.join('/')}${trailing ? '/' : ''}${query}`)

describe('property: router agrees with a naive reference matcher', () => {
  it.each([
    { name: 'default options', options: { caseSensitive: true, ignoreTrailingSlash: true } },
    { name: 'case-insensitive', options: { caseSensitive: false, ignoreTrailingSlash: true } },
    { name: 'strict trailing slash', options: { caseSensitive: true, ignoreTrailingSlash: false } },
    {
      name: 'case-insensitive and strict trailing slash',
      options: { caseSensitive: false, ignoreTrailingSlash: false },
    },
  ])('on random tables and paths ($name)', ({ options }) => {
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'PUT'), pathArb), {
          minLength: 1,
          maxLength: 20,
        }),
        (specs, lookups) => {
          const router = createRouter<number>(options)
          const kept: Spec[] = []
          for (const spec of specs) {
            // A spec the router refuses (a duplicate) is dropped from the reference too.
            try {
              router.add(spec.methods, templateOf(spec), kept.length)
              kept.push(spec)
            } catch (e) {
              expect((e as { code?: string }).code).toBe('X_ERR_ROUTER_DUPLICATE_ROUTE')
            }
          }
          for (const [method, path] of lookups) {
            expect(normalize(router.find(method, path)), `${method} ${path}`).toEqual(
              reference(kept, options, method, path),
            )
          }
        },
      ),
      { numRuns: 400 },
    )
  })
})
