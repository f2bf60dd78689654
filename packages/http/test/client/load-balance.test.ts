import { fetch } from 'undici'
import { describe, expect, it } from 'vitest'
import {
  type BalancerTarget,
  Client,
  type ClientError,
  isClientError,
  LoadBalanceClient,
  type LoadBalanceClientOptions,
} from '../../src/index.js'
import { type Backend, backend, channelMessages, clock, loadBalanceClient, refusedUrl } from './helpers.ts'

async function three(): Promise<[Backend, Backend, Backend]> {
  return [await backend('a'), await backend('b'), await backend('c')]
}

async function bodies(c: Client, n: number, path = '/'): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(await (await c.get(path)).text())
  return out
}

describe('LoadBalanceClient', () => {
  it('is a Client: same request methods, responses and dispatcher', async () => {
    const [a] = await three()
    const lb = loadBalanceClient({ targets: [{ url: a.url }] })
    expect(lb).toBeInstanceOf(Client)
    const res = await lb.post('/echo', { x: 1 })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('a')
    expect(a.seen).toEqual(['POST /echo'])
  })

  it('sends requests round-robin, appending each path to its target URL (targets may share a host)', async () => {
    const [a, b] = await three()
    const lb = loadBalanceClient({
      targets: [{ url: `${a.url}/LBMock1` }, { url: `${a.url}/LBMock2` }, { url: b.url }],
    })
    expect(await bodies(lb, 6, '/hello?x=1')).toEqual(['a', 'a', 'b', 'a', 'a', 'b'])
    expect(a.seen.slice(0, 2)).toEqual(['GET /LBMock1/hello?x=1', 'GET /LBMock2/hello?x=1'])
    expect(b.seen[0]).toBe('GET /hello?x=1')
    expect(lb.targets).toEqual([`${a.url}/LBMock1`, `${a.url}/LBMock2`, b.url])
  })

  it.each([
    {
      name: 'a rule that prefers the first target',
      algorithm: { select: (t: readonly BalancerTarget[]) => t[0] },
    },
    { name: 'round-robin', algorithm: 'round-robin' as const },
  ])('sends a retry to a target the earlier attempts did not use ($name)', async ({ algorithm }) => {
    const [a, b] = await three()
    a.behave(503)
    // 503 is not a failover status here: the balancer hands it up and the retry layer retries.
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      algorithm,
      outlierDetection: false,
      retryConfig: { count: 1, interval: 0, statusCodes: [503] },
    })
    for (let i = 0; i < 4; i++) {
      const res = await lb.get('/x')
      expect(await res.text()).toBe('b')
      expect(res.status).toBe(200)
    }
    // Each request reached a at most once: no retry went back to it.
    expect(a.seen.length).toBeLessThanOrEqual(4)
    expect(b.seen.length).toBe(4)
  })

  it('retries on the same target when it is the only one', async () => {
    const [a] = await three()
    let n = 0
    a.behave((_req, res) => {
      n++
      res.writeHead(n === 1 ? 503 : 200).end(n === 1 ? 'busy' : 'a')
    })
    const lb = loadBalanceClient({
      targets: [a.url],
      retryConfig: { count: 1, interval: 0, statusCodes: [503] },
    })
    const res = await lb.get('/x')
    expect(await res.text()).toBe('a')
    expect(a.seen).toEqual(['GET /x', 'GET /x'])
  })

  it('reports the target that answered in res.url', async () => {
    const [a, b] = await three()
    const lb = loadBalanceClient({ targets: [a.url, `${b.url}/v2`] })
    const first = await lb.get('/x')
    const second = await lb.get('/x')
    await Promise.all([first.text(), second.text()])
    expect([first.url, second.url]).toEqual([`${a.url}/x`, `${b.url}/v2/x`])
  })

  it('never sends to a target busier than another with least-request', async () => {
    const [a, b, c] = await three()
    let release: () => void = () => {}
    let arrived: () => void = () => {}
    const atA = new Promise<void>((r) => {
      arrived = r
    })
    a.behave((_req, res) => {
      release = () => res.end('a')
      arrived()
    })
    const lb = loadBalanceClient({ algorithm: 'least-request', targets: [a.url, b.url, c.url] })
    // Until one request sits at a, the first may go anywhere: keep sending until it does.
    const held: Array<Promise<string>> = []
    while (a.seen.length === 0) {
      const p = lb.get('/').then((r) => r.text())
      held.push(p)
      await Promise.race([p, atA])
    }
    await atA
    // a has one request in flight, b and c none: two distinct samples never both pick a.
    const seenAtA = a.seen.length
    expect((await bodies(lb, 30)).every((x) => x === 'b' || x === 'c')).toBe(true)
    expect(a.seen.length).toBe(seenAtA)
    release()
    await Promise.all(held)
  })

  it('sends each retry through the balancer, so a retried attempt may go to another target', async () => {
    const [a, b] = await three()
    a.behave(503)
    const lb = loadBalanceClient({ targets: [a.url, b.url], retryConfig: { count: 1, interval: 0 } })
    const res = await lb.get('/')
    expect([res.status, await res.text()]).toEqual([200, 'b'])
    expect([a.seen.length, b.seen.length]).toEqual([1, 1])
  })

  it('lets a custom rule pick the target for each request', async () => {
    const [a, b] = await three()
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      algorithm: {
        select: (targets, req) => {
          const headers = req.headers as string[]
          const wantsB = headers.includes('x-shard') && headers[headers.indexOf('x-shard') + 1] === 'b'
          return wantsB ? targets.find((t) => t.url === b.url) : targets[0]
        },
      },
    })
    expect(await (await lb.get('/', { headers: { 'x-shard': 'b' } })).text()).toBe('b')
    expect(await (await lb.get('/')).text()).toBe('a')
  })

  it('moves a request on from a target that refuses connections, so no request fails', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const lb = loadBalanceClient({ targets: [dead, b.url] })
    expect(await bodies(lb, 6)).toEqual(['b', 'b', 'b', 'b', 'b', 'b'])
  })

  it('moves a request on from a target that closes the socket', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const lb = loadBalanceClient({ targets: [a.url, b.url] })
    expect(await bodies(lb, 2)).toEqual(['b', 'b'])
  })

  it('fails with X_ERR_CLIENT_ALL_TARGETS_FAILED carrying each target failure, classified, once all failed', async () => {
    const [a] = await three()
    a.behave('reset')
    const dead = await refusedUrl()
    const lb = loadBalanceClient({ targets: [a.url, dead] })
    const err = (await lb.get('/x').catch((e: unknown) => e)) as ClientError
    expect(isClientError(err, 'X_ERR_CLIENT_ALL_TARGETS_FAILED')).toBe(true)
    expect(err.failures?.map((f) => [f.target, f.error?.code])).toEqual([
      [a.url, 'X_ERR_CLIENT_CONNECTION_RESET'],
      [dead, 'X_ERR_CLIENT_CONNECT_FAILED'],
    ])
  })

  it('returns a target failure as it is with failover off', async () => {
    const b = await backend('b')
    const dead = await refusedUrl()
    const lb = loadBalanceClient({ targets: [dead, b.url], failover: false })
    expect(isClientError(await lb.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECT_FAILED')).toBe(
      true,
    )
    expect(await (await lb.get('/')).text()).toBe('b')
  })

  it('skips a target whose circuit is open rather than trying it, and probes it again after resetTime', async () => {
    const [a, b] = await three()
    a.behave(503)
    const c = clock()
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      outlierDetection: false,
      circuitBreaker: {
        rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 2 },
        failureThreshold: 0.5,
        resetTime: 5_000,
        now: c.now,
      },
    })
    // a answers 503 twice (returned as they are: 503 is not a failover status here): it opens.
    expect(
      (
        await Promise.all((await Promise.all([lb.get('/'), lb.get('/'), lb.get('/')])).map((r) => r.status))
      ).sort(),
    ).toEqual([200, 503, 503])
    expect(lb.targetStats().map((t) => t.circuit)).toEqual(['open', 'closed'])
    const before = a.seen.length
    expect(await bodies(lb, 4)).toEqual(['b', 'b', 'b', 'b'])
    expect(a.seen.length).toBe(before)

    a.behave('ok')
    c.advance(5_000) // half-open: the next pick of a is its probe
    expect(await bodies(lb, 4)).toEqual(['a', 'b', 'a', 'b'])
    expect(lb.targetBreaker(a.url)?.state).toBe('closed')
  })

  it('fails at once with X_ERR_CLIENT_NO_TARGET when every circuit is open, and does not retry', async () => {
    const [a, b] = await three()
    const retries = channelMessages('x:http:client:retry')
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      circuitBreaker: {},
      retryConfig: { count: 3, interval: 0 },
    })
    lb.targetBreaker(a.url)!.forceOpen()
    lb.targetBreaker(b.url)!.forceOpen()
    expect(isClientError(await lb.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_NO_TARGET')).toBe(true)
    expect([...a.seen, ...b.seen]).toEqual([])
    expect(retries).toEqual([])
  })

  it("gives a target's own circuitBreaker settings precedence, and none with false", async () => {
    const [a, b, c] = await three()
    const lb = loadBalanceClient({
      targets: [
        { url: a.url, circuitBreaker: { resetTime: 1_234 } },
        { url: b.url, circuitBreaker: false },
        c.url,
      ],
      circuitBreaker: { resetTime: 9_999 },
    })
    expect(lb.targetBreaker(b.url)).toBeUndefined()
    lb.targetBreaker(a.url)!.forceOpen()
    lb.targetBreaker(a.url)!.forceClose()
    expect(lb.targetStats().map((t) => t.circuit)).toEqual(['closed', undefined, 'closed'])
    expect(lb.circuitBreaker).toBeUndefined()
  })

  it('ejects a target that keeps failing and reports it in targetStats()', async () => {
    const [a, b] = await three()
    a.behave('reset')
    const ejections = channelMessages('x:client-pool:eject')
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 50 },
    })
    expect(await bodies(lb, 6)).toEqual(['b', 'b', 'b', 'b', 'b', 'b'])
    expect(a.seen.length).toBe(2)
    expect(lb.targetStats()[0]).toMatchObject({ url: a.url, ejected: true, failures: 2 })
    expect(ejections).toEqual([{ target: a.url, consecutiveFailures: 2, ejections: 1, ejectionTime: 30_000 }])
  })

  it('balances fetch() through client.dispatcher: the URL names the path, the balancer the target', async () => {
    const [a, b] = await three()
    const lb = loadBalanceClient({ targets: [a.url, `${b.url}/v2`] })
    const first = await fetch('http://any-service.invalid/items', { dispatcher: lb.dispatcher })
    const second = await fetch(`${a.url}/items`, { dispatcher: lb.dispatcher })
    expect([await first.text(), await second.text()]).toEqual(['a', 'b'])
    expect(b.seen).toEqual(['GET /v2/items'])
  })

  it('follows a redirect to the URL the answering target names, resolved against that target', async () => {
    const [a, b] = await three()
    b.behave((req, res) => {
      if (req.url === '/v2/old') res.writeHead(302, { location: 'new' }).end()
      else res.end(`b ${req.url}`)
    })
    const lb = loadBalanceClient({
      algorithm: { select: (targets) => targets.find((t) => t.url.endsWith('/v2')) },
      targets: [a.url, `${b.url}/v2`],
      followRedirects: { enabled: true },
    })
    const res = await lb.get('/old')
    expect(await res.text()).toBe('b /v2/new')
    expect(res.url).toBe(`${b.url}/v2/new`)
    expect(a.seen).toEqual([])
  })

  it('draws retries and failovers from one budget, so retrying cannot multiply an outage', async () => {
    const [a, b] = await three()
    a.behave(503)
    b.behave(503)
    const exhausted = channelMessages('x:http:client:retry-budget-exhausted')
    const lb = loadBalanceClient({
      targets: [a.url, b.url],
      outlierDetection: false,
      retryConfig: { count: 5, interval: 0 },
      retryBudget: { ratio: 0, minPerSecond: 0.3, window: 10_000 }, // three retries per window
    })
    expect((await lb.get('/')).status).toBe(503)
    expect(a.seen.length + b.seen.length).toBe(4) // the request and the three retries allowed
    expect(exhausted).toHaveLength(1)
  })

  it.each([
    { name: 'no options', options: undefined, option: 'options' },
    { name: 'no targets', options: { targets: [] }, option: 'targets' },
    { name: 'a target that is not a URL', options: { targets: ['nope'] }, option: 'targets[0].url' },
    { name: 'a target with a query', options: { targets: ['http://h/?a'] }, option: 'targets[0].url' },
    {
      name: 'an unknown target option',
      options: { targets: [{ url: 'http://h', weight: 1 }] },
      option: 'targets[0].weight',
    },
    {
      name: 'a bad target breaker option',
      options: { targets: [{ url: 'http://h', circuitBreaker: { failureThreshold: 2 } }] },
      option: 'targets[0].circuitBreaker.failureThreshold',
    },
    {
      name: 'an unknown algorithm',
      options: { targets: ['http://h'], algorithm: 'random' },
      option: 'algorithm',
    },
    {
      name: "FailoverClient's algorithm",
      options: { targets: ['http://h'], algorithm: 'failover' },
      option: 'algorithm',
    },
    {
      name: 'a non-boolean failover',
      options: { targets: ['http://h'], failover: 'yes' },
      option: 'failover',
    },
    {
      name: "FailoverClient's failoverCodes",
      options: { targets: ['http://h'], failoverCodes: [503] },
      option: 'failoverCodes',
    },
    {
      name: 'failover methods as a string',
      options: { targets: ['http://h'], failoverMethods: 'POST' },
      option: 'failoverMethods',
    },
    {
      name: 'a bad failover method',
      options: { targets: ['http://h'], failoverMethods: ['P OST'] },
      option: 'failoverMethods',
    },
    {
      name: 'a panic threshold above 100',
      options: { targets: ['http://h'], panicThreshold: 101 },
      option: 'panicThreshold',
    },
    {
      name: 'a bad outlier option',
      options: { targets: ['http://h'], outlierDetection: { consecutiveFailures: 0 } },
      option: 'outlierDetection.consecutiveFailures',
    },
    { name: 'a bad shared option', options: { targets: ['http://h'], timeout: -1 }, option: 'timeout' },
    {
      name: 'a named breaker',
      options: { targets: ['http://h'], circuitBreaker: { name: 'x' } },
      option: 'circuitBreaker.name',
    },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION naming it', ({ options, option }) => {
    let caught: unknown
    try {
      new LoadBalanceClient(options as unknown as LoadBalanceClientOptions)
    } catch (e) {
      caught = e
    }
    expect(isClientError(caught, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((caught as ClientError).option).toBe(option)
  })
})
