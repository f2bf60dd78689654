import { describe, expect, it } from 'vitest'
import {
  createRouter,
  isRouterError,
  type RouteMatch,
  RouterError,
  type RouterOptions,
} from '../src/index.js'

function table(routes: Array<[string | string[], string]>, options?: RouterOptions) {
  const router = createRouter<string>(options)
  for (const [method, template] of routes) {
    router.add(method, template, `${Array.isArray(method) ? method.join(',') : method} ${template}`)
  }
  return router
}

function found2(match: RouteMatch<number>) {
  if (match.kind !== 'found') throw new Error(`expected a match, got ${JSON.stringify(match)}`)
  return { value: match.value, params: { ...match.params } }
}

function found(match: RouteMatch<string>) {
  if (match.kind !== 'found') throw new Error(`expected a match, got ${JSON.stringify(match)}`)
  return { value: match.value, params: { ...match.params } }
}

describe('templates', () => {
  const router = table([
    ['GET', '/'],
    ['GET', '/users'],
    ['GET', '/users/{id}'],
    ['GET', '/users/{id}/posts/{postId}'],
    ['GET', '/files/{...path}'],
    ['GET', '/deep/static/path/here'],
  ])

  it.each([
    { name: 'root', path: '/', value: 'GET /', params: {} },
    { name: 'a static path', path: '/users', value: 'GET /users', params: {} },
    {
      name: 'a deep static path',
      path: '/deep/static/path/here',
      value: 'GET /deep/static/path/here',
      params: {},
    },
    { name: 'one parameter', path: '/users/42', value: 'GET /users/{id}', params: { id: '42' } },
    {
      name: 'several parameters',
      path: '/users/42/posts/7',
      value: 'GET /users/{id}/posts/{postId}',
      params: { id: '42', postId: '7' },
    },
    {
      name: 'a rest match of zero segments',
      path: '/files',
      value: 'GET /files/{...path}',
      params: { path: '' },
    },
    {
      name: 'a rest match of one segment',
      path: '/files/a.txt',
      value: 'GET /files/{...path}',
      params: { path: 'a.txt' },
    },
    {
      name: 'a rest match of several segments',
      path: '/files/a/b/c.txt',
      value: 'GET /files/{...path}',
      params: { path: 'a/b/c.txt' },
    },
    {
      name: 'a path with a query string',
      path: '/users/42?fields=a/b&x=%zz',
      value: 'GET /users/{id}',
      params: { id: '42' },
    },
  ])('matches $name', ({ path, value, params }) => {
    expect(found(router.find('GET', path))).toEqual({ value, params })
  })

  it.each([
    { name: 'an unknown static segment', path: '/nope' },
    { name: 'a path longer than every template', path: '/users/42/posts/7/extra' },
    { name: 'a path that stops inside a template', path: '/users/42/posts' },
    { name: 'an empty path', path: '' },
    { name: 'an asterisk-form target', path: '*' },
    { name: 'an absolute-form target', path: 'http://example.com/users' },
  ])('answers not-found for $name', ({ path }) => {
    expect(router.find('GET', path)).toEqual({ kind: 'not-found' })
  })

  it('lists every route added, in order', () => {
    const r = createRouter<number>()
    r.add(['GET', 'POST'], '/a/{x}', 1)
    r.add('*', '/b', 2)
    expect(r.routes()).toEqual([
      { method: 'GET', template: '/a/{x}', value: 1 },
      { method: 'POST', template: '/a/{x}', value: 1 },
      { method: '*', template: '/b', value: 2 },
    ])
  })

  it('keeps a parameter named like an Object.prototype member as a plain property', () => {
    const r = table([['GET', '/{constructor}/{toString}/{hasOwnProperty}']])
    expect(found(r.find('GET', '/a/b/c')).params).toEqual({
      constructor: 'a',
      toString: 'b',
      hasOwnProperty: 'c',
    })
  })

  it('returns the template with each match', () => {
    const r = table([['GET', '/users/{id}']])
    const m = r.find('GET', '/users/1')
    expect(m.kind === 'found' && m.template).toBe('/users/{id}')
  })

  it('shares one frozen empty params object between routes without parameters', () => {
    const r = table([
      ['GET', '/a'],
      ['GET', '/b'],
    ])
    const a = r.find('GET', '/a')
    const b = r.find('GET', '/b')
    expect(a.kind === 'found' && Object.isFrozen(a.params)).toBe(true)
    expect(a.kind === 'found' && b.kind === 'found' && a.params === b.params).toBe(true)
  })

  it('gives every lookup of a parameterised route its own params object', () => {
    const r = table([
      ['GET', '/gists/public'],
      ['PATCH', '/gists/{id}'],
    ])
    const first = r.find('PATCH', '/gists/public')
    const second = r.find('PATCH', '/gists/public')
    expect(found(first).params).toEqual({ id: 'public' })
    expect(first.kind === 'found' && second.kind === 'found' && first.params !== second.params).toBe(true)
  })
})

describe('best match', () => {
  it.each([
    {
      name: 'a static segment beats a parameter',
      routes: ['/users/{id}', '/users/me'],
      path: '/users/me',
      want: 'GET /users/me',
      params: {},
    },
    {
      name: 'a parameter beats a rest match',
      routes: ['/users/{...rest}', '/users/{id}'],
      path: '/users/me',
      want: 'GET /users/{id}',
      params: { id: 'me' },
    },
    {
      name: 'a static segment beats a rest match',
      routes: ['/{...all}', '/health'],
      path: '/health',
      want: 'GET /health',
      params: {},
    },
    {
      name: 'the static branch dead-ends, so the parameter branch is taken',
      routes: ['/a/b/c', '/a/{x}/d'],
      path: '/a/b/d',
      want: 'GET /a/{x}/d',
      params: { x: 'b' },
    },
    {
      name: 'the parameter branch dead-ends, so the rest match is taken',
      routes: ['/a/{x}/c', '/a/{...r}'],
      path: '/a/b/z',
      want: 'GET /a/{...r}',
      params: { r: 'b/z' },
    },
    {
      name: 'backtracking crosses several levels',
      routes: ['/a/b/c/d', '/a/{x}/c/e', '/{y}/b/c/f'],
      path: '/a/b/c/f',
      want: 'GET /{y}/b/c/f',
      params: { y: 'a' },
    },
    {
      name: 'an exact end beats a zero-segment rest match',
      routes: ['/files/{...p}', '/files'],
      path: '/files',
      want: 'GET /files',
      params: {},
    },
    {
      name: 'the more specific of two equally long templates wins at the first differing segment',
      routes: ['/{a}/x', '/s/{b}'],
      path: '/s/x',
      want: 'GET /s/{b}',
      params: { b: 'x' },
    },
  ])('$name', ({ routes, path, want, params }) => {
    const r = table(routes.map((t) => ['GET', t]))
    expect(found(r.find('GET', path))).toEqual({ value: want, params })
  })
})

describe('methods', () => {
  it('answers HEAD with the GET route', () => {
    const r = table([
      ['GET', '/a'],
      ['GET', '/b/{x}'],
    ])
    expect(found(r.find('HEAD', '/a')).value).toBe('GET /a')
    expect(found(r.find('HEAD', '/b/1')).value).toBe('GET /b/{x}')
  })

  it('prefers an explicit HEAD route to the GET fallback, whichever was added first', () => {
    const r = table([
      ['HEAD', '/a'],
      ['GET', '/a'],
      ['GET', '/b'],
      ['HEAD', '/b'],
    ])
    expect(found(r.find('HEAD', '/a')).value).toBe('HEAD /a')
    expect(found(r.find('HEAD', '/b')).value).toBe('HEAD /b')
  })

  it('matches any method with "*", but an explicit method first', () => {
    const r = table([
      ['*', '/a'],
      ['DELETE', '/a'],
    ])
    expect(found(r.find('PURGE', '/a')).value).toBe('* /a')
    expect(found(r.find('DELETE', '/a')).value).toBe('DELETE /a')
  })

  it('answers HEAD with GET rather than with "*" on the same template', () => {
    const r = table([
      ['*', '/a'],
      ['GET', '/a'],
    ])
    expect(found(r.find('HEAD', '/a')).value).toBe('GET /a')
  })

  it('registers several methods at once', () => {
    const r = table([[['GET', 'POST'], '/users/{id}/posts/{postId}']])
    expect(found(r.find('POST', '/users/1/posts/2')).params).toEqual({ id: '1', postId: '2' })
  })

  it('answers method-not-allowed listing GET, HEAD and POST', () => {
    const r = table([[['GET', 'POST'], '/users']])
    expect(r.find('DELETE', '/users')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'POST'] })
  })

  it('lists in Allow every method of every template matching the path', () => {
    const r = table([
      ['GET', '/users/me'],
      ['DELETE', '/users/{id}'],
      ['PATCH', '/users/{...rest}'],
      ['PUT', '/other'],
    ])
    expect(r.find('POST', '/users/me')).toEqual({
      kind: 'method-not-allowed',
      allow: ['DELETE', 'GET', 'HEAD', 'PATCH'],
    })
    expect(r.find('POST', '/users/7')).toEqual({ kind: 'method-not-allowed', allow: ['DELETE', 'PATCH'] })
  })

  it('falls back to a less specific template that accepts the method', () => {
    const r = table([
      ['GET', '/users/me'],
      ['POST', '/users/{id}'],
    ])
    expect(found(r.find('POST', '/users/me'))).toEqual({ value: 'POST /users/{id}', params: { id: 'me' } })
    expect(found(r.find('GET', '/users/me')).value).toBe('GET /users/me')
  })

  it('treats methods as case-sensitive tokens', () => {
    const r = table([['GET', '/a']])
    expect(r.find('get', '/a')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD'] })
  })

  it('answers not-found, not method-not-allowed, when no template matches the path', () => {
    const r = table([['GET', '/a']])
    expect(r.find('POST', '/b')).toEqual({ kind: 'not-found' })
  })
})

describe('path handling', () => {
  it.each([
    { name: 'a parameter', path: '/users/J%C3%BCrgen', params: { id: 'Jürgen' } },
    { name: 'an encoded slash inside one segment', path: '/users/a%2Fb', params: { id: 'a/b' } },
    { name: 'an encoded space', path: '/users/a%20b', params: { id: 'a b' } },
  ])('percent-decodes $name', ({ path, params }) => {
    const r = table([
      ['GET', '/users/{id}'],
      ['GET', '/users/{id}/x'],
    ])
    expect(found(r.find('GET', path)).params).toEqual(params)
  })

  it('refuses a malformed path even where it spells a static template holding a literal %', () => {
    const r = table([
      ['GET', '/100%25'],
      ['GET', '/a/{x}'],
    ])
    expect(r.find('GET', '/100%').kind).toBe('not-found')
    expect(found(r.find('GET', '/100%25')).value).toBe('GET /100%25')
  })

  it('finds every route of a table of 5,000, split over several compiled functions', () => {
    const r = createRouter<number>()
    for (let i = 0; i < 1000; i++) {
      r.add('GET', `/s${i}`, i * 5)
      r.add('GET', `/s${i}/{id}`, i * 5 + 1)
      r.add('POST', `/s${i}/{id}/items/{item}`, i * 5 + 2)
      r.add('GET', `/p/{a}/x${i}`, i * 5 + 3)
      r.add('GET', `/r${i}/{...rest}`, i * 5 + 4)
    }
    for (let i = 0; i < 1000; i += 37) {
      expect(found2(r.find('GET', `/s${i}`))).toEqual({ value: i * 5, params: {} })
      expect(found2(r.find('GET', `/s${i}/7`))).toEqual({ value: i * 5 + 1, params: { id: '7' } })
      expect(found2(r.find('POST', `/s${i}/7/items/9`))).toEqual({
        value: i * 5 + 2,
        params: { id: '7', item: '9' },
      })
      expect(found2(r.find('GET', `/p/q/x${i}`))).toEqual({ value: i * 5 + 3, params: { a: 'q' } })
      expect(found2(r.find('GET', `/r${i}/a/b`))).toEqual({ value: i * 5 + 4, params: { rest: 'a/b' } })
      expect(r.find('DELETE', `/s${i}/7`)).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD'] })
    }
    expect(r.find('GET', '/s1000').kind).toBe('not-found')
  })

  it('percent-decodes a rest match', () => {
    const r = table([['GET', '/files/{...p}']])
    expect(found(r.find('GET', '/files/a%20b/c%2Fd')).params).toEqual({ p: 'a b/c/d' })
  })

  it('matches a static segment written with escapes', () => {
    const r = table([
      ['GET', '/users'],
      ['GET', '/caf%C3%A9'],
    ])
    expect(found(r.find('GET', '/%75sers')).value).toBe('GET /users')
    expect(found(r.find('GET', '/caf%c3%a9')).value).toBe('GET /caf%C3%A9')
  })

  it.each([
    { name: 'a truncated escape', path: '/users/%E2%82' },
    { name: 'a non-hex escape', path: '/users/%zz' },
    { name: 'a lone percent', path: '/users/100%' },
    { name: 'an invalid UTF-8 sequence', path: '/users/%C0%AF' },
    { name: 'a malformed escape in a segment no template reaches', path: '/users/1/%E0%A4%A' },
  ])('answers not-found for $name without throwing', ({ path }) => {
    const r = table([
      ['GET', '/users/{id}'],
      ['GET', '/{...all}'],
    ])
    expect(r.find('GET', path)).toEqual({ kind: 'not-found' })
  })

  it('ignores a trailing slash by default, on paths and on templates', () => {
    const r = table([
      ['GET', '/a'],
      ['GET', '/b/'],
      ['GET', '/c/{x}'],
    ])
    expect(found(r.find('GET', '/a/')).value).toBe('GET /a')
    expect(found(r.find('GET', '/b')).value).toBe('GET /b/')
    expect(found(r.find('GET', '/c/1/')).params).toEqual({ x: '1' })
  })

  it('tells /a from /a/ when ignoreTrailingSlash is false', () => {
    const r = table(
      [
        ['GET', '/a'],
        ['GET', '/b/'],
        ['GET', '/c/{x}'],
      ],
      { ignoreTrailingSlash: false },
    )
    expect(found(r.find('GET', '/a')).value).toBe('GET /a')
    expect(r.find('GET', '/a/').kind).toBe('not-found')
    expect(found(r.find('GET', '/b/')).value).toBe('GET /b/')
    expect(r.find('GET', '/b').kind).toBe('not-found')
    expect(r.find('GET', '/c/1/').kind).toBe('not-found')
  })

  it('compares static segments case-sensitively by default', () => {
    const r = table([['GET', '/Users/{id}']])
    expect(r.find('GET', '/users/1').kind).toBe('not-found')
    expect(found(r.find('GET', '/Users/1')).params).toEqual({ id: '1' })
  })

  it('compares static segments case-insensitively when asked, keeping parameter case', () => {
    const r = table(
      [
        ['GET', '/Users/{id}'],
        ['GET', '/Static/Path'],
        ['POST', '/static/{p}'],
      ],
      { caseSensitive: false },
    )
    expect(found(r.find('GET', '/USERS/AbC')).params).toEqual({ id: 'AbC' })
    expect(found(r.find('GET', '/static/PATH')).value).toBe('GET /Static/Path')
    expect(found(r.find('POST', '/STATIC/PaTh'))).toEqual({
      value: 'POST /static/{p}',
      params: { p: 'PaTh' },
    })
  })

  it('never matches a parameter against an empty segment from repeated slashes', () => {
    const r = table([
      ['GET', '/users/{id}'],
      ['GET', '/users/{id}/posts'],
    ])
    expect(r.find('GET', '/users//posts').kind).toBe('not-found')
    expect(r.find('GET', '//users/1').kind).toBe('not-found')
    expect(r.find('GET', '/users//').kind).toBe('not-found')
  })
})

describe('building the table', () => {
  it.each([
    {
      name: 'the same method on the same template',
      routes: [
        ['GET', '/a/{x}'],
        ['GET', '/a/{x}'],
      ],
    },
    {
      name: 'an equivalent template with other parameter names',
      routes: [
        ['GET', '/a/{x}'],
        ['GET', '/a/{y}'],
      ],
    },
    {
      name: 'two rest routes with other names',
      routes: [
        ['GET', '/a/{...x}'],
        ['GET', '/a/{...y}'],
      ],
    },
    {
      name: 'two any-method routes',
      routes: [
        ['*', '/a'],
        ['*', '/a'],
      ],
    },
    {
      name: 'two templates equal but for a trailing slash',
      routes: [
        ['GET', '/a'],
        ['GET', '/a/'],
      ],
    },
    { name: 'a method listed twice in one add', routes: [[['GET', 'GET'], '/a']] },
    {
      name: 'two explicit HEAD routes',
      routes: [
        ['HEAD', '/a'],
        ['HEAD', '/a'],
      ],
    },
  ] as Array<{ name: string; routes: Array<[string | string[], string]> }>)(
    'rejects $name with X_ERR_ROUTER_DUPLICATE_ROUTE',
    ({ routes }) => {
      expect(() => table(routes)).toThrowError(
        expect.objectContaining({ code: 'X_ERR_ROUTER_DUPLICATE_ROUTE' }) as unknown as Error,
      )
    },
  )

  it('accepts the same template with another method, and another case when case-insensitive is off', () => {
    expect(() =>
      table([
        ['GET', '/a/{x}'],
        ['POST', '/a/{y}'],
        ['GET', '/A/{x}'],
      ]),
    ).not.toThrow()
    expect(() =>
      table(
        [
          ['GET', '/a'],
          ['GET', '/A'],
        ],
        { caseSensitive: false },
      ),
    ).toThrowError(expect.objectContaining({ code: 'X_ERR_ROUTER_DUPLICATE_ROUTE' }) as unknown as Error)
  })

  it.each([
    { name: 'no leading slash', template: 'users' },
    { name: 'an empty template', template: '' },
    { name: 'an unclosed brace', template: '/users/{id' },
    { name: 'a closing brace alone', template: '/users/id}' },
    { name: 'a parameter mixed with text', template: '/users/x{id}' },
    { name: 'an empty parameter name', template: '/users/{}' },
    { name: 'an empty rest name', template: '/users/{...}' },
    { name: 'a name starting with a digit', template: '/users/{1d}' },
    { name: 'a name with a dash', template: '/users/{user-id}' },
    { name: 'a repeated parameter name', template: '/a/{id}/b/{id}' },
    { name: 'a rest parameter before the end', template: '/a/{...rest}/b' },
    { name: 'an empty segment in the middle', template: '/a//b' },
    { name: 'a query string', template: '/a?x=1' },
    { name: 'a fragment', template: '/a#x' },
    { name: 'a malformed escape', template: '/a/%zz' },
    { name: 'an escape that decodes to a slash', template: '/a%2Fb' },
    { name: 'a __proto__ parameter', template: '/a/{__proto__}' },
    { name: 'a template over 8 KiB', template: `/${'a'.repeat(9000)}` },
  ])('rejects a template with $name with X_ERR_ROUTER_INVALID_TEMPLATE', ({ template }) => {
    const r = createRouter<number>()
    let error: unknown
    try {
      r.add('GET', template, 1)
    } catch (e) {
      error = e
    }
    expect(isRouterError(error, 'X_ERR_ROUTER_INVALID_TEMPLATE')).toBe(true)
    expect((error as RouterError).template).toBe(template)
  })

  it.each([
    { name: 'an empty method', method: '' },
    { name: 'a method with a space', method: 'GE T' },
    { name: 'a method with CR LF', method: 'GET\r\n' },
    { name: 'no methods', method: [] },
    { name: 'a non-string method', method: [42] },
  ])('rejects $name with X_ERR_ROUTER_INVALID_METHOD', ({ method }) => {
    const r = createRouter<number>()
    expect(() => r.add(method as unknown as string[], '/a', 1)).toThrowError(
      expect.objectContaining({ code: 'X_ERR_ROUTER_INVALID_METHOD' }) as unknown as Error,
    )
  })

  it.each([
    { name: 'a non-boolean caseSensitive', options: { caseSensitive: 'yes' } },
    { name: 'a non-boolean ignoreTrailingSlash', options: { ignoreTrailingSlash: 1 } },
    { name: 'null options', options: null },
  ])('rejects $name with X_ERR_ROUTER_INVALID_OPTION', ({ options }) => {
    expect(() => createRouter(options as unknown as RouterOptions)).toThrowError(
      expect.objectContaining({ code: 'X_ERR_ROUTER_INVALID_OPTION' }) as unknown as Error,
    )
  })

  it('leaves the table unchanged when an add fails part-way through its methods', () => {
    const r = table([['POST', '/a']])
    expect(() => r.add(['GET', 'POST'], '/a', 'x')).toThrow()
    expect(r.find('GET', '/a')).toEqual({ kind: 'method-not-allowed', allow: ['POST'] })
    expect(r.routes()).toHaveLength(1)
  })

  it('answers lookups made between adds with the routes added so far', () => {
    const r = createRouter<string>()
    r.add('GET', '/a', 'a')
    expect(r.find('GET', '/b').kind).toBe('not-found')
    r.add('GET', '/b', 'b')
    expect(found(r.find('GET', '/b')).value).toBe('b')
  })

  it('brands its errors so instanceof holds across copies of the package', () => {
    const foreign = Object.create({ [Symbol.for('x.error.router')]: true })
    expect(foreign instanceof RouterError).toBe(true)
    expect(new Error('x') instanceof RouterError).toBe(false)
    expect(
      isRouterError(new RouterError('X_ERR_ROUTER_INVALID_OPTION', 'x'), 'X_ERR_ROUTER_INVALID_TEMPLATE'),
    ).toBe(false)
  })
})
