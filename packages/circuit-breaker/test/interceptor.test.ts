import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { Agent, request, fetch as undiciFetch } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { type CircuitBreakerInterceptorOptions, circuitBreaker, isCircuitOpenError } from '../src/index.ts'
import { deferred, type FakeClock, fakeClock } from './helpers/clock.ts'

type Route = (req: IncomingMessage, res: ServerResponse) => void

/** A backend on 127.0.0.1 with a route per path, counting the requests that reach it. */
async function backend(routes: Record<string, Route>) {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    const route = routes[(req.url ?? '/').split('?')[0]!]
    if (route === undefined) {
      res.writeHead(404).end()
      return
    }
    route(req, res)
  })
  const listening = await listen(server)
  return { ...listening, hits, server }
}

const routes: Record<string, Route> = {
  '/ok': (_req, res) => res.end('ok'),
  '/fail': (_req, res) => res.writeHead(503).end('busy'),
  '/missing': (_req, res) => res.writeHead(404).end('nope'),
  // Promises 100 bytes, sends 10, then drops the connection.
  '/cut': (_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('0123456789', () => res.socket?.destroy())
  },
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

function setup(clock: FakeClock, options: CircuitBreakerInterceptorOptions = {}) {
  const interceptor = circuitBreaker({
    rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 2 },
    failureThreshold: 0.5,
    resetTime: 5_000,
    halfOpenTimeout: 60_000,
    now: clock.now,
    ...options,
  })
  const agent = new Agent({ keepAliveTimeout: 10_000 })
  const dispatcher = agent.compose(interceptor)
  return { interceptor, agent, dispatcher, breakers: interceptor.breakers }
}

/** Closes the agent, then the servers, failing when a socket stayed open. */
function cleanup(agent: Agent, ...servers: Listening[]) {
  cleanups.push(async () => {
    await agent.close()
    for (const s of servers) await s.drained()
    for (const s of servers) await s.close()
  })
}

async function get(dispatcher: Agent['compose'] extends (...a: never[]) => infer D ? D : never, url: string) {
  const res = await request(url, { dispatcher })
  const body = await res.body.text()
  return { status: res.statusCode, body }
}

async function freePort(): Promise<number> {
  const probe = createNetServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

describe('circuitBreaker() interceptor', () => {
  it('opens on the configured error statuses and then fails requests without sending them', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    expect(await get(dispatcher, `${srv.url}/ok`)).toEqual({ status: 200, body: 'ok' })
    // One success and one failure: 50 % of 2 calls, at the threshold.
    expect(await get(dispatcher, `${srv.url}/fail`)).toEqual({ status: 503, body: 'busy' })
    expect(breakers.state(srv.url)).toBe('open')
    expect(breakers.isAvailable(srv.url)).toBe(false)
    const before = srv.hits.length
    const error = await get(dispatcher, `${srv.url}/ok`).catch((e: unknown) => e)
    expect(isCircuitOpenError(error)).toBe(true)
    expect(error).toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN', breaker: srv.url, retryAfterMs: 5_000 })
    expect(srv.hits.length).toBe(before)
  })

  it('does not count statuses outside statusCodes (404 by default)', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    for (let i = 0; i < 5; i++) expect((await get(dispatcher, `${srv.url}/missing`)).status).toBe(404)
    expect(breakers.get(srv.url).stats()).toMatchObject({ state: 'closed', calls: 5, failures: 0 })
  })

  it('counts a response whose connection is cut mid-body as a failure', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    for (let i = 0; i < 2; i++) {
      const error = await get(dispatcher, `${srv.url}/cut`).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'UND_ERR_SOCKET' })
    }
    expect(breakers.state(srv.url)).toBe('open')
  })

  it('opens on refused connections, then closes when the target comes back after resetTime', async () => {
    const clock = fakeClock()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const { agent, dispatcher, breakers } = setup(clock)
    for (let i = 0; i < 2; i++) {
      await expect(get(dispatcher, `${url}/ok`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    }
    expect(breakers.state(url)).toBe('open')
    await expect(get(dispatcher, `${url}/ok`)).rejects.toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN' })

    // The target comes back on the same port.
    const server: Server = createServer((_req, res) => res.end('back'))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    cleanup(agent)
    // Still open until resetTime has passed, however healthy the target is.
    await expect(get(dispatcher, `${url}/ok`)).rejects.toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN' })
    clock.advance(5_000)
    expect(breakers.state(url)).toBe('half-open')
    expect(await get(dispatcher, `${url}/ok`)).toEqual({ status: 200, body: 'back' })
    expect(breakers.state(url)).toBe('closed')
  })

  it('keeps one breaker per origin, so a failing origin leaves the others working', async () => {
    const clock = fakeClock()
    const bad = await backend(routes)
    const good = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, bad, good)
    await get(dispatcher, `${bad.url}/fail`)
    await get(dispatcher, `${bad.url}/fail`)
    expect(breakers.state(bad.url)).toBe('open')
    expect(await get(dispatcher, `${good.url}/ok`)).toEqual({ status: 200, body: 'ok' })
    expect(breakers.isAvailable(good.url)).toBe(true)
  })

  it('keys breakers by route with a key function, so one failing route leaves the next one working', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock, {
      key: (opts) => `${String(opts.origin)} ${opts.path.split('?')[0]}`,
    })
    cleanup(agent, srv)
    await get(dispatcher, `${srv.url}/fail?a=1`)
    await get(dispatcher, `${srv.url}/fail?a=2`)
    expect(breakers.state(`${srv.url} /fail`)).toBe('open')
    expect(await get(dispatcher, `${srv.url}/ok`)).toEqual({ status: 200, body: 'ok' })
  })

  it('sends requests past every breaker when the key function returns undefined', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock, { key: () => undefined })
    cleanup(agent, srv)
    for (let i = 0; i < 4; i++) await get(dispatcher, `${srv.url}/fail`)
    expect(breakers.size).toBe(0)
    expect(srv.hits.length).toBe(4)
  })

  it('fails the request, not the process, when the key function throws', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher } = setup(clock, {
      key: () => {
        throw Object.assign(new Error('bad key'), { code: 'EKEY' })
      },
    })
    cleanup(agent, srv)
    await expect(get(dispatcher, `${srv.url}/ok`)).rejects.toMatchObject({ code: 'EKEY' })
    expect(srv.hits.length).toBe(0)
  })

  it('lets one probe through while half-open and fails a concurrent request fast', async () => {
    const clock = fakeClock()
    const release = deferred()
    const srv = await backend({
      ...routes,
      '/hold': (_req, res) => {
        void release.promise.then(() => res.end('held'))
      },
    })
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    await get(dispatcher, `${srv.url}/fail`)
    await get(dispatcher, `${srv.url}/fail`)
    clock.advance(5_000)
    const probe = get(dispatcher, `${srv.url}/hold`)
    await expect(get(dispatcher, `${srv.url}/ok`)).rejects.toMatchObject({
      code: 'X_ERR_CIRCUIT_OPEN',
      state: 'half-open',
    })
    expect(breakers.isAvailable(srv.url)).toBe(false)
    release.resolve()
    expect(await probe).toEqual({ status: 200, body: 'held' })
    expect(breakers.state(srv.url)).toBe('closed')
  })

  it('counts neither way a request its caller aborts, and frees the probe slot', async () => {
    const clock = fakeClock()
    const srv = await backend({
      ...routes,
      '/stream': (_req, res) => {
        res.writeHead(200)
        res.write('first chunk')
      },
    })
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    const abortMidBody = async () => {
      const controller = new AbortController()
      const res = await request(`${srv.url}/stream`, { dispatcher, signal: controller.signal })
      controller.abort()
      await expect(res.body.text()).rejects.toBeDefined()
    }
    await abortMidBody()
    expect(breakers.get(srv.url).stats()).toMatchObject({ calls: 0, failures: 0 })
    // In half-open, an aborted probe frees its slot for the next caller.
    await get(dispatcher, `${srv.url}/fail`)
    await get(dispatcher, `${srv.url}/fail`)
    clock.advance(5_000)
    await abortMidBody()
    expect(breakers.state(srv.url)).toBe('half-open')
    expect(breakers.isAvailable(srv.url)).toBe(true)
    await get(dispatcher, `${srv.url}/ok`)
    expect(breakers.state(srv.url)).toBe('closed')
  })

  it('counts a response head slower than slowCallThreshold as a failure', async () => {
    const clock = fakeClock()
    const srv = await backend({
      ...routes,
      '/slow': (_req, res) => {
        clock.advance(250)
        res.end('late')
      },
    })
    const { agent, dispatcher, breakers } = setup(clock, { slowCallThreshold: 200 })
    cleanup(agent, srv)
    expect(await get(dispatcher, `${srv.url}/slow`)).toEqual({ status: 200, body: 'late' })
    expect(await get(dispatcher, `${srv.url}/ok`)).toEqual({ status: 200, body: 'ok' })
    expect(breakers.get(srv.url).stats()).toMatchObject({ calls: 2, failures: 1 })
  })

  it('works under undici fetch with agent.compose()', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    for (let i = 0; i < 2; i++) {
      const res = await undiciFetch(`${srv.url}/fail`, { dispatcher })
      expect(res.status).toBe(503)
      await res.arrayBuffer()
    }
    expect(breakers.state(srv.url)).toBe('open')
    const error = await undiciFetch(`${srv.url}/ok`, { dispatcher }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(isCircuitOpenError((error as TypeError).cause)).toBe(true)
  })

  it("works under Node's global fetch with a composed undici 7 agent", async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher, breakers } = setup(clock)
    cleanup(agent, srv)
    // Node's fetch types its dispatcher with its own bundled undici; the runtime contract is the same.
    const init = { dispatcher } as unknown as RequestInit
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${srv.url}/fail`, init)
      expect(res.status).toBe(503)
      await res.arrayBuffer()
    }
    expect(breakers.state(srv.url)).toBe('open')
    const error = await fetch(`${srv.url}/ok`, init).catch((e: unknown) => e)
    expect(isCircuitOpenError((error as TypeError).cause)).toBe(true)
  })

  it('fails a raw dispatch through the handler without throwing out of dispatch', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const { agent, dispatcher } = setup(clock)
    cleanup(agent, srv)
    await get(dispatcher, `${srv.url}/fail`)
    await get(dispatcher, `${srv.url}/fail`)
    const seen: unknown[] = []
    let returned: unknown
    expect(() => {
      returned = dispatcher.dispatch(
        { origin: srv.url, path: '/ok', method: 'GET' },
        {
          onRequestStart: () => seen.push('start'),
          onResponseError: (_controller, error) => seen.push(error),
        },
      )
    }).not.toThrow()
    expect(returned).toBe(true)
    expect(seen).toHaveLength(1)
    expect(isCircuitOpenError(seen[0])).toBe(true)
  })

  it('shares a group given as `breakers`, so a balancer can read the same breakers', async () => {
    const clock = fakeClock()
    const srv = await backend(routes)
    const first = setup(clock)
    const { breakers } = first
    const second = circuitBreaker({ breakers })
    expect(second.breakers).toBe(breakers)
    const agent = new Agent()
    cleanup(first.agent)
    cleanup(agent, srv)
    const dispatcher = agent.compose(second)
    await get(dispatcher, `${srv.url}/fail`)
    await get(dispatcher, `${srv.url}/fail`)
    expect(breakers.isAvailable(srv.url)).toBe(false)
    await expect(get(first.dispatcher, `${srv.url}/ok`)).rejects.toMatchObject({ code: 'X_ERR_CIRCUIT_OPEN' })
  })
})
