import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CacheOptions, cache, isCacheError } from '../src/index.ts'
import { parseDictionary, targetedDirectives } from '../src/targeted.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock, type Origin, startOrigin } from './helpers/origin.ts'

let origin: Origin
let clock: Clock
let c: TestClient | undefined

function open(options: CacheOptions = {}): TestClient {
  const opened = client(
    cache({ now: clock.now, shared: true, policy: 'RFC_9111', targets: ['CDN-Cache-Control'], ...options }),
  )
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

describe('Structured Field dictionaries (RFC 8941)', () => {
  it.each([
    { name: 'a bare key', text: 'no-store', keys: ['no-store'] },
    { name: 'an integer member', text: 'max-age=60', keys: ['max-age'] },
    { name: 'several members with OWS', text: 'max-age=60 ,\tpublic', keys: ['max-age', 'public'] },
    { name: 'parameters', text: 'a;x=1;y, b=?0;z="s"', keys: ['a', 'b'] },
    { name: 'an inner list', text: 'private=("set-cookie" x-id)', keys: ['private'] },
    { name: 'a decimal, token and byte sequence', text: 'a=1.5, b=tok/x, c=:aGk=:', keys: ['a', 'b', 'c'] },
    { name: 'a date', text: 'd=@1700000000', keys: ['d'] },
  ])('reads $name', ({ text, keys }) => {
    expect([...(parseDictionary(text)?.keys() ?? [])]).toEqual(keys)
  })

  it.each([
    { name: 'an upper-case key', text: 'Max-Age=60' },
    { name: 'a trailing comma', text: 'max-age=60,' },
    { name: 'an unknown item type', text: 'max-age=10000, &&&&&' },
    { name: 'a 16-digit integer', text: 'max-age=1234567890123456' },
    { name: 'a decimal with four fraction digits', text: 'a=1.2345' },
    { name: 'an unterminated string', text: 'a="x' },
    { name: 'a bad escape', text: 'a="\\n"' },
    { name: 'a space before =', text: 'max-age =60' },
    { name: 'a space after =', text: 'max-age= 60' },
    { name: 'a bad boolean', text: 'a=?2' },
    { name: 'an unclosed inner list', text: 'a=(1 2' },
  ])('refuses $name', ({ text }) => {
    expect(parseDictionary(text)).toBeUndefined()
  })

  it('ignores directives whose value has the wrong type', () => {
    expect(
      targetedDirectives({ 'cdn-cache-control': 'max-age="60", public' }, ['cdn-cache-control']),
    ).toEqual({
      public: true,
    })
  })

  it('takes the first target present, in the order given', () => {
    const headers = { 'a-cache-control': 'max-age=1', 'b-cache-control': 'max-age=2' }
    expect(targetedDirectives(headers, ['b-cache-control', 'a-cache-control'])).toEqual({ 'max-age': 2 })
    expect(targetedDirectives(headers, ['c-cache-control'])).toBeUndefined()
  })
})

describe('Surrogate-Control', () => {
  it.each([
    { name: 'max-age', value: 'max-age=60', want: { 'max-age': 60 } },
    { name: 'max-age with a stale extension', value: 'max-age=60+600', want: { 'max-age': 60 } },
    { name: 'no-store, in any case', value: 'No-Store', want: { 'no-store': true } },
    {
      name: 'untargeted directives next to targeted ones',
      value: 'max-age=5;edge-a, no-store',
      want: { 'no-store': true },
    },
    { name: 'only directives for another device', value: 'max-age=3600;not-for-you', want: undefined },
    { name: 'a bad max-age', value: 'max-age=soon', want: undefined },
    { name: 'unknown directives', value: 'content="ESI/1.0"', want: undefined },
  ])('reads $name', ({ value, want }) => {
    expect(targetedDirectives({ 'surrogate-control': value }, ['surrogate-control'])).toEqual(want)
  })

  it('replaces Cache-Control when it applies, and falls back to it when it does not', async () => {
    origin.route('/s1', {
      headers: { 'cache-control': 'max-age=3600', 'surrogate-control': 'no-store' },
      body: 'x',
    })
    origin.route('/s2', {
      headers: { 'cache-control': 'no-store', 'surrogate-control': 'max-age=600;other' },
      body: 'x',
    })
    const c = open({ targets: ['CDN-Cache-Control', 'Surrogate-Control'] })
    for (const path of ['/s1', '/s1', '/s2', '/s2']) await c.send(`${origin.url}${path}`)
    expect([origin.hits('/s1'), origin.hits('/s2')]).toEqual([2, 2])
  })
})

describe('a targeted field (RFC 9213) displaces Cache-Control and Expires', () => {
  it.each([
    {
      name: 'CDN-Cache-Control: max-age over Cache-Control: no-store',
      headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' },
      hits: 1,
    },
    {
      name: 'CDN-Cache-Control: no-store over a fresh Cache-Control and Expires',
      headers: { 'cache-control': 'max-age=600', 'cdn-cache-control': 'no-store', expires: 'FUTURE' },
      hits: 2,
    },
    {
      name: 'a short CDN-Cache-Control: max-age over a long Cache-Control one',
      headers: { 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=1' },
      hits: 2,
    },
    {
      name: 'CDN-Cache-Control: max-age=0 over a future Expires',
      headers: { 'cdn-cache-control': 'max-age=0', expires: 'FUTURE' },
      hits: 2,
    },
    {
      name: 'CDN-Cache-Control: private in a shared cache',
      headers: { 'cdn-cache-control': 'private, max-age=600' },
      hits: 2,
    },
    {
      name: 'CDN-Cache-Control: no-cache (validation every time)',
      headers: { 'cdn-cache-control': 'max-age=600, no-cache', etag: '"n"' },
      hits: 2,
    },
    {
      name: 'an invalid CDN-Cache-Control, ignored for Cache-Control: no-store',
      headers: { 'cdn-cache-control': 'max-age=600, &&&', 'cache-control': 'no-store' },
      hits: 2,
    },
    {
      name: 'a CDN-Cache-Control: max-age of the wrong type, ignored',
      headers: { 'cdn-cache-control': 'max-age="600"', 'cache-control': 'no-store' },
      hits: 2,
    },
    {
      name: 'an empty CDN-Cache-Control, ignored for Cache-Control: max-age',
      headers: { 'cdn-cache-control': '', 'cache-control': 'max-age=600' },
      hits: 1,
    },
  ])('obeys $name', async ({ headers, hits }) => {
    const sent: Record<string, string> = { date: clock.date() }
    for (const [k, v] of Object.entries(headers)) sent[k] = v === 'FUTURE' ? clock.date(3600) : v
    origin.route('/t', { headers: sent, body: 'x' })
    const c = open()
    await c.send(`${origin.url}/t`)
    clock.advance(2)
    await c.send(`${origin.url}/t`)
    expect(origin.hits('/t')).toBe(hits)
  })

  it('passes the targeted field on to the client unchanged', async () => {
    origin.route('/t', { headers: { 'cdn-cache-control': 'max-age=600' }, body: 'x' })
    const c = open()
    await c.send(`${origin.url}/t`)
    const hit = await c.send(`${origin.url}/t`)
    expect(hit.headers['cdn-cache-control']).toBe('max-age=600')
    expect(origin.hits('/t')).toBe(1)
  })

  it('obeys the targeted field taken from a 304 when it freshens an entry', async () => {
    origin.route('/t', (req) =>
      req.headers['if-none-match'] === '"a"'
        ? { status: 304, headers: { etag: '"a"', 'cdn-cache-control': 'max-age=600', date: clock.date() } }
        : { headers: { etag: '"a"', 'cdn-cache-control': 'max-age=1', date: clock.date() }, body: 'x' },
    )
    const c = open()
    await c.send(`${origin.url}/t`)
    clock.advance(5)
    await c.send(`${origin.url}/t`)
    clock.advance(100)
    await c.send(`${origin.url}/t`)
    expect(origin.hits('/t')).toBe(2)
  })

  it('ignores targeted fields it was not told about', async () => {
    origin.route('/t', {
      headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=600' },
      body: 'x',
    })
    const c = open({ targets: [] })
    await c.send(`${origin.url}/t`)
    await c.send(`${origin.url}/t`)
    expect(origin.hits('/t')).toBe(2)
  })

  it.each([
    { name: 'not an array', targets: 'CDN-Cache-Control' },
    { name: 'Cache-Control itself', targets: ['Cache-Control'] },
    { name: 'a name that is not a token', targets: ['CDN Cache'] },
    { name: 'a number', targets: [42] },
  ])('refuses targets that are $name', ({ targets }) => {
    let err: unknown
    try {
      cache({ targets: targets as string[] })
    } catch (e) {
      err = e
    }
    expect(isCacheError(err, 'X_ERR_CACHE_INVALID_OPTION')).toBe(true)
    expect((err as { option?: string }).option).toBe('targets')
  })
})
