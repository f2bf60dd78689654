import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseHttpDate } from '../src/http-date.ts'
import {
  type CacheControlOptions,
  cacheControl,
  encodedEtag,
  etag,
  evaluateConditionals,
  isCacheError,
  notModifiedHeaders,
  parseEtag,
  strongMatch,
  weakMatch,
} from '../src/index.ts'

describe('cacheControl()', () => {
  it.each([
    { name: 'max-age alone', options: { maxAge: 60 }, expected: 'max-age=60' },
    {
      name: 'every shared-cache directive',
      options: {
        public: true,
        maxAge: 60,
        sMaxAge: 300,
        proxyRevalidate: true,
        staleWhileRevalidate: 30,
        staleIfError: 600,
      },
      expected:
        'public, max-age=60, s-maxage=300, proxy-revalidate, stale-while-revalidate=30, stale-if-error=600',
    },
    {
      name: 'private with field names',
      options: { private: ['Set-Cookie', 'x-user'], maxAge: 0 },
      expected: 'private="set-cookie, x-user", max-age=0',
    },
    {
      name: 'no-cache with field names',
      options: { noCache: ['x-secret'], maxAge: 10 },
      expected: 'no-cache="x-secret", max-age=10',
    },
    { name: 'no-store', options: { noStore: true }, expected: 'no-store' },
    {
      name: 'must-understand with no-store',
      options: { mustUnderstand: true, noStore: true },
      expected: 'no-store, must-understand',
    },
    {
      name: 'immutable assets',
      options: { public: true, maxAge: 31536000, immutable: true, noTransform: true },
      expected: 'public, max-age=31536000, no-transform, immutable',
    },
    {
      name: 'no-cache with must-revalidate',
      options: { noCache: true, mustRevalidate: true },
      expected: 'no-cache, must-revalidate',
    },
    {
      name: 'false flags are left out',
      options: { public: false, private: false, maxAge: 5 },
      expected: 'max-age=5',
    },
  ])('builds $name', ({ options, expected }) => {
    expect(cacheControl(options as CacheControlOptions)).toBe(expected)
  })

  it.each([
    { name: 'public with private', options: { public: true, private: true } },
    { name: 'public with private fields', options: { public: true, private: ['x'] } },
    { name: 'no-store with max-age', options: { noStore: true, maxAge: 5 } },
    { name: 'no-store with public', options: { noStore: true, public: true } },
    { name: 'no-store with stale-if-error', options: { noStore: true, staleIfError: 5 } },
    { name: 'must-understand without no-store', options: { mustUnderstand: true, maxAge: 5 } },
    { name: 's-maxage with private', options: { private: true, sMaxAge: 5 } },
    { name: 'proxy-revalidate with private', options: { private: true, proxyRevalidate: true } },
    { name: 'a negative max-age', options: { maxAge: -1 } },
    { name: 'a fractional max-age', options: { maxAge: 1.5 } },
    { name: 'an enormous max-age', options: { maxAge: 2 ** 40 } },
    { name: 'a string max-age', options: { maxAge: '60' } },
    { name: 'NaN', options: { sMaxAge: Number.NaN } },
    { name: 'a non-boolean flag', options: { public: 'yes' } },
    { name: 'an empty field list', options: { noCache: [] } },
    { name: 'a field name with a space', options: { private: ['x y'] } },
    { name: 'a field name with a quote', options: { noCache: ['a"b'] } },
    { name: 'an unknown option', options: { maxAgee: 5 } },
    { name: 'nothing at all', options: {} },
    { name: 'not an object', options: null },
  ])('rejects $name with X_ERR_CACHE_INVALID_DIRECTIVES', ({ options }) => {
    let caught: unknown
    try {
      cacheControl(options as CacheControlOptions)
    } catch (e) {
      caught = e
    }
    expect(isCacheError(caught, 'X_ERR_CACHE_INVALID_DIRECTIVES')).toBe(true)
  })
})

describe('ETags', () => {
  it('makes a strong tag from the bytes: equal bodies, equal tags; different bodies, different tags', () => {
    expect(etag('hello')).toBe(etag(Buffer.from('hello')))
    expect(etag('hello')).not.toBe(etag('hellO'))
    expect(parseEtag(etag('hello'))?.weak).toBe(false)
    expect(parseEtag(etag('hello', { weak: true }))?.weak).toBe(true)
  })

  it('gives a content-coded representation its own tag, never equal to identity', () => {
    const id = etag('body')
    const gz = encodedEtag(id, 'gzip')
    const br = encodedEtag(id, 'br')
    expect(new Set([id, gz, br]).size).toBe(3)
    expect(strongMatch(gz, encodedEtag(id, 'GZIP'))).toBe(true)
    expect(weakMatch(gz, id)).toBe(false)
    expect(encodedEtag(id, 'identity')).toBe(id)
    expect(parseEtag(encodedEtag(id, 'gzip', { weak: true }))?.weak).toBe(true)
    expect(parseEtag(encodedEtag(`W/${id}`, 'gzip'))?.weak).toBe(true)
  })

  it.each([
    { name: 'equal strong tags', a: '"1"', b: '"1"', strong: true, weak: true },
    { name: 'weak and strong', a: 'W/"1"', b: '"1"', strong: false, weak: true },
    { name: 'two weak tags', a: 'W/"1"', b: 'W/"1"', strong: false, weak: true },
    { name: 'different tags', a: '"1"', b: '"2"', strong: false, weak: false },
    { name: 'an unquoted tag', a: '1', b: '1', strong: false, weak: false },
    { name: 'a lowercase w/', a: 'w/"1"', b: '"1"', strong: false, weak: false },
  ])('compares $name', ({ a, b, strong, weak }) => {
    expect(strongMatch(a, b)).toBe(strong)
    expect(weakMatch(a, b)).toBe(weak)
  })
})

describe('parseHttpDate()', () => {
  it.each([
    { name: 'IMF-fixdate', value: 'Sun, 06 Nov 1994 08:49:37 GMT', ms: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { name: 'RFC 850', value: 'Sunday, 06-Nov-94 08:49:37 GMT', ms: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { name: 'asctime', value: 'Sun Nov  6 08:49:37 1994', ms: Date.UTC(1994, 10, 6, 8, 49, 37) },
    {
      name: 'surrounding whitespace',
      value: '  Sun, 06 Nov 1994 08:49:37 GMT ',
      ms: Date.UTC(1994, 10, 6, 8, 49, 37),
    },
  ])('reads $name', ({ value, ms }) => {
    expect(parseHttpDate(value)).toBe(ms)
  })

  it.each([
    { name: 'zero', value: '0' },
    { name: 'empty', value: '' },
    { name: 'an ISO date', value: '1994-11-06T08:49:37Z' },
    { name: '31 February', value: 'Sun, 31 Feb 1994 08:49:37 GMT' },
    { name: 'hour 25', value: 'Sun, 06 Nov 1994 25:49:37 GMT' },
    { name: 'a bad month', value: 'Sun, 06 Foo 1994 08:49:37 GMT' },
    { name: 'a bad weekday name', value: 'Sux, 06 Nov 1994 08:49:37 GMT' },
    { name: 'another zone', value: 'Sun, 06 Nov 1994 08:49:37 PST' },
    { name: 'a list of dates', value: 'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT' },
    { name: 'a huge string', value: 'x'.repeat(100_000) },
  ])('refuses $name', ({ value }) => {
    expect(parseHttpDate(value)).toBeUndefined()
  })

  it('never throws and reads back what it formats', () => {
    fc.assert(
      fc.property(fc.string(), (s) => parseHttpDate(s) === undefined || typeof parseHttpDate(s) === 'number'),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 253402300799 }),
        (sec) => parseHttpDate(new Date(sec * 1000).toUTCString()) === sec * 1000,
      ),
    )
  })
})

describe('evaluateConditionals() (RFC 9110 §13.2.2)', () => {
  const lm = 'Sun, 06 Nov 1994 08:49:37 GMT'
  const before = 'Sat, 05 Nov 1994 08:49:37 GMT'
  const after = 'Mon, 07 Nov 1994 08:49:37 GMT'
  it.each([
    { name: 'no conditionals', method: 'GET', headers: {}, kind: 'proceed' },
    {
      name: 'If-None-Match matching (weakly)',
      method: 'GET',
      headers: { 'if-none-match': 'W/"a"' },
      kind: 'not-modified',
    },
    {
      name: 'If-None-Match in a list',
      method: 'HEAD',
      headers: { 'if-none-match': '"x", "a"' },
      kind: 'not-modified',
    },
    { name: 'If-None-Match *', method: 'GET', headers: { 'if-none-match': '*' }, kind: 'not-modified' },
    {
      name: 'If-None-Match not matching',
      method: 'GET',
      headers: { 'if-none-match': '"b"' },
      kind: 'proceed',
    },
    {
      name: 'If-None-Match matching on PUT',
      method: 'PUT',
      headers: { 'if-none-match': '"a"' },
      kind: 'precondition-failed',
    },
    {
      name: 'If-None-Match wins over If-Modified-Since',
      method: 'GET',
      headers: { 'if-none-match': '"b"', 'if-modified-since': after },
      kind: 'proceed',
    },
    {
      name: 'If-Modified-Since at Last-Modified',
      method: 'GET',
      headers: { 'if-modified-since': lm },
      kind: 'not-modified',
    },
    {
      name: 'If-Modified-Since before Last-Modified',
      method: 'GET',
      headers: { 'if-modified-since': before },
      kind: 'proceed',
    },
    {
      name: 'If-Modified-Since on POST',
      method: 'POST',
      headers: { 'if-modified-since': after },
      kind: 'proceed',
    },
    {
      name: 'If-Modified-Since garbage',
      method: 'GET',
      headers: { 'if-modified-since': 'garbage' },
      kind: 'proceed',
    },
    {
      name: 'If-Modified-Since repeated',
      method: 'GET',
      headers: { 'if-modified-since': [after, after] },
      kind: 'proceed',
    },
    { name: 'If-Match strong match', method: 'PUT', headers: { 'if-match': '"a"' }, kind: 'proceed' },
    {
      name: 'If-Match weak tag fails strong comparison',
      method: 'PUT',
      headers: { 'if-match': 'W/"a"' },
      kind: 'precondition-failed',
    },
    { name: 'If-Match mismatch', method: 'GET', headers: { 'if-match': '"b"' }, kind: 'precondition-failed' },
    {
      name: 'If-Match garbage',
      method: 'PUT',
      headers: { 'if-match': 'nonsense' },
      kind: 'precondition-failed',
    },
    {
      name: 'If-Match * with a representation',
      method: 'PUT',
      headers: { 'if-match': '*' },
      kind: 'proceed',
    },
    {
      name: 'If-Match fails before If-None-Match is read',
      method: 'GET',
      headers: { 'if-match': '"b"', 'if-none-match': '"a"' },
      kind: 'precondition-failed',
    },
    {
      name: 'If-Unmodified-Since after',
      method: 'PUT',
      headers: { 'if-unmodified-since': after },
      kind: 'proceed',
    },
    {
      name: 'If-Unmodified-Since before',
      method: 'PUT',
      headers: { 'if-unmodified-since': before },
      kind: 'precondition-failed',
    },
    {
      name: 'If-Unmodified-Since ignored with If-Match',
      method: 'PUT',
      headers: { 'if-match': '"a"', 'if-unmodified-since': before },
      kind: 'proceed',
    },
    {
      name: 'If-Unmodified-Since garbage',
      method: 'PUT',
      headers: { 'if-unmodified-since': '-1' },
      kind: 'proceed',
    },
  ])('$name → $kind', ({ method, headers, kind }) => {
    expect(evaluateConditionals({ method, headers, etag: '"a"', lastModified: lm }).kind).toBe(kind)
  })

  it('evaluates nothing when the response would not be 2xx', () => {
    expect(
      evaluateConditionals({ method: 'GET', headers: { 'if-match': '"zzz"' }, etag: '"a"', status: 404 })
        .kind,
    ).toBe('proceed')
  })

  it('fails If-Match: * and answers If-None-Match: * with 200 when there is no representation', () => {
    expect(evaluateConditionals({ method: 'PUT', headers: { 'if-match': '*' }, exists: false }).kind).toBe(
      'precondition-failed',
    )
    expect(
      evaluateConditionals({ method: 'GET', headers: { 'if-none-match': '*' }, exists: false }).kind,
    ).toBe('proceed')
  })

  it('keeps a 304 to the fields RFC 9110 §15.4.5 lists', () => {
    const h = notModifiedHeaders({
      etag: '"a"',
      'content-type': 'text/html',
      'content-length': '5',
      vary: 'accept',
      'cache-control': 'max-age=5',
    })
    expect(h).toEqual({ etag: '"a"', vary: 'accept', 'cache-control': 'max-age=5' })
  })

  // A naive reference, written straight from the RFC's prose, against arbitrary input.
  function reference(
    method: string,
    h: Record<string, string>,
    tag: string | undefined,
    lmMs: number | undefined,
  ): string {
    const tags = (v: string) =>
      (v.match(/(W\/)?"[^"]*"/g) ?? []).map((t) => ({
        weak: t.startsWith('W/'),
        opaque: t.replace(/^W\//, ''),
      }))
    const cur =
      tag === undefined ? undefined : { weak: tag.startsWith('W/'), opaque: tag.replace(/^W\//, '') }
    const date = (v: string | undefined) => (v === undefined ? undefined : parseHttpDate(v))
    if (h['if-match'] !== undefined) {
      const v = h['if-match'].trim()
      const list = tags(v)
      const ok =
        v === '*' || (list.length === 0 && /^[\s,*]+$/.test(v))
          ? true
          : cur !== undefined && !cur.weak && list.some((t) => !t.weak && t.opaque === cur.opaque)
      if (!ok) return 'precondition-failed'
    } else if (
      date(h['if-unmodified-since']) !== undefined &&
      lmMs !== undefined &&
      lmMs > date(h['if-unmodified-since'])!
    ) {
      return 'precondition-failed'
    }
    const safe = method === 'GET' || method === 'HEAD'
    if (h['if-none-match'] !== undefined) {
      const v = h['if-none-match'].trim()
      const list = tags(v)
      const matched =
        (list.length === 0 && /^[\s,]*\*[\s,*]*$/.test(v)) ||
        (cur !== undefined && list.some((t) => t.opaque === cur.opaque))
      return matched ? (safe ? 'not-modified' : 'precondition-failed') : 'proceed'
    }
    if (
      safe &&
      date(h['if-modified-since']) !== undefined &&
      lmMs !== undefined &&
      lmMs <= date(h['if-modified-since'])!
    )
      return 'not-modified'
    return 'proceed'
  }

  it('agrees with a naive reading of the RFC on arbitrary headers', () => {
    const tagArb = fc.oneof(
      fc.constantFrom('"a"', 'W/"a"', '"b"', 'W/"b"', '""', '"a,b"'),
      fc.stringMatching(/^"[!#-~]{0,6}"$/),
    )
    const listArb = fc.oneof(
      fc.constant('*'),
      fc.array(tagArb, { minLength: 1, maxLength: 4 }).map((xs) => xs.join(', ')),
    )
    const dateArb = fc.oneof(
      fc.integer({ min: 700_000_000, max: 900_000_000 }).map((s) => new Date(s * 1000).toUTCString()),
      fc.constantFrom('garbage', '0', ''),
    )
    const headersArb = fc.record(
      {
        'if-match': listArb,
        'if-none-match': listArb,
        'if-modified-since': dateArb,
        'if-unmodified-since': dateArb,
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE'),
        headersArb,
        fc.option(tagArb, { nil: undefined }),
        fc.option(
          fc.integer({ min: 700_000_000, max: 900_000_000 }).map((s) => s * 1000),
          { nil: undefined },
        ),
        (method, headers, tag, lmMs) => {
          const got = evaluateConditionals({ method, headers, etag: tag, lastModified: lmMs }).kind
          expect(got).toBe(reference(method, headers as Record<string, string>, tag, lmMs))
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('hostile input to the helpers', () => {
  it('evaluates a 10 000-member If-None-Match quickly and correctly', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => `"t${i}"`).join(', ')
    expect(
      evaluateConditionals({ method: 'GET', headers: { 'if-none-match': list }, etag: '"t9999"' }).kind,
    ).toBe('not-modified')
    expect(
      evaluateConditionals({ method: 'GET', headers: { 'if-none-match': list }, etag: '"zz"' }).kind,
    ).toBe('proceed')
  })

  it.each([
    { name: 'an unterminated quote', value: '"abc' },
    { name: 'only commas', value: ',,,,' },
    { name: 'a megabyte of garbage', value: 'x'.repeat(1_000_000) },
    { name: 'nested W/ prefixes', value: 'W/W/"a"' },
    { name: 'control characters', value: '"a\u0001b"' },
  ])('never throws on $name', ({ value }) => {
    expect(
      evaluateConditionals({
        method: 'GET',
        headers: { 'if-none-match': value, 'if-match': value },
        etag: '"a"',
      }).kind,
    ).toBe('precondition-failed')
    expect(
      evaluateConditionals({ method: 'GET', headers: { 'if-none-match': value }, etag: '"a"' }).kind,
    ).toBe('proceed')
  })
})
