import { spawn } from 'node:child_process'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../../test-support/redis.ts'
import { CircuitBreaker, type CircuitBreakerOptions, type StateChangeEvent } from '../src/index.ts'
import { RedisBreakerStore } from '../src/redis.ts'

let redis: RedisServer
const stores: RedisBreakerStore[] = []
let seq = 0

beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})
afterAll(async () => {
  await redis.stop()
})

/** Resolves once the store's client is connected (commands fail fast before that). */
function ready(store: RedisBreakerStore): Promise<void> {
  if (store.client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => store.client.once('ready', () => resolve()))
}

/** A breaker with its own Redis connection, as a breaker in another process would have. */
async function breaker(name: string, options: CircuitBreakerOptions = {}) {
  const store = new RedisBreakerStore({ url: redis.url })
  stores.push(store)
  await ready(store)
  const b = new CircuitBreaker({
    name,
    rollingWindow: { timeWindow: 60_000, bucketSize: 1_000, requestVolumeThreshold: 10 },
    failureThreshold: 0.5,
    resetTime: 60_000,
    shared: { store, retryInterval: 1 },
    ...options,
  })
  const changes: StateChangeEvent[] = []
  b.on('stateChange', (e) => changes.push(e))
  return { b, store, changes }
}

/** Resolves on the breaker's next state change. */
function nextChange(b: CircuitBreaker): Promise<StateChangeEvent> {
  return new Promise((resolve) => {
    const on = (e: StateChangeEvent) => {
      b.off('stateChange', on)
      resolve(e)
    }
    b.on('stateChange', on)
  })
}

const boom = () => Promise.reject(new Error('boom'))
const ok = () => Promise.resolve('ok')

async function run(b: CircuitBreaker, fn: () => Promise<unknown>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await b.execute(fn).catch(() => {})
}

/** Waits until the store's window for `name` holds `calls` calls (every send landed). */
async function landed(store: RedisBreakerStore, name: string, calls: number): Promise<void> {
  const shape = { timeWindow: 60_000, bucketSize: 1_000 }
  while ((await store.add(name, 0, 0, shape)).calls < calls) await new Promise((r) => setImmediate(r))
}

describe('RedisBreakerStore with a real redis-server', () => {
  it('trips two breakers together on failures neither saw enough of alone', async () => {
    const name = `svc-${++seq}`
    const one = await breaker(name)
    const two = await breaker(name)
    await run(one.b, boom, 5)
    await landed(one.store, name, 5)
    expect(one.b.state).toBe('closed')
    // Five more failures in the other breaker: ten in the shared window, half of them failed.
    const tripped = nextChange(two.b)
    await run(two.b, boom, 5)
    expect(await tripped).toMatchObject({ from: 'closed', to: 'open', reason: 'failure-threshold' })
    // The first breaker learns of the trip with its next call's answer, and opens too.
    const follows = nextChange(one.b)
    await run(one.b, ok, 1)
    expect(await follows).toMatchObject({ to: 'open', reason: 'shared-trip' })
    expect(one.b.isAvailable()).toBe(false)
    expect(two.b.isAvailable()).toBe(false)
  })

  it('does not trip while the other process adds enough successes to keep the rate low', async () => {
    const name = `svc-${++seq}`
    const one = await breaker(name)
    const two = await breaker(name)
    await run(two.b, ok, 30)
    await landed(two.store, name, 30)
    // Ten failures here alone would trip a per-process breaker; together they are 10 of 40.
    await run(one.b, boom, 10)
    await landed(one.store, name, 40)
    await run(one.b, ok, 1)
    expect(one.changes).toEqual([])
    expect(one.b.state).toBe('closed')
  })

  it('trips together with a breaker in another process', async () => {
    const name = `svc-${++seq}`
    const one = await breaker(name)
    const child = spawn(
      process.execPath,
      [
        '--conditions=@x/source',
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/fail-n.ts', import.meta.url)),
      ],
      {
        env: { ...process.env, REDIS_URL: redis.url, BREAKER: name, FAILURES: '6' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    expect(await new Promise((r) => child.once('exit', r))).toBe(0)
    expect(out).toContain('closed')
    const tripped = nextChange(one.b)
    await run(one.b, boom, 4)
    expect(await tripped).toMatchObject({ to: 'open', reason: 'failure-threshold' })
  })

  it('falls back to local counting when Redis is down, reports it, and never fails a call for it', async () => {
    const name = `svc-${++seq}`
    const one = await breaker(name)
    await run(one.b, ok, 1)
    await landed(one.store, name, 1)
    const errors: unknown[] = []
    const recovered: unknown[] = []
    const onError = (m: unknown) => errors.push(m)
    const onRecover = (m: unknown) => recovered.push(m)
    subscribe('x:circuit-breaker:store-error', onError)
    subscribe('x:circuit-breaker:store-recover', onRecover)
    try {
      await redis.stop()
      // Successes go through untouched while the store fails behind them.
      for (let i = 0; i < 5; i++) expect(await one.b.execute(ok)).toBe('ok')
      const tripped = nextChange(one.b)
      // Ten local failures trip it on its own window (the window also holds the six successes).
      await run(one.b, boom, 10)
      expect(await tripped).toMatchObject({ to: 'open', reason: 'failure-threshold' })
      expect(errors).toEqual([expect.objectContaining({ name })])
      one.b.reset()
      await redis.start()
      await ready(one.store)
      while (recovered.length === 0) {
        await run(one.b, ok, 1)
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(recovered).toEqual([expect.objectContaining({ name })])
    } finally {
      unsubscribe('x:circuit-breaker:store-error', onError)
      unsubscribe('x:circuit-breaker:store-recover', onRecover)
    }
  })
})
