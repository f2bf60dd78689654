// The soak's scenarios. Each starts its own programs on loopback, drives a bounded load with
// scripted faults, checks what must hold, and stops everything it started. Times and rates
// come from a profile, so the short soak in the test suite runs the same code in seconds.
import { setTimeout as sleep } from 'node:timers/promises'
import { type RedisServer, startRedis } from '../../test-support/redis.ts'
import { type Program, type ProgramMessage, startProgram } from './child.ts'
import { failures, type LoadResult, runLoad } from './load.ts'

/** Durations (ms) and rates (req/s) of one soak run. */
export interface Profile {
  name: 'full' | 'short'
  /** Rate search: first rate, highest rate tried, probe length, bisection steps. */
  searchStart: number
  searchMax: number
  probeMs: number
  bisections: number
  /** Share of the highest passing rate the sustained run uses. */
  sustainShare: number
  sustainMs: number
  /** Sustained runs tried, each at 80% of the rate before, until one holds. */
  sustainAttempts: number
  warmupMs: number
  /** The proxy scenarios' rate and the breakers' resetTime. */
  proxyRate: number
  resetTime: number
  /** Fault timeline of the proxy scenario: kill, restart, 503s start, 503s end, end. */
  killAt: number
  restartAt: number
  badFrom: number
  badUntil: number
  proxyEnd: number
  /** Graceful stop: when the stop is sent, and how long the load would go on. */
  stopAt: number
  gracefulEnd: number
  /** Redis restart: warm phase, outage, settling after the restart, end. */
  redisRate: number
  redisWarm: number
  redisDown: number
  redisSettle: number
  redisEnd: number
}

export const FULL: Profile = {
  name: 'full',
  searchStart: 1_000,
  searchMax: 64_000,
  probeMs: 5_000,
  bisections: 3,
  sustainShare: 0.9,
  sustainMs: 60_000,
  sustainAttempts: 4,
  warmupMs: 10_000,
  proxyRate: 500,
  resetTime: 3_000,
  killAt: 3_000,
  restartAt: 8_000,
  badFrom: 15_000,
  badUntil: 20_000,
  proxyEnd: 28_000,
  stopAt: 4_000,
  gracefulEnd: 8_000,
  redisRate: 400,
  redisWarm: 4_000,
  redisDown: 5_000,
  redisSettle: 3_000,
  redisEnd: 6_000,
}

export const SHORT: Profile = {
  name: 'short',
  searchStart: 200,
  searchMax: 1_600,
  probeMs: 600,
  bisections: 0,
  sustainShare: 0.5,
  sustainMs: 3_000,
  sustainAttempts: 2,
  warmupMs: 1_000,
  proxyRate: 200,
  resetTime: 1_000,
  killAt: 1_000,
  restartAt: 2_500,
  badFrom: 5_000,
  badUntil: 6_500,
  proxyEnd: 9_500,
  stopAt: 1_500,
  gracefulEnd: 3_000,
  redisRate: 200,
  redisWarm: 1_500,
  redisDown: 1_500,
  redisSettle: 2_500,
  redisEnd: 1_500,
}

/** One thing a scenario checks. */
export interface Check {
  name: string
  ok: boolean
  detail: string
}

/** What one scenario reports. */
export interface ScenarioResult {
  scenario: string
  ok: boolean
  requests: number
  failed: number
  rate: number
  p99: number
  notes: string
  checks: Check[]
  /** Breaker transitions and other events, in order. */
  log: string[]
}

function result(
  scenario: string,
  load: LoadResult,
  checks: Check[],
  notes: string,
  log: string[] = [],
): ScenarioResult {
  return {
    scenario,
    ok: checks.every((c) => c.ok),
    requests: load.sent,
    failed: failures(load),
    rate: load.achievedRate,
    p99: Math.round(load.p99 * 10) / 10,
    notes,
    checks,
    log,
  }
}

function describeFailures(r: LoadResult): string {
  const parts = Object.entries(r.errors).map(([k, v]) => `${k}×${v}`)
  for (const [status, n] of Object.entries(r.statuses))
    if (Number(status) >= 400) parts.push(`${status}×${n}`)
  return parts.length === 0 ? 'none' : parts.join(', ')
}

const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`

/** Sustained load on a Listener: search the highest rate with p99 under 100 ms, hold it, watch RSS. */
export async function sustained(p: Profile): Promise<ScenarioResult> {
  const server = await startProgram('listener')
  const origin = `http://127.0.0.1:${server.port}`
  const path = (i: number) => `/hello/${i & 1023}`
  const log: string[] = []
  try {
    const passes = (r: LoadResult, rate: number) =>
      !r.aborted && failures(r) === 0 && r.p99 < 100 && r.achievedRate >= rate * 0.95
    const load = (rate: number, durationMs: number) =>
      runLoad({ origin, rate, durationMs, path, maxBacklogMs: 1_000 })
    const line = (what: string, rate: number, r: LoadResult) =>
      `${what} ${rate}/s: p99 ${r.p99.toFixed(1)} ms, ${r.achievedRate}/s, failed ${failures(r)}${r.aborted ? ', fell behind' : ''}`
    // Warm the server up (JIT, connections) before anything is measured.
    log.push(line('warm-up', p.searchStart, await load(p.searchStart, p.probeMs)))
    let best = 0
    let failedAt = 0
    for (let rate = p.searchStart; rate <= p.searchMax; rate *= 2) {
      const r = await load(rate, p.probeMs)
      log.push(line('probe', rate, r))
      if (!passes(r, rate)) {
        failedAt = rate
        break
      }
      best = rate
    }
    for (let i = 0; i < p.bisections && failedAt > 0 && best > 0; i++) {
      const rate = Math.round((best + failedAt) / 2)
      const r = await load(rate, p.probeMs)
      log.push(line('probe', rate, r))
      if (passes(r, rate)) best = rate
      else failedAt = rate
    }
    // A short probe can pass a rate the server cannot hold for a minute: step down until one holds.
    let rate = Math.max(1, Math.round((best === 0 ? p.searchStart / 2 : best) * p.sustainShare))
    let samples: Array<{ at: number; rss: number }> = []
    let r: LoadResult
    for (let attempt = 1; ; attempt++) {
      const taken: Array<{ at: number; rss: number }> = []
      samples = taken
      const started = performance.now()
      const sampler = setInterval(() => {
        void server
          .ask('rss')
          .then((m) => taken.push({ at: performance.now() - started, rss: m.rss as number }))
      }, 500)
      r = await load(rate, p.sustainMs)
      clearInterval(sampler)
      log.push(line('sustain', rate, r))
      if (passes(r, rate) || attempt === p.sustainAttempts) break
      rate = Math.round(rate * 0.8)
    }
    const after = samples.filter((s) => s.at >= p.warmupMs)
    const start = after[0]?.rss ?? 0
    const end = after[after.length - 1]?.rss ?? 0
    const peak = Math.max(0, ...after.map((s) => s.rss))
    const growth = start === 0 ? 0 : end / start - 1
    return result(
      'sustained load',
      r,
      [
        { name: 'no failed request', ok: failures(r) === 0, detail: describeFailures(r) },
        {
          name: 'p99 under 100 ms',
          ok: r.p99 < 100 && !r.aborted,
          detail: `${r.p99.toFixed(1)} ms at ${rate}/s`,
        },
        {
          name: 'RSS flat within 10% after warm-up',
          ok: after.length >= 2 && Math.abs(growth) <= 0.1,
          detail: `${mib(start)} → ${mib(end)} (${(growth * 100).toFixed(1)}%, peak ${mib(peak)})`,
        },
      ],
      `highest passing ${p.probeMs / 1000} s probe ${best}/s; held ${rate}/s for ${p.sustainMs / 1000} s; RSS ${mib(start)} → ${mib(end)} after ${p.warmupMs / 1000} s warm-up`,
      log,
    )
  } finally {
    await server.kill()
  }
}

async function startBackends(n: number): Promise<Program[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => startProgram('backend', { BACKEND_NAME: `b${i + 1}` })),
  )
}

function breakerLog(proxy: Program, t0: number): string[] {
  return proxy.messages
    .filter((m) => m.type === 'breaker')
    .map(
      (m) => `${(((m.at as number) - t0) / 1000).toFixed(2)} s ${m.name}: ${m.from} → ${m.to} (${m.reason})`,
    )
}

function transitions(proxy: Program, url: string): ProgramMessage[] {
  return proxy.messages.filter((m) => m.type === 'breaker' && m.name === url)
}

/** Proxy in front of three backends: one killed and restarted, another answering 503s for a while. */
export async function proxyFaults(p: Profile): Promise<ScenarioResult> {
  const backends = await startBackends(3)
  const urls = backends.map((b) => `http://127.0.0.1:${b.port}`)
  const proxy = await startProgram('proxy', { TARGETS: urls.join(','), RESET_TIME: String(p.resetTime) })
  let restarted: Program | undefined
  try {
    const t0 = Date.now()
    const events: string[] = []
    const mark = (what: string) => events.push(`${((Date.now() - t0) / 1000).toFixed(2)} s ${what}`)
    const script = (async () => {
      await sleep(p.killAt)
      await backends[0]!.kill()
      mark(`killed b1 (${urls[0]})`)
      await sleep(p.restartAt - p.killAt)
      restarted = await startProgram('backend', { BACKEND_NAME: 'b1', PORT: String(backends[0]!.port) })
      mark('restarted b1 on the same port')
      await sleep(p.badFrom - (Date.now() - t0))
      backends[1]!.send({ type: 'behave', status: 503 })
      mark('b2 answers 503')
      await sleep(p.badUntil - (Date.now() - t0))
      backends[1]!.send({ type: 'behave', status: 200 })
      mark('b2 answers 200 again')
    })()
    const r = await runLoad({
      origin: `http://127.0.0.1:${proxy.port}`,
      rate: p.proxyRate,
      durationMs: p.proxyEnd,
      path: (i) => (i % 5 === 0 ? `/item/${i % 50}` : `/live/${i}`),
    })
    await script
    const servedByRestarted = restarted === undefined ? 0 : ((await restarted.ask('served')).served as number)
    const b1 = transitions(proxy, urls[0]!)
    const b2 = transitions(proxy, urls[1]!)
    const closedAgain = (list: ProgramMessage[]) =>
      list.some((m) => m.from === 'half-open' && m.to === 'closed')
    const lastState = (list: ProgramMessage[]) =>
      list.length === 0 ? 'closed' : (list[list.length - 1]!.to as string)
    const log = [...events, ...breakerLog(proxy, t0)].sort(
      (a, b) => Number.parseFloat(a) - Number.parseFloat(b),
    )
    return result(
      'proxy under faults',
      r,
      [
        { name: 'no failed client request', ok: failures(r) === 0, detail: describeFailures(r) },
        {
          name: 'b1 breaker opened, then closed after the restart',
          ok: b1.some((m) => m.to === 'open') && closedAgain(b1),
          detail: b1.map((m) => `${m.from}→${m.to}`).join(', ') || 'no transition',
        },
        {
          name: 'b2 breaker opened on 503s, then closed',
          ok: b2.some((m) => m.to === 'open') && closedAgain(b2),
          detail: b2.map((m) => `${m.from}→${m.to}`).join(', ') || 'no transition',
        },
        {
          name: 'traffic back on the restarted backend',
          ok: servedByRestarted > 0,
          detail: `${servedByRestarted} requests served after the restart`,
        },
        {
          name: 'every breaker closed at the end',
          ok:
            lastState(b1) === 'closed' &&
            lastState(b2) === 'closed' &&
            lastState(transitions(proxy, urls[2]!)) === 'closed',
          detail: `b1 ${lastState(b1)}, b2 ${lastState(b2)}, b3 ${lastState(transitions(proxy, urls[2]!))}`,
        },
      ],
      `${b1.length + b2.length} breaker transitions; restarted b1 served ${servedByRestarted}`,
      log,
    )
  } finally {
    await proxy.kill()
    await restarted?.kill()
    await Promise.all(backends.map((b) => b.kill()))
  }
}

/** Graceful stop of the proxy under load: every request it accepted is answered. */
export async function gracefulStop(p: Profile): Promise<ScenarioResult> {
  const backends = await startBackends(3)
  const urls = backends.map((b) => `http://127.0.0.1:${b.port}`)
  const proxy = await startProgram('proxy', { TARGETS: urls.join(','), RESET_TIME: String(p.resetTime) })
  try {
    const stopped = proxy.next('stopped', () => true, p.gracefulEnd + 30_000)
    const script = (async () => {
      await sleep(p.stopAt)
      proxy.send({ type: 'stop', timeout: 10_000 })
    })()
    const r = await runLoad({
      origin: `http://127.0.0.1:${proxy.port}`,
      rate: p.proxyRate,
      durationMs: p.gracefulEnd,
      path: (i) => `/live/${i}`,
    })
    await script
    const s = await stopped
    const accepted = s.accepted as number
    const answered = s.answered as number
    const refused = r.sent - r.ok - r.badStatus
    return result(
      'graceful stop',
      { ...r, errors: {} },
      [
        {
          name: 'every accepted request answered by the proxy',
          ok: answered === accepted,
          detail: `${answered}/${accepted}`,
        },
        {
          name: 'every accepted request reached the client with 2xx',
          ok: r.ok === accepted && r.badStatus === 0,
          detail: `${r.ok} ok of ${accepted} accepted`,
        },
        {
          name: 'requests after the stop were refused, not half-answered',
          ok: r.ok + r.badStatus + refused === r.sent,
          detail: `${refused} not accepted (${describeFailures(r)})`,
        },
      ],
      `stop at ${p.stopAt / 1000} s; ${accepted} accepted and answered, ${refused} refused after the port closed`,
    )
  } finally {
    await proxy.kill()
    await Promise.all(backends.map((b) => b.kill()))
  }
}

/** Redis restarted under a cached workload: requests keep succeeding as misses, then the cache refills. */
export async function redisRestart(p: Profile): Promise<ScenarioResult> {
  const redis: RedisServer = await startRedis()
  const [backend] = await startBackends(1)
  const proxy = await startProgram('proxy', {
    TARGETS: `http://127.0.0.1:${backend!.port}`,
    REDIS_URL: redis.url,
    RESET_TIME: String(p.resetTime),
  })
  const keys = 20
  try {
    const served = async () => (await backend!.ask('served')).served as number
    const phases: Record<string, number> = {}
    let sentAt = (_: number) => 0
    const script = (async () => {
      await sleep(p.redisWarm)
      phases.warm = await served()
      phases.warmSent = sentAt(0)
      await redis.stop()
      await sleep(p.redisDown)
      phases.down = await served()
      phases.downSent = sentAt(0)
      await redis.start()
      await sleep(p.redisSettle)
      phases.settled = await served()
      await sleep(p.redisEnd)
      phases.end = await served()
    })()
    let sent = 0
    sentAt = () => sent
    const r = await runLoad({
      origin: `http://127.0.0.1:${proxy.port}`,
      rate: p.redisRate,
      durationMs: p.redisWarm + p.redisDown + p.redisSettle + p.redisEnd,
      path: (i) => {
        sent = i + 1
        return `/item/${i % keys}`
      },
    })
    await script
    const stats = await proxy.ask('stats')
    const outageRequests = phases.downSent! - phases.warmSent!
    const outageMisses = phases.down! - phases.warm!
    const refill = phases.end! - phases.settled!
    return result(
      'Redis restart',
      r,
      [
        { name: 'no failed request', ok: failures(r) === 0, detail: describeFailures(r) },
        {
          name: 'warm cache: the origin saw each key about once',
          ok: phases.warm! <= keys * 2,
          detail: `${phases.warm} origin requests for ${phases.warmSent} sent`,
        },
        {
          name: 'Redis down: requests answered as misses',
          ok: outageMisses >= outageRequests * 0.5,
          detail: `${outageMisses} origin requests for ${outageRequests} sent`,
        },
        {
          name: 'after the restart the cache refilled',
          ok: refill <= keys,
          detail: `${refill} origin requests in the last ${p.redisEnd / 1000} s`,
        },
      ],
      `outage: ${outageMisses}/${outageRequests} misses; after refill: ${refill} origin requests; cache hits ${stats.hits}`,
    )
  } finally {
    await proxy.kill()
    await backend!.kill()
    await redis.stop()
  }
}

export const SCENARIOS = {
  sustained,
  proxy: proxyFaults,
  graceful: gracefulStop,
  redis: redisRestart,
} as const
