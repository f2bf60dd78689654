// The proxy of the fault scenarios: a Listener in front of a LoadBalanceClient (round-robin,
// failover, one breaker per target, retries on 502/503/504) with a shared cache (memory, or
// Redis with REDIS_URL). Breaker transitions and cache-store errors are reported over IPC.
import { subscribe } from 'node:diagnostics_channel'
import { RedisStore } from '../../../packages/cache/src/redis.ts'
import { HttpResponse, isClientError, Listener, LoadBalanceClient } from '../../../packages/http/src/index.ts'

const { env } = process

const targets = (env.TARGETS ?? '').split(',')
const resetTime = Number(env.RESET_TIME ?? 2_000)
const store = env.REDIS_URL === undefined ? undefined : new RedisStore({ url: env.REDIS_URL })

const client = new LoadBalanceClient({
  targets,
  algorithm: 'round-robin',
  failover: true,
  // The breakers, not outlier ejection, take a failing target out here: the scenario watches them.
  outlierDetection: false,
  timeout: 5_000,
  // Each retry is a fresh pick of the balancer, which may land on the target that just
  // answered 503 again until its breaker opens: enough retries make that vanishingly rare.
  retryConfig: { count: 6, interval: 5, statusCodes: [502, 503, 504] },
  retryBudget: { ratio: 0.5, minPerSecond: 200, window: 10_000 },
  circuitBreaker: {
    rollingWindow: { timeWindow: 500, bucketSize: 50, requestVolumeThreshold: 5 },
    failureThreshold: 0.3,
    resetTime,
    statusCodes: [500, 502, 503, 504],
  },
  cache: store === undefined ? { isShared: true, capacity: 2_000 } : { isShared: true, store },
})

let accepted = 0
let answered = 0
const listener = new Listener({ port: 0, host: '127.0.0.1', keepAliveTimeout: 60_000 })
listener.attach({
  basePath: '/',
  resources: [
    {
      path: '/{...path}',
      handler: async (ctx) => {
        accepted++
        try {
          const res = await client.get(ctx.url, { signal: ctx.signal })
          const body = await res.text()
          if (env.SOAK_DEBUG && res.status >= 400) console.error(Date.now(), ctx.url, res.status, body)
          return new HttpResponse({
            status: res.status,
            headers: { 'content-type': res.headers['content-type'] ?? 'application/octet-stream' },
            body,
          })
        } catch (e) {
          if (env.SOAK_DEBUG) console.error(e)
          return new HttpResponse({
            status: isClientError(e, 'X_ERR_CLIENT_DEADLINE') ? 504 : 502,
            body: 'bad gateway',
          })
        } finally {
          answered++
        }
      },
    },
  ],
})

subscribe('x:circuit-breaker:state-change', (m) => {
  const e = m as { name?: string; from: string; to: string; reason: string }
  process.send!({ type: 'breaker', at: Date.now(), name: e.name, from: e.from, to: e.to, reason: e.reason })
})
let cacheErrors = 0
subscribe('x:cache:error', () => {
  cacheErrors++
})
let hits = 0
subscribe('x:cache:hit', () => {
  hits++
})

process.on('message', (m: { type: string; id?: number; timeout?: number }) => {
  if (m.type === 'rss') process.send!({ type: 'rss', id: m.id, rss: process.memoryUsage.rss() })
  if (m.type === 'stats') process.send!({ type: 'stats', id: m.id, accepted, answered, hits, cacheErrors })
  if (m.type === 'stop') {
    void listener.gracefulStop({ timeout: m.timeout ?? 10_000 }).then(async () => {
      process.send!({ type: 'stopped', accepted, answered })
      await client.close()
      await store?.close()
      process.disconnect()
    })
  }
})
await listener.start()
process.send!({ type: 'ready', port: listener.port })
