import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { createCircuitBreakers, isCircuitBreakerError, type StateChangeEvent } from '../src/index.ts'
import { fakeClock } from './helpers/clock.ts'

const boom = () => Promise.reject(new Error('boom'))

function group(maxBreakers = 1000) {
  const clock = fakeClock()
  const breakers = createCircuitBreakers({
    rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 2 },
    failureThreshold: 0.5,
    resetTime: 5_000,
    maxBreakers,
    now: clock.now,
  })
  return { clock, breakers }
}

async function tripKey(breakers: ReturnType<typeof group>['breakers'], key: string): Promise<void> {
  for (let i = 0; i < 2; i++) await breakers.execute(key, boom).catch(() => {})
  expect(breakers.state(key)).toBe('open')
}

describe('keyed breakers', () => {
  it('keeps one breaker per key, so one failing key leaves the others closed', async () => {
    const { breakers } = group()
    await tripKey(breakers, 'http://a')
    await expect(breakers.execute('http://b', () => 'fine')).resolves.toBe('fine')
    expect(breakers.state('http://b')).toBe('closed')
    await expect(breakers.execute('http://a', () => 'x')).rejects.toMatchObject({
      code: 'X_ERR_CIRCUIT_OPEN',
      breaker: 'http://a',
    })
  })

  it('answers isAvailable() and state() for a key with no breaker without making one', () => {
    const { breakers } = group()
    expect(breakers.isAvailable('never-seen')).toBe(true)
    expect(breakers.state('never-seen')).toBe('closed')
    expect(breakers.peek('never-seen')).toBeUndefined()
    expect(breakers.size).toBe(0)
  })

  it('reports state changes of every breaker with the key as name', async () => {
    const { breakers } = group()
    const seen: StateChangeEvent[] = []
    breakers.on('stateChange', (e) => seen.push(e))
    await tripKey(breakers, 'k1')
    expect(seen).toEqual([expect.objectContaining({ name: 'k1', from: 'closed', to: 'open' })])
  })

  it('never holds more than maxBreakers, dropping idle closed breakers before open ones', async () => {
    const { breakers, clock } = group(3)
    await tripKey(breakers, 'victim-of-an-outage')
    const evicted: unknown[] = []
    const onEvict = (m: unknown) => evicted.push(m)
    subscribe('x:circuit-breaker:evict', onEvict)
    try {
      // A flood of hostile keys, each used once.
      for (let i = 0; i < 200; i++) {
        await breakers.execute(`hostile-${i}`, () => 'ok')
        clock.advance(10)
      }
    } finally {
      unsubscribe('x:circuit-breaker:evict', onEvict)
    }
    expect(breakers.size).toBe(3)
    expect(breakers.state('victim-of-an-outage')).toBe('open')
    expect(evicted.length).toBe(198)
    expect(evicted[0]).toEqual({ key: 'hostile-0', state: 'closed' })
  })

  it('drops the least recently used breaker when every breaker is open', async () => {
    const { breakers, clock } = group(2)
    await tripKey(breakers, 'a')
    clock.advance(1)
    await tripKey(breakers, 'b')
    clock.advance(1)
    await tripKey(breakers, 'c')
    expect([...breakers.keys()]).toEqual(['b', 'c'])
  })

  it('rejects a key that is not a string or is over 4096 characters', async () => {
    const { breakers } = group()
    for (const key of [42, 'k'.repeat(4097)]) {
      const error = await breakers.execute(key as string, () => 1).catch((e: unknown) => e)
      expect(isCircuitBreakerError(error, 'X_ERR_CIRCUIT_INVALID_ARGUMENT')).toBe(true)
    }
    expect(breakers.size).toBe(0)
  })

  it('forgets breakers on delete() and clear()', async () => {
    const { breakers } = group()
    await tripKey(breakers, 'a')
    expect(breakers.delete('a')).toBe(true)
    expect(breakers.state('a')).toBe('closed')
    breakers.get('b')
    breakers.clear()
    expect(breakers.size).toBe(0)
  })
})
