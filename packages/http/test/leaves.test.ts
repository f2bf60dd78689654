// The meta-package entries: `@x/http/<leaf>` re-exports each leaf's whole surface, the same
// objects (not copies), and package.json lists one entry per @x dependency in both export maps.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>
  exports: Record<string, unknown>
  publishConfig: { exports: Record<string, unknown> }
}

const entries = [
  {
    name: '@x/http/router',
    load: () => import('../src/leaves/router.ts'),
    leaf: () => import('@x/router'),
  },
  {
    name: '@x/http/client-pool',
    load: () => import('../src/leaves/client-pool.ts'),
    leaf: () => import('@x/client-pool'),
  },
  {
    name: '@x/http/circuit-breaker',
    load: () => import('../src/leaves/circuit-breaker.ts'),
    leaf: () => import('@x/circuit-breaker'),
  },
  {
    name: '@x/http/circuit-breaker/redis',
    load: () => import('../src/leaves/circuit-breaker-redis.ts'),
    leaf: () => import('@x/circuit-breaker/redis'),
  },
  { name: '@x/http/cache', load: () => import('../src/leaves/cache.ts'), leaf: () => import('@x/cache') },
  {
    name: '@x/http/cache/redis',
    load: () => import('../src/leaves/cache-redis.ts'),
    leaf: () => import('@x/cache/redis'),
  },
  { name: '@x/http/tls', load: () => import('../src/leaves/tls.ts'), leaf: () => import('@x/tls') },
  {
    name: '@x/http/websocket',
    load: () => import('../src/leaves/websocket.ts'),
    leaf: () => import('@x/websocket'),
  },
  {
    name: '@x/http/logging',
    load: () => import('../src/leaves/logging.ts'),
    leaf: () => import('@x/logging'),
  },
]

describe('leaf re-export entries', () => {
  it.each(entries)('$name exports every value of its leaf, the very same objects', async ({ load, leaf }) => {
    const [reexported, original] = await Promise.all([load(), leaf()])
    const names = Object.keys(original).sort()
    expect(names.length).toBeGreaterThan(0)
    expect(Object.keys(reexported).sort()).toEqual(names)
    for (const name of names) {
      expect((reexported as Record<string, unknown>)[name], name).toBe(
        (original as Record<string, unknown>)[name],
      )
    }
  })

  it('lists a subpath for every entry of every @x dependency, in exports and publishConfig.exports', () => {
    // `@x/<leaf>` → `./<leaf>`, `@x/<leaf>/redis` → `./<leaf>/redis`: read from each leaf's own
    // manifest, so a leaf that gains an entry fails here until @x/http re-exports it too.
    const expected = Object.keys(manifest.dependencies)
      .filter((dep) => dep.startsWith('@x/'))
      .flatMap((dep) => {
        const leaf = dep.slice('@x/'.length)
        const leafManifest = JSON.parse(
          readFileSync(new URL(`../../${leaf}/package.json`, import.meta.url), 'utf8'),
        ) as { exports: Record<string, unknown> }
        return Object.keys(leafManifest.exports)
          .filter((key) => key !== './package.json')
          .map((key) => (key === '.' ? `./${leaf}` : `./${leaf}/${key.slice(2)}`))
      })
      .sort()
    const subpaths = (map: Record<string, unknown>) =>
      Object.keys(map)
        .filter((key) => key !== '.' && key !== './decorators' && key !== './package.json')
        .sort()
    expect(subpaths(manifest.exports)).toEqual(expected)
    expect(subpaths(manifest.publishConfig.exports)).toEqual(expected)
    expect(entries.map((e) => e.name.replace('@x/http', '.')).sort()).toEqual(expected)
  })

  it('gives each subpath a source file and the same dist files in both export maps', () => {
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (subpath === './package.json') continue
      const { '@x/source': source, ...published } = target as Record<string, unknown>
      expect(existsSync(new URL(`../${String(source)}`, import.meta.url)), subpath).toBe(true)
      expect(manifest.publishConfig.exports[subpath], subpath).toEqual(published)
    }
  })
})
