import type { StateChangeEvent } from '@x/circuit-breaker'
import { describe, expect, it } from 'vitest'
import { type CircuitBreakerConfig, type ClientError, isClientError } from '../../src/index.js'
import { backend, channelMessages, client, clock } from './helpers.ts'

/** A breaker that opens at half the calls failed, once 4 calls are in the window. */
function breaker(now: () => number, extra: CircuitBreakerConfig = {}): CircuitBreakerConfig {
  return {
    rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 4 },
    failureThreshold: 0.5,
    resetTime: 5_000,
    now,
    ...extra,
  }
}

describe('Client circuitBreaker (one breaker for the client, as Ballerina has it)', () => {
  it('trips on failing statuses, then fails at once without calling the service', async () => {
    const s = await backend('s')
    s.behave(500)
    const c = clock()
    const cl = client(s.url, { circuitBreaker: breaker(c.now) })
    for (let i = 0; i < 4; i++) {
      const res = await cl.get('/') // the caller still sees each 500; the breaker counts it
      expect(res.status).toBe(500)
      await res.text()
    }
    expect(cl.circuitBreaker?.state).toBe('open')
    const err = (await cl.get('/').catch((e: unknown) => e)) as ClientError
    expect(isClientError(err, 'X_ERR_CLIENT_CIRCUIT_OPEN')).toBe(true)
    expect((err.cause as { retryAfterMs?: number }).retryAfterMs).toBe(5_000)
    expect(s.seen.length).toBe(4)
  })

  it('goes half-open after resetTime; a successful probe closes it', async () => {
    const s = await backend('s')
    s.behave(503)
    const c = clock()
    const changes: string[] = []
    const cl = client(s.url, {
      circuitBreaker: breaker(c.now, {
        onStateChange: (e: StateChangeEvent) => changes.push(`${e.from}>${e.to}`),
      }),
    })
    for (let i = 0; i < 4; i++) await (await cl.get('/')).text()
    c.advance(4_999)
    expect(isClientError(await cl.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CIRCUIT_OPEN')).toBe(true)
    c.advance(1)
    expect(cl.circuitBreaker?.state).toBe('half-open')
    s.behave('ok')
    expect(await (await cl.get('/')).text()).toBe('s')
    expect(cl.circuitBreaker?.state).toBe('closed')
    expect(changes).toEqual(['closed>open', 'open>half-open', 'half-open>closed'])
  })

  it('re-opens when the probe fails, for another resetTime', async () => {
    const s = await backend('s')
    s.behave(502)
    const c = clock()
    const cl = client(s.url, { circuitBreaker: breaker(c.now) })
    for (let i = 0; i < 4; i++) await (await cl.get('/')).text()
    c.advance(5_000)
    expect((await cl.get('/')).status).toBe(502) // the probe, answered and counted
    expect(cl.circuitBreaker?.state).toBe('open')
    const err = (await cl.get('/').catch((e: unknown) => e)) as ClientError
    expect((err.cause as { retryAfterMs?: number }).retryAfterMs).toBe(5_000)
  })

  it('counts refused connections and closed sockets as failures', async () => {
    const s = await backend('s')
    const c = clock()
    const cl = client(s.url, { circuitBreaker: breaker(c.now) })
    expect(await (await cl.get('/')).text()).toBe('s')
    s.behave('reset')
    await cl.get('/').catch(() => {})
    await s.kill()
    await cl.get('/').catch(() => {})
    expect(cl.circuitBreaker?.state).toBe('closed')
    await cl.get('/').catch(() => {})
    expect(cl.circuitBreaker?.stats()).toMatchObject({ state: 'open' })
    // The service comes back on the same port; the probe after resetTime finds it.
    await s.restart()
    s.behave('ok')
    c.advance(5_000)
    expect(await (await cl.get('/')).text()).toBe('s')
    expect(cl.circuitBreaker?.state).toBe('closed')
  })

  it('lets halfOpenRequests probes through and fails the callers beyond them fast', async () => {
    const s = await backend('s')
    s.behave(500)
    const c = clock()
    const cl = client(s.url, { circuitBreaker: breaker(c.now, { halfOpenRequests: 1 }) })
    for (let i = 0; i < 4; i++) await (await cl.get('/')).text()
    c.advance(5_000)
    let release: () => void = () => {}
    let arrived: () => void = () => {}
    const atService = new Promise<void>((r) => {
      arrived = r
    })
    s.behave((_req, res) => {
      release = () => res.end('probe')
      arrived()
    })
    const probe = cl.get('/')
    await atService
    expect(isClientError(await cl.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CIRCUIT_OPEN')).toBe(true)
    release()
    expect(await (await probe).text()).toBe('probe')
    expect(cl.circuitBreaker?.state).toBe('closed')
  })

  it('does not retry an open-circuit refusal', async () => {
    const s = await backend('s')
    const retries = channelMessages('x:http:client:retry')
    const cl = client(s.url, { retryConfig: { count: 3, interval: 0 }, circuitBreaker: {} })
    cl.circuitBreaker!.forceOpen()
    expect(isClientError(await cl.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CIRCUIT_OPEN')).toBe(true)
    expect(s.seen).toEqual([])
    expect(retries).toEqual([])
    cl.circuitBreaker!.forceClose()
    expect(await (await cl.get('/')).text()).toBe('s')
  })

  it('counts the final answer of a retried request once per attempt, inside retry', async () => {
    const s = await backend('s')
    s.behave(503)
    const c = clock()
    const cl = client(s.url, {
      retryConfig: { count: 3, interval: 0, jitter: 'none' },
      circuitBreaker: breaker(c.now),
    })
    expect((await cl.get('/')).status).toBe(503) // four attempts, each counted: the breaker opens
    expect(s.seen.length).toBe(4)
    expect(cl.circuitBreaker?.state).toBe('open')
  })

  it('has no breaker unless configured', () => {
    expect(client('http://127.0.0.1:1').circuitBreaker).toBeUndefined()
  })

  it.each([
    { name: 'a threshold above 1', cb: { failureThreshold: 2 }, option: 'circuitBreaker.failureThreshold' },
    { name: 'a negative resetTime', cb: { resetTime: -1 }, option: 'circuitBreaker.resetTime' },
    {
      name: 'a bucket that does not divide the window',
      cb: { rollingWindow: { timeWindow: 1_000, bucketSize: 300 } },
      option: 'circuitBreaker.rollingWindow.bucketSize',
    },
    { name: 'an unknown option', cb: { threshold: 1 }, option: 'circuitBreaker.threshold' },
    { name: 'a name', cb: { name: 'x' }, option: 'circuitBreaker.name' },
    { name: 'a non-object', cb: 5, option: 'circuitBreaker' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION naming it', ({ cb, option }) => {
    let caught: unknown
    try {
      client('http://127.0.0.1:1', { circuitBreaker: cb as CircuitBreakerConfig })
    } catch (e) {
      caught = e
    }
    expect(isClientError(caught, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((caught as ClientError).option).toBe(option)
  })
})
