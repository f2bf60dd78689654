import { describe, expect, it } from 'vitest'
import { checkSharedCopies, checkXDeps, type LockPackages, sharedLibraries } from '../packaging/x-deps.ts'

const tarball = (name: string) => ({ version: '0.0.0', resolved: `file:../../tarballs/x-${name}-0.0.0.tgz` })

describe('checkXDeps', () => {
  it('accepts a leaf installed alone from its tarball with registry dependencies', () => {
    const packages: LockPackages = {
      '': {},
      'node_modules/@x/router': tarball('router'),
      'node_modules/undici': {},
    }
    expect(checkXDeps({ self: '@x/router', leaf: true, packages })).toEqual([])
  })

  it('accepts a wiring package with one copy of each @x dependency from the tarballs', () => {
    const packages: LockPackages = {
      'node_modules/@x/http': tarball('http'),
      'node_modules/@x/router': tarball('router'),
      'node_modules/@x/cache': tarball('cache'),
    }
    expect(checkXDeps({ self: '@x/http', leaf: false, packages })).toEqual([])
  })

  it.each([
    {
      name: 'a leaf that pulled another @x package',
      self: '@x/cache',
      leaf: true,
      packages: { 'node_modules/@x/cache': tarball('cache'), 'node_modules/@x/router': tarball('router') },
      code: 'leaf-pulled-x',
    },
    {
      name: 'an @x package resolved from the registry',
      self: '@x/http',
      leaf: false,
      packages: {
        'node_modules/@x/http': tarball('http'),
        'node_modules/@x/router': {
          version: '1.0.0',
          resolved: 'https://registry.npmjs.org/@x/router/-/router-1.0.0.tgz',
        },
      },
      code: 'not-from-tarball',
    },
    {
      name: 'an @x package with no recorded source (registry, resolved omitted)',
      self: '@x/http',
      leaf: false,
      packages: { 'node_modules/@x/http': tarball('http'), 'node_modules/@x/router': { version: '1.0.0' } },
      code: 'not-from-tarball',
    },
    {
      name: 'a linked @x package',
      self: '@x/http',
      leaf: false,
      packages: {
        'node_modules/@x/http': tarball('http'),
        'node_modules/@x/router': { resolved: '../router', link: true },
      },
      code: 'linked',
    },
    {
      name: 'a second, nested copy',
      self: '@x/http',
      leaf: false,
      packages: {
        'node_modules/@x/http': tarball('http'),
        'node_modules/@x/router': tarball('router'),
        'node_modules/@x/http/node_modules/@x/router': tarball('router'),
      },
      code: 'duplicate',
    },
    { name: 'the package itself missing', self: '@x/router', leaf: true, packages: {}, code: 'missing-self' },
  ])('reports $code for $name', ({ self, leaf, packages, code }) => {
    expect(checkXDeps({ self, leaf, packages: packages as LockPackages }).map((p) => p.code)).toContain(code)
  })
})

describe('checkSharedCopies', () => {
  const at = (version: string) => ({ version, resolved: `https://registry.npmjs.org/x/-/x-${version}.tgz` })
  const required = ['undici', 'ws', 'pino']

  it('accepts exactly one copy of each library the package needs', () => {
    const packages: LockPackages = {
      '': {},
      'node_modules/@x/http': tarball('http'),
      'node_modules/undici': at('7.16.0'),
      'node_modules/ws': at('8.18.3'),
      'node_modules/pino': at('10.1.0'),
      // Names that only end like a shared library are other packages.
      'node_modules/pino-pretty': at('13.1.2'),
      'node_modules/isows': at('1.0.0'),
    }
    expect(checkSharedCopies({ packages, libraries: sharedLibraries, required })).toEqual([])
  })

  it('accepts a leaf that needs none of them and has none', () => {
    const packages: LockPackages = { 'node_modules/@x/router': tarball('router') }
    expect(checkSharedCopies({ packages, libraries: sharedLibraries, required: [] })).toEqual([])
  })

  it.each([
    {
      name: 'a nested second undici under a leaf',
      packages: {
        'node_modules/undici': at('7.16.0'),
        'node_modules/ws': at('8.18.3'),
        'node_modules/pino': at('10.1.0'),
        'node_modules/@x/cache/node_modules/undici': at('6.21.0'),
      },
      code: 'second-copy',
      library: 'undici',
    },
    {
      name: 'two copies of ws, neither at the top',
      packages: {
        'node_modules/undici': at('7.16.0'),
        'node_modules/pino': at('10.1.0'),
        'node_modules/@x/websocket/node_modules/ws': at('8.18.3'),
        'node_modules/other/node_modules/ws': at('7.5.10'),
      },
      code: 'second-copy',
      library: 'ws',
    },
    {
      name: 'a needed library that was not installed',
      packages: { 'node_modules/undici': at('7.16.0'), 'node_modules/ws': at('8.18.3') },
      code: 'missing-shared',
      library: 'pino',
    },
  ])('reports $code for $name', ({ packages, code, library }) => {
    const problems = checkSharedCopies({ packages, libraries: sharedLibraries, required })
    expect(problems.map((p) => p.code)).toEqual([code])
    expect(problems[0]!.message.startsWith(library)).toBe(true)
  })
})
