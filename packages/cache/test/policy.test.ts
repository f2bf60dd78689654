import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCacheControl } from '../src/directives.ts'
import {
  decideStore,
  freshen,
  freshnessLifetime,
  generatedAt,
  type PolicyConfig,
  parseAge,
} from '../src/policy.ts'

const T = Date.UTC(2026, 0, 1)
const date = (offsetSeconds = 0) => new Date(T + offsetSeconds * 1000).toUTCString()
const config = (over: Partial<PolicyConfig> = {}): PolicyConfig => ({
  shared: false,
  policy: 'RFC_9111',
  heuristicFraction: 0.1,
  maxHeuristicMs: 86_400_000,
  retainStaleMs: 86_400_000,
  targets: [],
  ...over,
})

describe('parseCacheControl()', () => {
  it.each([
    {
      name: 'numbers and flags',
      value: 'max-age=60, public, s-maxage=120',
      expected: { 'max-age': 60, public: true, 's-maxage': 120 },
    },
    {
      name: 'case-insensitive names',
      value: 'MAX-AGE=5, No-Store',
      expected: { 'max-age': 5, 'no-store': true },
    },
    { name: 'a quoted number', value: 'max-age="30"', expected: { 'max-age': 30 } },
    { name: 'the first of duplicates', value: 'max-age=10, max-age=99', expected: { 'max-age': 10 } },
    {
      name: 'field names of no-cache and private',
      value: 'no-cache="Set-Cookie, X-A", private=x-b',
      expected: { 'no-cache': ['set-cookie', 'x-a'], private: ['x-b'] },
    },
    { name: 'an empty qualifier as unqualified', value: 'no-cache=""', expected: { 'no-cache': true } },
    { name: 'an invalid max-age as 0 in a response', value: 'max-age=abc', expected: { 'max-age': 0 } },
    {
      name: 'an overflowing delta as 2^31',
      value: `max-age=${'9'.repeat(30)}`,
      expected: { 'max-age': 2147483648 },
    },
    {
      name: 'max-stale without a value as unbounded',
      value: 'max-stale',
      expected: { 'max-stale': Number.POSITIVE_INFINITY },
    },
    {
      name: 'repeated lines together',
      value: ['max-age=5', 'no-cache'],
      expected: { 'max-age': 5, 'no-cache': true },
    },
    {
      name: 'commas inside quotes',
      value: 'private="a, b", max-age=1',
      expected: { private: ['a', 'b'], 'max-age': 1 },
    },
    { name: 'unknown extensions ignored', value: 'community="UCI", max-age=1', expected: { 'max-age': 1 } },
  ])('reads $name', ({ value, expected }) => {
    expect(parseCacheControl(value)).toEqual(expected)
  })

  it('ignores an invalid max-age in a request', () => {
    expect(parseCacheControl('max-age=abc, min-fresh=x', true)).toEqual({})
  })

  it('never throws, whatever the input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => typeof parseCacheControl(s) === 'object'))
  })
})

describe('parseAge()', () => {
  it.each([
    { name: 'a number', value: '42', expected: 42 },
    { name: 'surrounding spaces', value: ' 42 ', expected: 42 },
    { name: 'a list', value: '3, 9', expected: 3 },
    { name: 'repeated lines', value: ['5', '6'], expected: 5 },
    { name: 'garbage', value: '4x', expected: 0 },
    { name: 'a negative number', value: '-3', expected: 0 },
    { name: 'a fraction', value: '1.5', expected: 0 },
    { name: 'absent', value: undefined, expected: 0 },
  ])('reads $name', ({ value, expected }) => {
    expect(parseAge(value)).toBe(expected)
  })
})

describe('freshness lifetime and age', () => {
  it.each([
    {
      name: 's-maxage in a shared cache',
      shared: true,
      headers: { 'cache-control': 's-maxage=10, max-age=5' },
      ms: 10_000,
    },
    {
      name: 'max-age in a private cache despite s-maxage',
      shared: false,
      headers: { 'cache-control': 's-maxage=10, max-age=5' },
      ms: 5_000,
    },
    {
      name: 'max-age over Expires',
      shared: false,
      headers: { 'cache-control': 'max-age=5', expires: date(100), date: date() },
      ms: 5_000,
    },
    { name: 'Expires minus Date', shared: false, headers: { expires: date(100), date: date() }, ms: 100_000 },
    { name: 'Expires before Date', shared: false, headers: { expires: date(-100), date: date() }, ms: 0 },
    {
      name: 'the heuristic, capped at a day',
      shared: false,
      headers: { 'last-modified': date(-100 * 86400), date: date() },
      ms: 86_400_000,
    },
    { name: 'no heuristic without Last-Modified', shared: false, headers: { date: date() }, ms: 0 },
  ])('$name', ({ shared, headers, ms }) => {
    const cc = parseCacheControl(headers['cache-control'])
    expect(freshnessLifetime(200, headers, cc, config({ shared }), T)).toBe(ms)
  })

  it('computes the generation time from Date, Age and the response delay (RFC 9111 §4.2.3)', () => {
    // Requested at T-3 s, answered at T; Date says T-10 s; Age says 2 s. apparent 10 s,
    // corrected 2 + 3 = 5 s: the larger wins.
    expect(generatedAt({ date: date(-10), age: '2' }, T - 3000, T)).toBe(T - 10_000)
    expect(generatedAt({ date: date(-1), age: '20' }, T - 3000, T)).toBe(T - 23_000)
    expect(generatedAt({}, T, T)).toBe(T)
  })
})

describe('decideStore()', () => {
  const decide = (
    headers: Record<string, string | string[]>,
    over: Partial<PolicyConfig> = {},
    req: Record<string, string> = {},
    status = 200,
  ) =>
    decideStore(config(over), req, parseCacheControl(req['cache-control'], true), status, 'OK', headers, T, T)

  it.each([
    { name: 'a 206', status: 206, headers: { 'cache-control': 'max-age=60' } },
    { name: 'a 304', status: 304, headers: { 'cache-control': 'max-age=60' } },
    { name: 'no-store', status: 200, headers: { 'cache-control': 'no-store, max-age=60' } },
    { name: 'Vary: *', status: 200, headers: { 'cache-control': 'max-age=60', vary: 'accept, *' } },
    { name: 'a 500 without explicit freshness', status: 500, headers: { 'last-modified': date(-1000) } },
    { name: 'a 200 with neither freshness nor validator', status: 200, headers: { date: date() } },
  ])('skips $name', ({ status, headers }) => {
    expect(decide(headers, {}, {}, status).kind).toBe('skip')
  })

  it('strips hop-by-hop, Connection-listed and Age fields, and adds Date when missing', () => {
    const d = decide({
      'cache-control': 'max-age=60',
      connection: 'x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      age: '3',
      'x-keep': 'y',
    })
    expect(d.kind).toBe('store')
    if (d.kind === 'store') {
      expect(Object.keys(d.value.headers).sort()).toEqual(['cache-control', 'date', 'x-keep'])
      expect(d.value.cachedAt).toBe(T - 3000)
    }
  })

  it('does not store the fields of the proxy a cache forwards through (RFC 9111 §3.1)', () => {
    const d = decide({
      'cache-control': 'max-age=60',
      'proxy-authenticate': 'Basic realm="p"',
      'proxy-authentication-info': 'nextnonce="n"',
      'proxy-authorization': 'Basic x',
      'www-authenticate': 'Basic realm="o"',
    })
    expect(d.kind === 'store' && Object.keys(d.value.headers).sort()).toEqual([
      'cache-control',
      'date',
      'www-authenticate',
    ])
  })

  it('records normalised Vary values, null for absent fields', () => {
    const d = decide(
      { 'cache-control': 'max-age=60', vary: 'Accept-Encoding, X-Absent' },
      {},
      { 'accept-encoding': 'GZIP , br' },
    )
    expect(d.kind === 'store' && d.value.vary).toEqual({ 'accept-encoding': 'br,gzip', 'x-absent': null })
  })

  it('keeps a stale entry with a validator for retainStale, and one without only as long as stale-* allow', () => {
    const withTag = decide({ 'cache-control': 'max-age=10', etag: '"a"' })
    const sie = decide({ 'cache-control': 'max-age=10, stale-if-error=50' }, { retainStaleMs: 0 })
    expect(withTag.kind === 'store' && withTag.value.deleteAt).toBe(T + 10_000 + 86_400_000)
    expect(sie.kind === 'store' && sie.value.deleteAt).toBe(T + 60_000)
  })
})

describe('freshen() (RFC 9111 §3.2)', () => {
  it('replaces fields the 304 carries, keeps Content-Length, and restarts freshness', () => {
    const stored = {
      statusCode: 200,
      statusMessage: 'OK',
      headers: {
        'cache-control': 'max-age=10',
        etag: '"a"',
        'content-length': '3',
        'x-old': '1',
        date: date(-100),
      },
      cachedAt: T - 100_000,
      staleAt: T - 90_000,
      deleteAt: T + 1000,
    }
    const v = freshen(
      config(),
      stored,
      { 'cache-control': 'max-age=50', 'content-length': '0', 'x-old': '2', date: date() },
      T,
      T,
    )
    expect(v.headers['content-length']).toBe('3')
    expect(v.headers['x-old']).toBe('2')
    expect(v.headers.etag).toBe('"a"')
    expect(v.cachedAt).toBe(T)
    expect(v.staleAt).toBe(T + 50_000)
  })
})
