import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { type Dispatcher, fetch, request } from 'undici'
import { describe, expect, it } from 'vitest'
import {
  type BalancerOptions,
  type BalancerRule,
  balancer,
  ClientPool,
  createRetryBudget,
  isClientPoolError,
} from '../src/index.js'
import { type Backend, backend, clock, onCleanup, refusedUrl } from './helpers/backends.ts'

const SERVICE = 'http://service.invalid'

/** A pool composed with a balancer over `options`, closed after the test. */
function balanced(options: BalancerOptions) {
  const pool = new ClientPool()
  onCleanup(() => pool.close())
  const interceptor = balancer(options)
  return { dispatcher: pool.compose(interceptor), state: interceptor.balancer, pool }
}

async function get(
  dispatcher: Dispatcher,
  path = '/',
  extra: Partial<Dispatcher.RequestOptions> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(`${SERVICE}${path}`, { dispatcher, ...extra })
  return { status: res.statusCode, body: await res.body.text() }
}

async function three(): Promise<[Backend, Backend, Backend]> {
  return [await backend('a'), await backend('b'), await backend('c')]
}

/** Collects what a diagnostics channel publishes during the test. */
function listenTo(name: string): unknown[] {
  const seen: unknown[] = []
  const fn = (m: unknown) => seen.push(m)
  subscribe(name, fn)
  onCleanup(async () => {
    unsubscribe(name, fn)
  })
  return seen
}

/** Resolves with the next message published on a diagnostics channel. */
function next(name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const fn = (m: unknown) => {
      unsubscribe(name, fn)
      resolve(m)
    }
    subscribe(name, fn)
  })
}

describe('balancer: picking a target', () => {
  it('sends requests to the targets in turn with round-robin', async () => {
    const [a, b, c] = await three()
    const { dispatcher } = balanced({ targets: [a.url, b.url, c.url] })
    const bodies: string[] = []
    for (let i = 0; i < 6; i++) bodies.push((await get(dispatcher)).body)
    expect(bodies).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('replaces the request origin by the target and appends the path to its base path', async () => {
    const a = await backend('a')
    const { dispatcher } = balanced({ targets: [{ url: `${a.url}/v1/` }] })
    await get(dispatcher, '/users?id=7')
    expect(a.seen).toEqual(['GET /v1/users?id=7'])
  })

  it('balances fetch() too: the URL names the service, the target decides where it goes', async () => {
    const [a, b] = await three()
    const { dispatcher } = balanced({ targets: [a.url, b.url] })
    const first = await fetch(`${SERVICE}/f`, { dispatcher })
    const second = await fetch(`${SERVICE}/f`, { dispatcher })
    expect([await first.text(), await second.text()]).toEqual(['a', 'b'])
  })

  it('goes to the first available target in order with failover, and back to it once it is available', async () => {
    const [a, b] = await three()
    let aUp = true
    const { dispatcher } = balanced({
      algorithm: 'failover',
      targets: [{ url: a.url, available: () => aUp }, b.url],
    })
    expect((await get(dispatcher)).body).toBe('a')
    expect((await get(dispatcher)).body).toBe('a')
    aUp = false
    expect((await get(dispatcher)).body).toBe('b')
    aUp = true
    expect((await get(dispatcher)).body).toBe('a')
  })

  it('picks the less loaded of two random targets with least-request', async () => {
    const [a, b, c] = await three()
    const held: Array<() => void> = []
    let arrived: () => void = () => {}
    a.behave((_req, res) => {
      held.push(() => res.end('a'))
      arrived()
    })
    // random() picks targets 0 and 1 (a and b) every time.
    const picks = [0.1, 0.1]
    let i = 0
    const { dispatcher, state } = balanced({
      algorithm: 'least-request',
      targets: [a.url, b.url, c.url],
      random: () => picks[i++ % picks.length]!,
    })
    // Ties go to the first sample (a); a then holds the request, so the next goes to b.
    const onA = new Promise<void>((resolve) => {
      arrived = resolve
    })
    const slow = get(dispatcher)
    await onA
    expect(state.targets[0]!.inflight).toBe(1)
    expect((await get(dispatcher)).body).toBe('b')
    expect((await get(dispatcher)).body).toBe('b')
    held[0]!()
    expect((await slow).body).toBe('a')
    expect(state.stats().map((s) => s.inflight)).toEqual([0, 0, 0])
  })

  it('spreads least-request load over every target when none is busier', async () => {
    const [a, b, c] = await three()
    const { dispatcher } = balanced({ algorithm: 'least-request', targets: [a.url, b.url, c.url] })
    const counts = new Map<string, number>()
    for (let i = 0; i < 60; i++) {
      const { body } = await get(dispatcher)
      counts.set(body, (counts.get(body) ?? 0) + 1)
    }
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c'])
  })

  it('asks a custom rule with the candidates and the request, and sends where it says', async () => {
    const [a, b, c] = await three()
    const offered: string[][] = []
    const rule: BalancerRule = {
      select(targets, req) {
        offered.push(targets.map((t) => t.url))
        const want = req.path.startsWith('/c') ? c.url : a.url
        return targets.find((t) => t.url === want)
      },
    }
    const { dispatcher } = balanced({
      algorithm: rule,
      targets: [a.url, { url: b.url, available: () => false }, c.url],
    })
    expect((await get(dispatcher, '/c')).body).toBe('c')
    expect((await get(dispatcher, '/x')).body).toBe('a')
    expect(offered[0]).toEqual([a.url, c.url])
  })

  it.each([
    {
      name: 'returns a target it was not offered',
      rule: { select: () => ({ url: 'http://elsewhere', index: 0 }) } as unknown as BalancerRule,
      code: 'X_ERR_POOL_BALANCER_RULE',
    },
    {
      name: 'throws',
      rule: {
        select: () => {
          throw new Error('bug in the rule')
        },
      },
      code: 'X_ERR_POOL_BALANCER_RULE',
    },
    { name: 'returns undefined', rule: { select: () => undefined }, code: 'X_ERR_POOL_NO_TARGET' },
  ])('fails the request with a coded error when the rule $name', async ({ rule, code }) => {
    const a = await backend('a')
    const { dispatcher } = balanced({ algorithm: rule, targets: [a.url] })
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect(isClientPoolError(err, code as 'X_ERR_POOL_BALANCER_RULE')).toBe(true)
    expect(a.seen).toEqual([])
  })

  it('never calls a target that says it is unavailable, and fails at once when none is', async () => {
    const [a, b] = await three()
    let bUp = false
    const { dispatcher } = balanced({
      targets: [
        { url: a.url, available: () => false },
        { url: b.url, available: () => bUp },
      ],
    })
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect(isClientPoolError(err, 'X_ERR_POOL_NO_TARGET')).toBe(true)
    bUp = true
    expect((await get(dispatcher)).body).toBe('b')
    expect(a.seen).toEqual([])
  })

  it('sends a request the bypass predicate picks straight below, to the origin it names', async () => {
    const [a, b] = await three()
    const { dispatcher } = balanced({
      targets: [a.url],
      bypass: (opts) => (opts.headers as Record<string, string> | undefined)?.['x-pin'] === '1',
    })
    const res = await request(`${b.url}/direct`, { dispatcher, headers: { 'x-pin': '1' } })
    expect(await res.body.text()).toBe('b')
    expect(a.seen).toEqual([])
  })

  it('applies a target interceptor to that target only', async () => {
    const [a, b] = await three()
    const tagged: string[] = []
    const tag: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
      tagged.push(String(opts.origin))
      return dispatch(opts, handler)
    }
    const { dispatcher } = balanced({ targets: [{ url: a.url, interceptor: tag }, b.url] })
    for (let i = 0; i < 4; i++) await get(dispatcher)
    expect(tagged).toEqual([a.url, a.url])
  })
})

describe('balancer: failover', () => {
  it('moves a request on from a refused connection so that no request fails', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const events = listenTo('x:client-pool:failover')
    const { dispatcher } = balanced({ targets: [dead, b.url], outlierDetection: false })
    for (let i = 0; i < 4; i++) expect((await get(dispatcher)).body).toBe('b')
    // Round-robin starts every other request on the dead target; each one moves on.
    expect(events.length).toBe(4)
    expect(events[0]).toMatchObject({ from: dead, attempt: 1, method: 'GET', path: '/' })
  })

  it('moves a request on from a connection closed before the response', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const { dispatcher } = balanced({ targets: [a.url, b.url] })
    expect((await get(dispatcher)).body).toBe('b')
    expect(a.seen).toEqual(['GET /'])
  })

  it('fails with every target failure, in order, once all were tried', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const dead = await refusedUrl()
    const { dispatcher } = balanced({ targets: [a.url, b.url, dead] })
    await b.kill()
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect(isClientPoolError(err, 'X_ERR_POOL_ALL_TARGETS_FAILED')).toBe(true)
    const failures = (err as { failures: Array<{ target: string; error: { code?: string } }> }).failures
    expect(failures.map((f) => f.target)).toEqual([a.url, b.url, dead])
    expect(failures.map((f) => f.error.code)).toEqual(['UND_ERR_SOCKET', 'ECONNREFUSED', 'ECONNREFUSED'])
  })

  it('passes a single target failure through unchanged', async () => {
    const dead = await refusedUrl()
    const { dispatcher } = balanced({ targets: [dead] })
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ECONNREFUSED')
  })

  it('does not move on with failover off', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const { dispatcher } = balanced({ targets: [dead, b.url], failover: false })
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ECONNREFUSED')
    expect(b.seen).toEqual([])
  })

  it('moves on from a failover status, dropping that response, and returns the last one when none is left', async () => {
    const [a, b] = await three()
    a.behave(503)
    const { dispatcher } = balanced({ targets: [a.url, b.url], failover: { statusCodes: [503] } })
    expect(await get(dispatcher)).toEqual({ status: 200, body: 'b' })
    b.behave(503)
    expect(await get(dispatcher)).toEqual({ status: 503, body: 'b 503' })
    expect(a.seen.length).toBe(2)
  })

  it('gives up the connection of a failover response with a large body, and still moves on', async () => {
    const [a, b] = await three()
    a.behave((_req, res) => {
      res.writeHead(503)
      res.end(Buffer.alloc(1024 * 1024))
    })
    const { dispatcher } = balanced({ targets: [a.url, b.url], failover: { statusCodes: [503] } })
    expect(await get(dispatcher)).toEqual({ status: 200, body: 'b' })
  })

  it('moves a POST on when it never left, but not once it may have reached the target', async () => {
    const [a, b] = await three()
    const dead = await refusedUrl()
    const refused = balanced({ targets: [dead, b.url] })
    expect((await get(refused.dispatcher, '/', { method: 'POST', body: 'x' })).body).toBe('b')

    a.behave('reset')
    const reset = balanced({ targets: [a.url, b.url] })
    const err = await get(reset.dispatcher, '/', { method: 'POST', body: 'x' }).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('UND_ERR_SOCKET')
    const allowed = balanced({ targets: [a.url, b.url], failover: { methods: ['POST'] } })
    expect((await get(allowed.dispatcher, '/', { method: 'POST', body: 'x' })).body).toBe('b')
  })

  it('never moves on with a streamed body, which the first attempt consumed', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const { dispatcher } = balanced({ targets: [a.url, b.url], failover: { methods: ['PUT'] } })
    const err = await get(dispatcher, '/', { method: 'PUT', body: Readable.from(['a', 'b']) }).catch(
      (e: unknown) => e,
    )
    expect((err as { code?: string }).code).toBe('UND_ERR_SOCKET')
    expect(b.seen).toEqual([])
  })

  it('moves on from an open-circuit refusal without counting it against the target or the budget', async () => {
    const [a, b] = await three()
    const refuse: Dispatcher.DispatcherComposeInterceptor = () => (_opts, handler) => {
      const err = Object.assign(new Error('circuit open'), { code: 'X_ERR_CIRCUIT_OPEN' })
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, err)
      return true
    }
    const budget = createRetryBudget({ ratio: 0, minPerSecond: 0 })
    const { dispatcher, state } = balanced({
      targets: [{ url: a.url, interceptor: refuse }, b.url],
      failover: { methods: [] },
      retryBudget: budget,
    })
    expect((await get(dispatcher)).body).toBe('b')
    expect(state.stats()[0]).toMatchObject({ failures: 0, consecutiveFailures: 0 })
  })

  it('waits `interval` between targets, and an abort during the wait ends the request at once', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const { dispatcher } = balanced({ targets: [a.url, b.url], failover: { interval: 60_000 } })
    const ac = new AbortController()
    const waiting = next('x:client-pool:failover')
    const pending = get(dispatcher, '/', { signal: ac.signal }).catch((e: unknown) => e)
    await waiting // a failed; the request now waits before going to b
    const stop = new Error('stop')
    ac.abort(stop)
    expect(await pending).toBe(stop)
    expect(b.seen).toEqual([])
  })

  it('draws failovers from the retry budget and stops moving on once it is spent', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const c = clock()
    const exhausted = listenTo('x:client-pool:budget-exhausted')
    const budget = createRetryBudget({ ratio: 0, minPerSecond: 0.2, window: 10_000, now: c.now })
    // Two retries per window: the third failover is refused.
    const { dispatcher } = balanced({
      algorithm: 'failover',
      targets: [dead, b.url],
      retryBudget: budget,
      outlierDetection: false,
    })
    expect((await get(dispatcher)).body).toBe('b')
    expect((await get(dispatcher)).body).toBe('b')
    const err = await get(dispatcher).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('ECONNREFUSED')
    expect(exhausted).toEqual([{ target: dead, method: 'GET', path: '/' }])
    c.advance(10_000)
    expect((await get(dispatcher)).body).toBe('b')
  })

  it('ends an aborted request with the abort and moves nowhere', async () => {
    const [a, b] = await three()
    let arrived: () => void = () => {}
    const onA = new Promise<void>((r) => {
      arrived = r
    })
    a.behave(() => arrived())
    const { dispatcher, state } = balanced({ targets: [a.url, b.url] })
    const ac = new AbortController()
    const pending = get(dispatcher, '/', { signal: ac.signal }).catch((e: unknown) => e)
    await onA
    ac.abort()
    expect(((await pending) as { name?: string }).name).toBe('AbortError')
    expect(b.seen).toEqual([])
    expect(state.stats()[0]).toMatchObject({ inflight: 0, failures: 0 })
  })
})

describe('balancer: outlier ejection', () => {
  it('ejects a target after N failures in a row, for a time that grows with each ejection', async () => {
    const [a, b] = await three()
    a.behave(500)
    const c = clock()
    const ejected = listenTo('x:client-pool:eject')
    const back = listenTo('x:client-pool:uneject')
    const { dispatcher, state } = balanced({
      algorithm: 'failover',
      targets: [a.url, b.url],
      failover: false,
      outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 1_000, maxEjectionPercent: 50 },
      now: c.now,
    })
    for (let i = 0; i < 3; i++) expect((await get(dispatcher)).status).toBe(500)
    expect(state.stats()[0]).toMatchObject({ ejected: true, ejections: 1 })
    expect(ejected).toEqual([{ target: a.url, consecutiveFailures: 3, ejections: 1, ejectionTime: 1_000 }])
    expect((await get(dispatcher)).body).toBe('b')

    c.advance(1_000)
    expect((await get(dispatcher)).status).toBe(500) // back in service, and still failing
    expect(back).toEqual([{ target: a.url, ejectedFor: 1_000 }])
    for (let i = 0; i < 2; i++) await get(dispatcher)
    expect(ejected[1]).toMatchObject({ ejections: 2, ejectionTime: 2_000 })
    c.advance(1_999)
    expect((await get(dispatcher)).body).toBe('b')
    c.advance(1)
    a.behave('ok')
    expect((await get(dispatcher)).body).toBe('a')
  })

  it('lets the ejection multiplier decay while a target stays in service', async () => {
    const [a, b] = await three()
    a.behave(500)
    const c = clock()
    const ejected = listenTo('x:client-pool:eject')
    const { dispatcher, state } = balanced({
      algorithm: 'failover',
      targets: [a.url, b.url],
      failover: false,
      outlierDetection: { consecutiveFailures: 1, baseEjectionTime: 1_000, maxEjectionPercent: 50 },
      now: c.now,
    })
    await get(dispatcher) // ejected once, for 1 s
    c.advance(1_000)
    c.advance(5_000) // five base periods in service
    expect(state.stats()[0]!.ejections).toBe(0)
    await get(dispatcher)
    expect(ejected.map((e) => (e as { ejectionTime: number }).ejectionTime)).toEqual([1_000, 1_000])
  })

  it('caps the ejection time at maxEjectionTime', async () => {
    const [a, b] = await three()
    a.behave(503)
    const c = clock()
    const ejected = listenTo('x:client-pool:eject')
    const { dispatcher } = balanced({
      algorithm: 'failover',
      targets: [a.url, b.url],
      failover: false,
      outlierDetection: {
        consecutiveFailures: 1,
        baseEjectionTime: 1_000,
        maxEjectionTime: 1_500,
        maxEjectionPercent: 50,
      },
      now: c.now,
    })
    for (const ejection of [1_000, 1_500, 1_500]) {
      await get(dispatcher)
      c.advance(ejection) // back exactly when the ejection ends: no time in service to decay
    }
    expect(ejected.map((e) => (e as { ejectionTime: number }).ejectionTime)).toEqual([1_000, 1_500, 1_500])
  })

  it('ejects no more than maxEjectionPercent of the targets at once', async () => {
    const bs = [await backend('a'), await backend('b'), await backend('c'), await backend('d')]
    bs[0]!.behave(500)
    bs[1]!.behave(500)
    const { dispatcher, state } = balanced({
      targets: bs.map((b) => b.url),
      failover: false,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 25 },
    })
    for (let i = 0; i < 8; i++) await get(dispatcher)
    expect(state.stats().filter((s) => s.ejected).length).toBe(1)
  })

  it('ignores ejection below the panic threshold and spreads load over every target', async () => {
    const [a, b] = await three()
    a.behave(500)
    let bUp = true
    const panics = listenTo('x:client-pool:panic')
    const { dispatcher, state } = balanced({
      targets: [a.url, { url: b.url, available: () => bUp }],
      failover: false,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
      panicThreshold: 50,
    })
    await get(dispatcher) // a fails once: ejected
    expect(state.stats()[0]!.ejected).toBe(true)
    expect((await get(dispatcher)).body).toBe('b')
    expect(state.panicking).toBe(false) // 1 of 2 healthy: at the threshold, not below
    bUp = false // now none is healthy: ejection is ignored
    expect((await get(dispatcher)).status).toBe(500)
    expect(state.panicking).toBe(true)
    expect(panics).toEqual([{ panicking: true, healthy: 0, total: 2 }])
  })

  it('spreads load over ejected targets too below the panic threshold, instead of piling it on the few healthy ones', async () => {
    const bs = [await backend('a'), await backend('b'), await backend('c'), await backend('d')]
    const setup = (panicThreshold: number) => {
      bs[0]!.behave(500)
      bs[1]!.behave(500)
      const lb = balanced({
        targets: [bs[0]!.url, bs[1]!.url, { url: bs[2]!.url, available: () => false }, bs[3]!.url],
        failover: false,
        outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
        panicThreshold,
      })
      return lb
    }
    const calm = setup(0)
    for (let i = 0; i < 3; i++) await get(calm.dispatcher) // a and b fail once each: both ejected
    expect(calm.state.stats().map((t) => t.ejected)).toEqual([true, true, false, false])
    bs[0]!.behave('ok')
    bs[1]!.behave('ok')
    expect(
      new Set((await Promise.all([1, 2, 3, 4].map(() => get(calm.dispatcher)))).map((r) => r.body)),
    ).toEqual(new Set(['d']))

    const panicking = setup(50)
    for (let i = 0; i < 3; i++) await get(panicking.dispatcher)
    bs[0]!.behave('ok')
    bs[1]!.behave('ok')
    const spread = new Set<string>()
    for (let i = 0; i < 6; i++) spread.add((await get(panicking.dispatcher)).body)
    expect(spread).toEqual(new Set(['a', 'b', 'd'])) // 1 healthy of 4 is below 50 %
    expect(panicking.state.panicking).toBe(true)
  })

  it('still sends a request to an ejected target when no other target can take it', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const { dispatcher, state } = balanced({
      algorithm: 'failover',
      targets: [a.url, b.url],
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
      panicThreshold: 0,
    })
    expect((await get(dispatcher)).body).toBe('b') // a fails once: ejected
    expect(state.stats()[0]!.ejected).toBe(true)
    await b.kill()
    a.behave('ok')
    // b refuses; the only target left is the ejected a, which now answers.
    expect((await get(dispatcher)).body).toBe('a')
  })

  it('counts an I/O error and an outlier status alike, and a success resets the streak', async () => {
    const [a] = await three()
    const { dispatcher, state } = balanced({
      targets: [a.url],
      failover: false,
      outlierDetection: { consecutiveFailures: 3, maxEjectionPercent: 100 },
    })
    a.behave('reset')
    await get(dispatcher).catch(() => {})
    a.behave(502)
    await get(dispatcher)
    expect(state.stats()[0]!.consecutiveFailures).toBe(2)
    a.behave('ok')
    await get(dispatcher)
    expect(state.stats()[0]).toMatchObject({
      consecutiveFailures: 0,
      failures: 2,
      requests: 3,
      ejected: false,
    })
  })

  it('does not count the caller aborting a request against the target', async () => {
    const a = await backend('a')
    let arrived: () => void = () => {}
    const onA = new Promise<void>((r) => {
      arrived = r
    })
    a.behave(() => arrived())
    const { dispatcher, state } = balanced({ targets: [a.url], outlierDetection: { consecutiveFailures: 1 } })
    const ac = new AbortController()
    const pending = get(dispatcher, '/', { signal: ac.signal }).catch((e: unknown) => e)
    await onA
    ac.abort()
    await pending
    expect(state.stats()[0]).toMatchObject({ failures: 0, ejected: false, inflight: 0 })
  })
})
