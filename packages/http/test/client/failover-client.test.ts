import { describe, expect, it } from 'vitest'
import {
  Client,
  type ClientError,
  FailoverClient,
  type FailoverClientOptions,
  isClientError,
} from '../../src/index.js'
import { backend, clock, failoverClient, nextMessage, refusedUrl } from './helpers.ts'

describe('FailoverClient', () => {
  it('sends every request to the first target while it answers', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const fo = failoverClient({ targets: [{ url: a.url }, { url: b.url }] })
    expect(fo).toBeInstanceOf(Client)
    for (let i = 0; i < 3; i++) expect(await (await fo.get('/')).text()).toBe('a')
    expect(b.seen).toEqual([])
  })

  it('moves on after a status in failoverCodes (501, 502, 503, 504 by default), dropping that response', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const c = await backend('c')
    a.behave(503)
    b.behave(501)
    const fo = failoverClient({ targets: [a.url, b.url, c.url], outlierDetection: false })
    const res = await fo.get('/x')
    expect(await res.text()).toBe('c')
    expect(res.url).toBe(`${c.url}/x`)
    expect([a.seen, b.seen, c.seen]).toEqual([['GET /x'], ['GET /x'], ['GET /x']])
  })

  it('returns a status outside failoverCodes as it is', async () => {
    const a = await backend('a')
    const b = await backend('b')
    a.behave(500)
    const fo = failoverClient({ targets: [a.url, b.url] })
    expect((await fo.get('/')).status).toBe(500)
    expect(b.seen).toEqual([])
  })

  it('returns the last answer when every target answers with a failover status', async () => {
    const a = await backend('a')
    const b = await backend('b')
    a.behave(502)
    b.behave(504)
    const fo = failoverClient({ targets: [a.url, b.url], failoverCodes: [502, 504] })
    const res = await fo.get('/')
    expect([res.status, await res.text()]).toEqual([504, 'b 504'])
  })

  it('moves on after an I/O error: a refused connection, a closed socket', async () => {
    const b = await backend('b')
    const c = await backend('c')
    b.behave('reset')
    const dead = await refusedUrl()
    const fo = failoverClient({ targets: [dead, b.url, c.url] })
    expect(await (await fo.get('/')).text()).toBe('c')
  })

  it('fails with each target failure once all were tried', async () => {
    const a = await backend('a')
    a.behave(503)
    const dead = await refusedUrl()
    const fo = failoverClient({ targets: [a.url, dead] })
    const err = (await fo.get('/').catch((e: unknown) => e)) as ClientError
    expect(isClientError(err, 'X_ERR_CLIENT_ALL_TARGETS_FAILED')).toBe(true)
    expect(err.failures?.map((f) => [f.target, f.statusCode, f.error?.code])).toEqual([
      [a.url, 503, undefined],
      [dead, undefined, 'X_ERR_CLIENT_CONNECT_FAILED'],
    ])
  })

  it('waits `interval` ms before the next target', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const fo = failoverClient({ targets: [dead, b.url], interval: 150 })
    const started = performance.now()
    expect(await (await fo.get('/')).text()).toBe('b')
    // Node may fire a timer up to a millisecond early; the wait is a lower bound, not a margin.
    expect(performance.now() - started).toBeGreaterThanOrEqual(149)
  })

  it('ends a request aborted during the wait, without trying the next target', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const fo = failoverClient({ targets: [dead, b.url], interval: 60_000 })
    const ac = new AbortController()
    const waiting = nextMessage('x:client-pool:failover')
    const pending = fo.get('/', { signal: ac.signal }).catch((e: unknown) => e)
    await waiting // refused at the first target; now waiting before the second
    ac.abort()
    expect(isClientError(await pending, 'X_ERR_CLIENT_ABORTED')).toBe(true)
    expect(b.seen).toEqual([])
  })

  it('moves a POST on when it never left, and after a closed socket only when failoverMethods allows', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const dead = await refusedUrl()
    expect(await (await failoverClient({ targets: [dead, b.url] }).post('/', 'x')).text()).toBe('b')
    a.behave('reset')
    const strict = failoverClient({ targets: [a.url, b.url] })
    expect(
      isClientError(await strict.post('/', 'x').catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECTION_RESET'),
    ).toBe(true)
    const lenient = failoverClient({ targets: [a.url, b.url], failoverMethods: ['POST'] })
    expect(await (await lenient.post('/', 'x')).text()).toBe('b')
  })

  it('comes back to the first target once its circuit closes (fake clock)', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const c = clock()
    const fo = failoverClient({
      targets: [a.url, b.url],
      outlierDetection: false,
      circuitBreaker: {
        rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 2 },
        failureThreshold: 0.5,
        resetTime: 2_000,
        now: c.now,
      },
    })
    expect(await (await fo.get('/')).text()).toBe('a')
    await a.kill()
    expect(await (await fo.get('/')).text()).toBe('b') // refused at a, answered by b
    expect(fo.targetStats()[0]!.circuit).toBe('open') // two calls, one failure: at the threshold
    expect(await (await fo.get('/')).text()).toBe('b') // a is skipped, not tried
    await a.restart()
    c.advance(1_999)
    expect(await (await fo.get('/')).text()).toBe('b')
    c.advance(1)
    expect(await (await fo.get('/')).text()).toBe('a') // the probe
    expect(fo.targetStats().map((t) => t.circuit)).toEqual(['closed', 'closed'])
  })

  it.each([
    { name: 'failoverCodes that are not an array', options: { failoverCodes: 503 }, option: 'failoverCodes' },
    { name: 'a failover code out of range', options: { failoverCodes: [99] }, option: 'failoverCodes' },
    { name: 'a negative interval', options: { interval: -1 }, option: 'interval' },
    { name: 'a fractional interval', options: { interval: 1.5 }, option: 'interval' },
    { name: "LoadBalanceClient's algorithm", options: { algorithm: 'round-robin' }, option: 'algorithm' },
    { name: "LoadBalanceClient's failover", options: { failover: true }, option: 'failover' },
    { name: 'an unknown option', options: { retries: 3 }, option: 'retries' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION naming it', ({ options, option }) => {
    let caught: unknown
    try {
      new FailoverClient({ targets: ['http://127.0.0.1:1'], ...options } as unknown as FailoverClientOptions)
    } catch (e) {
      caught = e
    }
    expect(isClientError(caught, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((caught as ClientError).option).toBe(option)
  })
})
