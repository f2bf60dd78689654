import { describe, expect, it } from 'vitest'
import { checkXDeps, type LockPackages } from '../packaging/x-deps.ts'

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
