import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  isCircuitBreakerError,
  isCircuitOpenError,
  type StateChangeEvent,
} from '../src/index.ts'
import { deferred, type FakeClock, fakeClock } from './helpers/clock.ts'

const ok = () => Promise.resolve('ok')
const boom = () => Promise.reject(Object.assign(new Error('boom'), { code: 'EBOOM' }))

function make(clock: FakeClock, options: CircuitBreakerOptions = {}) {
  const events: StateChangeEvent[] = []
  const breaker = new CircuitBreaker({
    rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 4 },
    failureThreshold: 0.5,
    resetTime: 5_000,
    halfOpenTimeout: 2_000,
    now: clock.now,
    onStateChange: (e) => events.push(e),
    ...options,
  })
  return { breaker, events }
}

async function fail(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.execute(boom).catch(() => {})
}

async function succeed(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.execute(ok)
}

async function trip(breaker: CircuitBreaker): Promise<void> {
  await fail(breaker, 4)
  expect(breaker.state).toBe('open')
}

describe('closed', () => {
  it('passes results and errors through and counts them', async () => {
    const { breaker } = make(fakeClock())
    await expect(breaker.execute(ok)).resolves.toBe('ok')
    await expect(breaker.execute(boom)).rejects.toMatchObject({ code: 'EBOOM' })
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 2, failures: 1, failureRate: 0.5 })
  })

  it('returns a promise for a synchronous function and counts a synchronous throw as a failure', async () => {
    const { breaker } = make(fakeClock())
    const result = breaker.execute(() => 42)
    expect(result).toBeInstanceOf(Promise)
    await expect(result).resolves.toBe(42)
    await expect(
      breaker.execute(() => {
        throw Object.assign(new Error('sync'), { code: 'ESYNC' })
      }),
    ).rejects.toMatchObject({ code: 'ESYNC' })
    expect(breaker.stats()).toMatchObject({ calls: 2, failures: 1 })
  })

  it('accepts a thenable that is not a native promise', async () => {
    const { breaker } = make(fakeClock())
    // biome-ignore lint/suspicious/noThenProperty: a hand-made thenable is the point of this test
    const thenable = { then: (resolve: (v: number) => void) => resolve(7) } as unknown as PromiseLike<number>
    await expect(breaker.execute(() => thenable)).resolves.toBe(7)
    expect(breaker.stats().calls).toBe(1)
  })

  it('does not trip before requestVolumeThreshold calls are in the window', async () => {
    const { breaker } = make(fakeClock())
    await fail(breaker, 3)
    expect(breaker.state).toBe('closed')
    await fail(breaker, 1)
    expect(breaker.state).toBe('open')
  })

  it.each([
    {
      name: 'rate below threshold stays closed',
      threshold: 0.5,
      volume: 4,
      outcomes: 'ffsss',
      state: 'closed',
    },
    { name: 'rate at threshold trips (>=)', threshold: 0.5, volume: 4, outcomes: 'ssff', state: 'open' },
    {
      name: 'one failure in ten at 0.1 trips',
      threshold: 0.1,
      volume: 10,
      outcomes: 'sssssssssf',
      state: 'open',
    },
    {
      name: 'threshold 1 needs every call to fail',
      threshold: 1,
      volume: 3,
      outcomes: 'sffff',
      state: 'closed',
    },
    { name: 'threshold 1 trips on all failures', threshold: 1, volume: 3, outcomes: 'fff', state: 'open' },
    { name: 'volume 1 trips on a first failure', threshold: 0.5, volume: 1, outcomes: 'f', state: 'open' },
    { name: 'successes only never trip', threshold: 0.01, volume: 1, outcomes: 'ssssssss', state: 'closed' },
    {
      name: 'below volume at 100 % failures stays closed',
      threshold: 0.2,
      volume: 6,
      outcomes: 'fffff',
      state: 'closed',
    },
  ])('$name', async ({ threshold, volume, outcomes, state }) => {
    const { breaker } = make(fakeClock(), {
      failureThreshold: threshold,
      rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: volume },
    })
    for (const o of outcomes) {
      if (o === 'f') await fail(breaker)
      else await succeed(breaker)
    }
    expect(breaker.state).toBe(state)
  })

  it('forgets calls whose bucket has slid out of the window', async () => {
    const clock = fakeClock(0)
    const { breaker } = make(clock)
    await fail(breaker, 3) // bucket 0
    clock.advance(9_999) // bucket 9: the window still holds bucket 0
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 3 })
    clock.advance(1) // bucket 10: bucket 0 expired
    expect(breaker.stats()).toMatchObject({ calls: 0, failures: 0 })
    await fail(breaker, 1)
    expect(breaker.state).toBe('closed')
  })

  it('slides bucket by bucket, keeping the newer buckets', async () => {
    const clock = fakeClock(0)
    const { breaker } = make(clock)
    await fail(breaker, 2) // bucket 0
    clock.advance(5_000)
    await fail(breaker, 1) // bucket 5
    clock.advance(5_000) // bucket 10: bucket 0 gone, bucket 5 kept
    expect(breaker.stats()).toMatchObject({ calls: 1, failures: 1 })
    await succeed(breaker, 1)
    await fail(breaker, 2)
    expect(breaker.state).toBe('open')
  })

  it('keeps counting into the current bucket when the clock goes backwards', async () => {
    const clock = fakeClock(50_000)
    const { breaker } = make(clock)
    await fail(breaker, 2)
    clock.set(10_000)
    await fail(breaker, 2)
    expect(breaker.state).toBe('open')
  })

  it('counts correctly with an injected clock that starts below zero', async () => {
    const clock = fakeClock(-25_000)
    const { breaker } = make(clock)
    await fail(breaker, 2)
    clock.advance(1_000)
    await fail(breaker, 2)
    expect(breaker.state).toBe('open')
  })

  it('counts a value whose status code is listed as a failure and still returns it', async () => {
    const { breaker } = make(fakeClock(), { statusCodes: [503] })
    const response = { statusCode: 503, body: 'busy' }
    await expect(breaker.execute(() => Promise.resolve(response))).resolves.toBe(response)
    await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 })
    await breaker.execute(() => ({ statusCode: 200 }))
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 2 })
  })

  it('ignores errors that ignoreError picks, counting them neither way', async () => {
    const { breaker } = make(fakeClock(), {
      ignoreError: (e) => (e as { code?: string }).code === 'EBOOM',
    })
    await fail(breaker, 10)
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0 })
  })

  it('counts a successful call slower than slowCallThreshold as a failure', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock, { slowCallThreshold: 100 })
    const slow = () => {
      clock.advance(150)
      return Promise.resolve('late')
    }
    await expect(breaker.execute(slow)).resolves.toBe('late')
    await breaker.execute(() => {
      clock.advance(100)
      return 'on time'
    })
    expect(breaker.stats()).toMatchObject({ calls: 2, failures: 1 })
    await breaker.execute(slow)
    await breaker.execute(slow)
    expect(breaker.state).toBe('open')
  })

  it('rejects a non-function with X_ERR_CIRCUIT_INVALID_ARGUMENT and counts nothing', async () => {
    const { breaker } = make(fakeClock())
    const error = await breaker.execute(42 as never).catch((e: unknown) => e)
    expect(isCircuitBreakerError(error, 'X_ERR_CIRCUIT_INVALID_ARGUMENT')).toBe(true)
    expect(breaker.stats().calls).toBe(0)
  })
})

describe('open', () => {
  it('rejects at once without calling the function, saying when the next probe is allowed', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock, { name: 'db' })
    await trip(breaker)
    const openedAt = clock.now()
    clock.advance(1_500)
    let called = false
    const error = await breaker
      .execute(() => {
        called = true
        return ok()
      })
      .catch((e: unknown) => e)
    expect(called).toBe(false)
    expect(isCircuitOpenError(error)).toBe(true)
    expect(error).toMatchObject({
      code: 'X_ERR_CIRCUIT_OPEN',
      state: 'open',
      breaker: 'db',
      retryAfterMs: 3_500,
      nextProbeAt: openedAt + 5_000,
    })
    expect(error).toBeInstanceOf(Error)
  })

  it('moves to half-open once resetTime has passed', async () => {
    const clock = fakeClock()
    const { breaker, events } = make(clock)
    await trip(breaker)
    clock.advance(4_999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half-open')
    expect(events.map((e) => [e.from, e.to, e.reason])).toEqual([
      ['closed', 'open', 'failure-threshold'],
      ['open', 'half-open', 'reset-time-elapsed'],
    ])
    expect(events[0]!.nextProbeAt).toBe(events[0]!.at + 5_000)
  })

  it('drops outcomes of calls that started closed and end after the trip', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock)
    const slow = deferred<string>()
    const pending = breaker.execute(() => slow.promise)
    await trip(breaker)
    clock.advance(5_000)
    expect(breaker.state).toBe('half-open')
    slow.resolve('late')
    await expect(pending).resolves.toBe('late')
    // A success from before the trip is not a probe: the breaker is still half-open.
    expect(breaker.state).toBe('half-open')
  })
})

describe('half-open', () => {
  async function halfOpen(clock: FakeClock, options: CircuitBreakerOptions = {}) {
    const made = make(clock, options)
    await trip(made.breaker)
    clock.advance(5_000)
    expect(made.breaker.state).toBe('half-open')
    return made
  }

  it('closes on a successful probe, with a fresh window', async () => {
    const clock = fakeClock()
    const { breaker, events } = await halfOpen(clock)
    await expect(breaker.execute(ok)).resolves.toBe('ok')
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0, failures: 0, consecutiveTrips: 0 })
    expect(events.at(-1)).toMatchObject({ from: 'half-open', to: 'closed', reason: 'probe-success' })
  })

  it('re-opens on a failed probe for another resetTime', async () => {
    const clock = fakeClock()
    const { breaker, events } = await halfOpen(clock)
    await fail(breaker)
    expect(breaker.state).toBe('open')
    expect(events.at(-1)).toMatchObject({ from: 'half-open', to: 'open', reason: 'probe-failure' })
    expect(breaker.stats().nextProbeAt).toBe(clock.now() + 5_000)
  })

  it('lets exactly halfOpenRequests probes through and fails the rest fast', async () => {
    const clock = fakeClock()
    const { breaker } = await halfOpen(clock, { halfOpenRequests: 2 })
    const probes = [deferred<string>(), deferred<string>()]
    let calls = 0
    const run = (i: number) =>
      breaker.execute(() => {
        calls++
        return probes[i]!.promise
      })
    const first = run(0)
    const second = run(1)
    const third = await breaker.execute(ok).catch((e: unknown) => e)
    expect(calls).toBe(2)
    expect(third).toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN', state: 'half-open' })
    expect(breaker.isAvailable()).toBe(false)
    probes[0]!.resolve('a')
    await first
    // One probe of two succeeded: not closed yet, and its slot is not handed out again.
    expect(breaker.state).toBe('half-open')
    await expect(breaker.execute(ok)).rejects.toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN' })
    probes[1]!.resolve('b')
    await second
    expect(breaker.state).toBe('closed')
  })

  it('re-opens when any one of several probes fails, ignoring the others', async () => {
    const clock = fakeClock()
    const { breaker } = await halfOpen(clock, { halfOpenRequests: 3 })
    const good = deferred<string>()
    const pending = breaker.execute(() => good.promise)
    await fail(breaker)
    expect(breaker.state).toBe('open')
    good.resolve('fine')
    await pending
    expect(breaker.state).toBe('open')
  })

  it('counts a probe that hangs past halfOpenTimeout as failed, so half-open never wedges', async () => {
    const clock = fakeClock()
    const { breaker, events } = await halfOpen(clock)
    const hung = deferred<string>()
    const probe = breaker.execute(() => hung.promise)
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'half-open', retryAfterMs: 2_000 })
    clock.advance(1_999)
    expect(breaker.state).toBe('half-open')
    clock.advance(1)
    expect(breaker.state).toBe('open')
    expect(events.at(-1)).toMatchObject({ from: 'half-open', to: 'open', reason: 'probe-timeout' })
    // The hung probe settling late changes nothing.
    hung.resolve('late')
    await probe
    expect(breaker.state).toBe('open')
    clock.advance(5_000)
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
  })

  it('frees the slot of a probe that ends with an ignored error', async () => {
    const clock = fakeClock()
    const { breaker } = await halfOpen(clock, { ignoreError: (e) => (e as Error).message === 'cancelled' })
    await breaker.execute(() => Promise.reject(new Error('cancelled'))).catch(() => {})
    expect(breaker.state).toBe('half-open')
    expect(breaker.isAvailable()).toBe(true)
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
  })

  it('treats a slow probe as failed', async () => {
    const clock = fakeClock()
    const { breaker } = await halfOpen(clock, { slowCallThreshold: 50 })
    await breaker.execute(() => {
      clock.advance(60)
      return 'slow'
    })
    expect(breaker.state).toBe('open')
  })

  it('answers isAvailable() without taking a probe slot', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock)
    await trip(breaker)
    expect(breaker.isAvailable()).toBe(false)
    clock.advance(5_000)
    for (let i = 0; i < 5; i++) expect(breaker.isAvailable()).toBe(true)
    expect(breaker.stats().probesInFlight).toBe(0)
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
  })
})

describe('backoff', () => {
  it('grows the open period on each failed probe up to maxResetTime, and resets it on close', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock, { resetTime: 1_000, backoff: { factor: 2, maxResetTime: 5_000 } })
    await trip(breaker)
    const periods: number[] = []
    for (let i = 0; i < 5; i++) {
      const next = breaker.stats().nextProbeAt!
      periods.push(next - clock.now())
      clock.set(next)
      await fail(breaker) // the probe fails
    }
    expect(periods).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
    clock.set(breaker.stats().nextProbeAt!)
    await succeed(breaker)
    expect(breaker.state).toBe('closed')
    await trip(breaker)
    expect(breaker.stats().nextProbeAt! - clock.now()).toBe(1_000)
  })
})

describe('forceOpen, forceClose, reset', () => {
  it('forceOpen() rejects every call with no probe time until reset()', async () => {
    const clock = fakeClock()
    const { breaker, events } = make(clock)
    breaker.forceOpen()
    clock.advance(1_000_000)
    expect(breaker.state).toBe('open')
    const error = await breaker.execute(ok).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'X_ERR_CIRCUIT_OPEN',
      retryAfterMs: undefined,
      nextProbeAt: undefined,
    })
    expect(breaker.stats().forced).toBe('open')
    breaker.reset()
    await expect(breaker.execute(ok)).resolves.toBe('ok')
    expect(events.map((e) => e.reason)).toEqual(['force-open', 'reset'])
  })

  it('forceClose() keeps counting but never trips until reset()', async () => {
    const clock = fakeClock()
    const { breaker, events } = make(clock)
    await trip(breaker)
    breaker.forceClose()
    await fail(breaker, 20)
    expect(breaker.stats()).toMatchObject({ state: 'closed', forced: 'closed', failures: 20 })
    breaker.reset()
    expect(breaker.stats()).toMatchObject({ forced: undefined, calls: 0 })
    await trip(breaker)
    expect(events.map((e) => `${e.from}>${e.to}:${e.reason}`)).toEqual([
      'closed>open:failure-threshold',
      'open>closed:force-close',
      'closed>closed:reset',
      'closed>open:failure-threshold',
    ])
  })

  it('emits nothing when reset() finds the breaker already fresh and closed', () => {
    const { breaker, events } = make(fakeClock())
    breaker.reset()
    breaker.forceOpen()
    breaker.forceOpen()
    expect(events.map((e) => e.reason)).toEqual(['force-open'])
  })
})

describe('events', () => {
  it('calls on() listeners in order and stops calling one after off()', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock)
    const seen: string[] = []
    const a = (e: StateChangeEvent) => seen.push(`a:${e.to}`)
    const b = (e: StateChangeEvent) => seen.push(`b:${e.to}`)
    breaker.on('stateChange', a).on('stateChange', b)
    await trip(breaker)
    breaker.off('stateChange', a)
    clock.advance(5_000)
    void breaker.state
    expect(seen).toEqual(['a:open', 'b:open', 'b:half-open'])
  })

  it('rejects an unknown event name with X_ERR_CIRCUIT_INVALID_ARGUMENT', () => {
    const { breaker } = make(fakeClock())
    expect(() => breaker.on('open' as 'stateChange', () => {})).toThrow(
      expect.objectContaining({ code: 'X_ERR_CIRCUIT_INVALID_ARGUMENT' }),
    )
  })

  it('publishes state changes and rejections on diagnostics channels', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock, { name: 'payments' })
    const changes: unknown[] = []
    const rejects: unknown[] = []
    const onChange = (m: unknown) => changes.push(m)
    const onReject = (m: unknown) => rejects.push(m)
    subscribe('x:circuit-breaker:state-change', onChange)
    subscribe('x:circuit-breaker:reject', onReject)
    try {
      await trip(breaker)
      await breaker.execute(ok).catch(() => {})
    } finally {
      unsubscribe('x:circuit-breaker:state-change', onChange)
      unsubscribe('x:circuit-breaker:reject', onReject)
    }
    expect(changes).toEqual([
      expect.objectContaining({ name: 'payments', from: 'closed', to: 'open', breaker }),
    ])
    expect(rejects).toEqual([
      expect.objectContaining({ name: 'payments', state: 'open', retryAfterMs: 5_000 }),
    ])
  })
})

describe('tryAcquire()', () => {
  it('hands out a shared permit while closed and a probe permit while half-open', async () => {
    const clock = fakeClock()
    const { breaker } = make(clock)
    const permit = breaker.tryAcquire()
    expect(isCircuitBreakerError(permit)).toBe(false)
    if (isCircuitBreakerError(permit)) return
    expect(permit.probe).toBe(false)
    permit.failure()
    expect(breaker.stats().failures).toBe(1)
    await fail(breaker, 3)
    expect(isCircuitOpenError(breaker.tryAcquire())).toBe(true)
    clock.advance(5_000)
    const probe = breaker.tryAcquire()
    if (isCircuitBreakerError(probe)) throw probe
    expect(probe.probe).toBe(true)
    expect(isCircuitOpenError(breaker.tryAcquire())).toBe(true)
    probe.release()
    const again = breaker.tryAcquire()
    if (isCircuitBreakerError(again)) throw again
    again.success(10)
    again.failure() // a second settlement is ignored
    expect(breaker.state).toBe('closed')
  })
})
