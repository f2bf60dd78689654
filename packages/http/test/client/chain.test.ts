import { ClientPool } from '@x/client-pool'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { clientChain, composeOrder } from '../../src/client/chain.js'
import { resolveClientOptions } from '../../src/client/options.js'
import { createResilience } from '../../src/client/resilience.js'
import { splitTargetOptions } from '../../src/client/targets.js'
import { isClientError } from '../../src/index.js'
import { client, onCleanup, server } from './helpers.ts'

const full = resolveClientOptions({
  timeout: 5_000,
  followRedirects: { enabled: true },
  retryConfig: { count: 2, interval: 1 },
  cache: {},
})

describe('the client chain', () => {
  it('is deadline → decompress → cache → redirect → retry, outermost first', () => {
    expect(clientChain(full).map((s) => s.name)).toEqual([
      'deadline',
      'decompress',
      'cache',
      'redirect',
      'retry',
    ])
  })

  it('leaves out what the configuration turns off, keeping the deadline for per-request timeouts', () => {
    const bare = resolveClientOptions({ timeout: 0, compression: 'NEVER' })
    expect(clientChain(bare).map((s) => s.name)).toEqual(['deadline'])
  })

  it('puts the client-wide circuit breaker inside retry', () => {
    const config = resolveClientOptions({ retryConfig: { count: 1 }, circuitBreaker: {} })
    expect(clientChain(config).map((s) => s.name)).toEqual([
      'deadline',
      'decompress',
      'retry',
      'circuit-breaker',
    ])
  })

  it('puts the balancer (with its per-target breakers) inside retry for several targets', () => {
    const [targets, rest] = splitTargetOptions('load-balance', {
      targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
      retryConfig: { count: 1 },
      circuitBreaker: {},
      followRedirects: { enabled: true },
    })
    const config = resolveClientOptions(rest)
    expect(clientChain(config, createResilience(config, targets.resolved)).map((s) => s.name)).toEqual([
      'deadline',
      'decompress',
      'redirect',
      'retry',
      'balancer',
    ])
  })

  it('runs the steps outermost first once composed, since compose() applies the last one first', async () => {
    const s = await server((_req, res) => res.end('ok'))
    const seen: string[] = []
    const traced = clientChain(full).map((step) => ({
      ...step,
      interceptor: ((dispatch) => {
        const next = step.interceptor(dispatch)
        return (opts, handler) => {
          seen.push(step.name)
          return next(opts, handler)
        }
      }) as typeof step.interceptor,
    }))
    const pool = new ClientPool()
    onCleanup(() => pool.close())
    const d = pool.compose(composeOrder(traced))
    expect(await (await request(s.url, { dispatcher: d })).body.text()).toBe('ok')
    expect(seen).toEqual(['deadline', 'decompress', 'cache', 'redirect', 'retry'])
  })

  it('decodes the final response of a redirect (decompress is outside redirect)', async () => {
    const { gzipSync } = await import('node:zlib')
    const s = await server((req, res) => {
      if (req.url === '/a')
        res.writeHead(302, { location: '/b', 'content-encoding': 'gzip' }).end(gzipSync('hop'))
      else res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('final'))
    })
    const c = client(s.url, { followRedirects: { enabled: true } })
    expect(await (await c.get('/a')).text()).toBe('final')
  })

  it('bounds redirects and retries together by one deadline (deadline is outermost)', async () => {
    const s = await server((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end()
      else res.writeHead(503).end()
    })
    const c = client(s.url, {
      timeout: 200,
      followRedirects: { enabled: true },
      retryConfig: { count: 100, interval: 20, backOffFactor: 1, jitter: 'none' },
    })
    expect(isClientError(await c.get('/a').catch((e: unknown) => e), 'X_ERR_CLIENT_DEADLINE')).toBe(true)
  })
})
