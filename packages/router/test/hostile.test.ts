// Hostile paths: huge, deeply segmented, escape-heavy. Lookups must answer (never throw)
// and stay linear in the path length.
import { describe, expect, it } from 'vitest'
import { createRouter } from '../src/index.js'

function githubLike() {
  const r = createRouter<string>()
  r.add('GET', '/users/{id}', 'user')
  r.add('GET', '/users/{id}/posts/{postId}', 'post')
  r.add('GET', '/static/a/b/c', 'static')
  r.add('GET', '/files/{...path}', 'files')
  for (let i = 0; i < 12; i++) {
    // Twelve templates that share every parameter branch and dead-end only at the last
    // segment: the worst case for backtracking.
    const segs = Array.from({ length: 12 }, (_, j) => (j === i ? 'a' : `{p${j}}`))
    r.add('GET', `/${segs.join('/')}/end${i}`, `deep${i}`)
  }
  return r
}

/** Best of several runs of `fn`, in ms: the minimum is the least noisy estimate. */
function bestOf(runs: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

describe('hostile paths', () => {
  const r = githubLike()

  it.each([
    { name: 'a 64 KiB segment', path: `/users/${'x'.repeat(64 * 1024)}`, kind: 'found' },
    { name: 'a 64 KiB path of many segments', path: '/x'.repeat(32 * 1024), kind: 'not-found' },
    { name: '10,000 segments', path: '/a'.repeat(10_000), kind: 'not-found' },
    { name: '10,000 segments under a rest match', path: `/files${'/a'.repeat(10_000)}`, kind: 'found' },
    { name: '10,000 empty segments', path: '/'.repeat(10_000), kind: 'not-found' },
    { name: 'thousands of valid escapes', path: `/users/${'%41'.repeat(5000)}`, kind: 'found' },
    { name: 'thousands of malformed escapes', path: `/users/${'%G'.repeat(5000)}`, kind: 'not-found' },
    { name: 'a lone % at the end of a long path', path: `/users/${'a'.repeat(60_000)}%`, kind: 'not-found' },
    {
      name: 'escapes of every byte',
      path: `/files/${Array.from({ length: 256 }, (_, i) => `%${i.toString(16).padStart(2, '0')}`).join('')}`,
      kind: 'not-found',
    },
    { name: 'a path of only query', path: `/?${'a'.repeat(60_000)}`, kind: 'not-found' },
    { name: 'control characters and NUL', path: '/users/\u0000\r\n', kind: 'found' },
    { name: 'lone surrogates', path: '/users/\ud800\udfff\ud800', kind: 'found' },
    {
      name: 'a dead-end behind every parameter branch',
      path: `/${Array(12).fill('a').join('/')}/nope`,
      kind: 'not-found',
    },
  ])('answers $name with $kind and without throwing', ({ path, kind }) => {
    expect(r.find('GET', path).kind).toBe(kind)
  })

  it('returns the parameter of a 64 KiB segment whole', () => {
    const id = 'y'.repeat(64 * 1024)
    const m = r.find('GET', `/users/${id}`)
    expect(m.kind === 'found' && m.params.id).toBe(id)
  })

  it('answers a method name that is an Object.prototype key like any unknown method', () => {
    expect(r.find('__proto__', '/static/a/b/c')).toEqual({
      kind: 'method-not-allowed',
      allow: ['GET', 'HEAD'],
    })
    expect(r.find('constructor', '/users/1')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD'] })
  })

  it.each([
    { name: 'segments', unit: '/a', prefix: '/users' },
    { name: 'one long segment', unit: 'a' },
    { name: 'escapes', unit: '%41' },
    { name: 'rest-matched segments', unit: '/b', prefix: '/files' },
  ])('takes time linear in the path length ($name)', ({ unit, prefix = '/users/' }) => {
    const small = prefix + unit.repeat(2_000)
    const large = prefix + unit.repeat(16_000)
    const lookups = (path: string) => () => {
      for (let i = 0; i < 200; i++) r.find('GET', path)
    }
    bestOf(3, lookups(large)) // warm-up
    const tSmall = bestOf(7, lookups(small))
    const tLarge = bestOf(7, lookups(large))
    // 8× the length: linear costs about 8×, quadratic about 64×. Allow generous noise.
    expect(tLarge / Math.max(tSmall, 0.01)).toBeLessThan(24)
  })
})
