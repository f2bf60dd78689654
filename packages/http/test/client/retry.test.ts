import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from '../../src/client/retry.js'
import { isClientError } from '../../src/index.js'
import { bodyOf, client, server } from './helpers.ts'

/** Collects the messages of a diagnostics channel while `fn` runs. */
async function collect<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<{ result: T; events: Array<Record<string, unknown>> }> {
  const events: Array<Record<string, unknown>> = []
  const listener = (m: unknown) => events.push(m as Record<string, unknown>)
  subscribe(name, listener)
  try {
    return { result: await fn(), events }
  } finally {
    unsubscribe(name, listener)
  }
}

/** A server answering the statuses in `script` in turn (then 200), with optional headers. */
async function scripted(script: Array<[number, Record<string, string>?]>) {
  const seen: Array<{ method: string; body: string }> = []
  const s = await server(async (req, res) => {
    seen.push({ method: req.method ?? '', body: await bodyOf(req) })
    const step = script[seen.length - 1]
    if (step === undefined) {
      res.end(`ok after ${seen.length}`)
      return
    }
    res.writeHead(step[0], step[1] ?? {}).end(`status ${step[0]}`)
  })
  return Object.assign(s, { seen })
}

const fast = { count: 3, interval: 1, maxWaitInterval: 5_000, jitter: 'none' as const }

describe('retry', () => {
  it('retries 503s and returns the first success', async () => {
    const s = await scripted([[503], [503]])
    const c = client(s.url, { retryConfig: fast })
    const res = await c.get('/')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok after 3')
  })

  it('returns the last response, not an error, when retries run out', async () => {
    const s = await scripted([[503], [503], [503], [503], [503]])
    const c = client(s.url, { retryConfig: { ...fast, count: 2 } })
    const res = await c.get('/')
    expect(res.status).toBe(503)
    expect(await res.text()).toBe('status 503')
    expect(s.seen.length).toBe(3)
  })

  it('does not retry a status outside statusCodes', async () => {
    const s = await scripted([[500]])
    const c = client(s.url, { retryConfig: fast })
    expect((await c.get('/')).status).toBe(500)
    expect(s.seen.length).toBe(1)
  })

  it('returns a 503 to a POST without retrying it (not idempotent)', async () => {
    const s = await scripted([[503]])
    const c = client(s.url, { retryConfig: fast })
    const res = await c.post('/', 'once')
    expect(res.status).toBe(503)
    expect(await res.text()).toBe('status 503')
    expect(s.seen).toEqual([{ method: 'POST', body: 'once' }])
  })

  it('retries a POST when methods allows it, replaying its body', async () => {
    const s = await scripted([[503]])
    const c = client(s.url, { retryConfig: { ...fast, methods: ['POST'] } })
    expect(await (await c.post('/', 'again')).text()).toBe('ok after 2')
    expect(s.seen).toEqual([
      { method: 'POST', body: 'again' },
      { method: 'POST', body: 'again' },
    ])
  })

  it('does not retry a streamed body, which cannot be replayed', async () => {
    const s = await scripted([[503]])
    const c = client(s.url, { retryConfig: { ...fast, methods: ['PUT'] } })
    const res = await c.put('/', Readable.from(['one ', 'shot']))
    expect(res.status).toBe(503)
    expect(s.seen).toEqual([{ method: 'PUT', body: 'one shot' }])
  })

  it('honours Retry-After in seconds', async () => {
    const s = await scripted([[503, { 'retry-after': '1' }]])
    const c = client(s.url, { retryConfig: fast })
    const { result, events } = await collect('x:http:client:retry', () => c.get('/'))
    expect(result.status).toBe(200)
    expect(events.map((e) => e.delayMs)).toEqual([1000])
  })

  it('honours Retry-After as an HTTP-date', async () => {
    const at = new Date(Date.now() + 2_000).toUTCString()
    const s = await scripted([[429, { 'retry-after': at }]])
    const c = client(s.url, { retryConfig: fast })
    const { result, events } = await collect('x:http:client:retry', () => c.get('/'))
    expect(result.status).toBe(200)
    const delay = events[0]!.delayMs as number
    expect(delay).toBeGreaterThan(0)
    expect(delay).toBeLessThanOrEqual(2_000)
  })

  it('refuses a Retry-After longer than maxWaitInterval: returns the response and says so', async () => {
    const s = await scripted([[503, { 'retry-after': '3600' }]])
    const c = client(s.url, { retryConfig: { ...fast, maxWaitInterval: 1_000 } })
    const { result, events } = await collect('x:http:client:retry-refused', () => c.get('/'))
    expect(result.status).toBe(503)
    expect(s.seen.length).toBe(1)
    expect(events).toEqual([
      { method: 'GET', url: `${s.url}/`, statusCode: 503, retryAfterMs: 3_600_000, maxWaitInterval: 1_000 },
    ])
  })

  it('backs off by interval × backOffFactor^n, capped by maxWaitInterval', async () => {
    const s = await scripted([[503], [503], [503], [503]])
    const c = client(s.url, {
      retryConfig: { count: 4, interval: 10, backOffFactor: 3, maxWaitInterval: 100, jitter: 'none' },
    })
    const { events } = await collect('x:http:client:retry', () => c.get('/'))
    expect(events.map((e) => e.delayMs)).toEqual([10, 30, 90, 100])
  })

  it('jitters within [0, backoff] with full jitter and within [interval, cap] with decorrelated jitter', async () => {
    const s = await scripted(Array.from({ length: 20 }, () => [503] as [number]))
    const full = client(s.url, {
      retryConfig: { count: 8, interval: 4, backOffFactor: 2, maxWaitInterval: 64 },
    })
    const a = await collect('x:http:client:retry', () => full.get('/'))
    a.events.forEach((e, i) => {
      expect(e.delayMs as number).toBeGreaterThanOrEqual(0)
      expect(e.delayMs as number).toBeLessThanOrEqual(Math.min(64, 4 * 2 ** i))
    })
    const deco = client(s.url, {
      retryConfig: { count: 8, interval: 4, maxWaitInterval: 64, jitter: 'decorrelated' },
    })
    const b = await collect('x:http:client:retry', () => deco.get('/'))
    for (const e of b.events) {
      expect(e.delayMs as number).toBeGreaterThanOrEqual(4)
      expect(e.delayMs as number).toBeLessThanOrEqual(64)
    }
  })

  it('retries a connection reset for GET', async () => {
    let n = 0
    const s = await server((req, res) => {
      if (n++ === 0) req.socket.destroy()
      else res.end('second time')
    })
    const c = client(s.url, { retryConfig: fast })
    expect(await (await c.get('/')).text()).toBe('second time')
  })

  it('does not retry a connection reset for POST: the request may have been processed', async () => {
    let n = 0
    const s = await server((req) => {
      n++
      req.socket.destroy()
    })
    const c = client(s.url, { retryConfig: fast })
    const err = await c.post('/', 'x').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_CONNECTION_RESET')).toBe(true)
    expect(n).toBe(1)
  })

  it('retries a refused connection for any method, and reports the last failure', async () => {
    const s = await server((_req, res) => res.end())
    const url = s.url
    await s.close()
    const c = client(url, { retryConfig: { ...fast, count: 2 } })
    const { result, events } = await collect('x:http:client:retry', () =>
      c.post('/', 'x').catch((e: unknown) => e),
    )
    expect(isClientError(result, 'X_ERR_CLIENT_CONNECT_FAILED')).toBe(true)
    expect(events.length).toBe(2)
  })

  it('does not retry once the response has started: a body cut midway fails', async () => {
    let n = 0
    const s = await server((req, res) => {
      n++
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
      setImmediate(() => req.socket.destroy())
    })
    const c = client(s.url, { retryConfig: fast })
    const res = await c.get('/')
    const err = await res.text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_CONNECTION_RESET')).toBe(true)
    expect(n).toBe(1)
  })

  it('retries each redirect hop on its own', async () => {
    const seen: string[] = []
    let bFailures = 1
    const s = await server((req, res) => {
      seen.push(req.url ?? '')
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end()
      else if (bFailures-- > 0) res.writeHead(503).end()
      else res.end('at b')
    })
    const c = client(s.url, { retryConfig: fast, followRedirects: { enabled: true } })
    expect(await (await c.get('/a')).text()).toBe('at b')
    expect(seen).toEqual(['/a', '/b', '/b'])
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it.each([
    { name: 'delta seconds', value: '120', ms: 120_000 },
    { name: 'zero', value: '0', ms: 0 },
    { name: 'an HTTP-date', value: 'Thu, 01 Jan 2026 00:00:30 GMT', ms: 30_000 },
    { name: 'a date in the past', value: 'Wed, 31 Dec 2025 00:00:00 GMT', ms: 0 },
    { name: 'a huge number', value: '99999999999999999999', ms: Number.POSITIVE_INFINITY },
    { name: 'a negative number', value: '-5', ms: undefined },
    { name: 'a fraction', value: '1.5', ms: undefined },
    { name: 'garbage', value: 'soon', ms: undefined },
    { name: 'empty', value: '', ms: undefined },
    { name: 'absent', value: undefined, ms: undefined },
  ])('reads $name', ({ value, ms }) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })
})

describe('retry budget', () => {
  it('stops retrying once the budget is spent, and retries freely without one', async () => {
    let hits = 0
    const s = await server((_req, res) => {
      hits++
      res.writeHead(503).end()
    })
    const budgeted = client(s.url, {
      retryConfig: { count: 5, interval: 0 },
      retryBudget: { ratio: 0, minPerSecond: 0.1, window: 10_000 }, // one retry per window
    })
    expect((await budgeted.get('/')).status).toBe(503)
    expect(hits).toBe(2)
    expect((await budgeted.get('/')).status).toBe(503)
    expect(hits).toBe(3) // no retry left
    hits = 0
    const free = client(s.url, { retryConfig: { count: 5, interval: 0 }, retryBudget: false })
    expect((await free.get('/')).status).toBe(503)
    expect(hits).toBe(6)
  })
})
