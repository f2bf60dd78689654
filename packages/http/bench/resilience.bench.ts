// What the circuit breaker and the balancer cost the Client on the happy path: (1) the same
// GETs through Client without them, Client with its breaker, and LoadBalanceClient with a
// breaker per target, against one local keep-alive server in another process, interleaved
// request by request; (2) those steps alone, in process, over a dispatcher that answers at once.
// Run: pnpm --filter @x/http bench:resilience
import { fork } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Dispatcher } from 'undici'
import { composeOrder } from '../src/client/chain.js'
import { resolveClientOptions } from '../src/client/options.js'
import { createResilience } from '../src/client/resilience.js'
import { splitTargetOptions } from '../src/client/targets.js'
import { Client, type ClientOptions, LoadBalanceClient } from '../src/index.js'

// Peers are interleaved request by request (request i goes through peer i mod P), so every
// peer sees the same machine at the same moment: on a shared machine whose load drifts, this
// is what keeps a ratio honest. Ratios are taken within each round, then their median.
// Under load (100 in flight) a client's cost shows as throughput, which interleaving would
// blur (all share one event loop): there, each client runs alone for MS ms, in turn, and the
// ratio is taken within each round.
const ROUNDS = Number(process.env.ROUNDS ?? 10)
const PER_ROUND = Number(process.env.PER_ROUND ?? 3_000)
const MS = Number(process.env.MS ?? 500)
const CONCURRENCY = 100
const DISPATCHES = Number(process.env.DISPATCHES ?? 500_000)
const gc = (globalThis as { gc?: () => void }).gc

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1] ?? 0
}

// Every peer shares the settings of the Client benchmark: a capped pool, retries and redirects.
const shared: ClientOptions = {
  poolConfig: { maxActiveConnections: CONCURRENCY, waitTime: 30_000 },
  retryConfig: { count: 3 },
  followRedirects: { enabled: true },
}
// Ballerina's circuit breaker example settings (its times in ms).
const breaker: ClientOptions['circuitBreaker'] = {
  rollingWindow: { timeWindow: 10_000, bucketSize: 2_000, requestVolumeThreshold: 10 },
  failureThreshold: 0.2,
  resetTime: 10_000,
  statusCodes: [400, 404, 500, 502, 503],
}

interface Peer {
  readonly name: string
  make(url: string): Client
}
const allPeers: Peer[] = [
  { name: 'Client', make: (url) => new Client(url, shared) },
  { name: 'Client + circuitBreaker', make: (url) => new Client(url, { ...shared, circuitBreaker: breaker }) },
  {
    // Three targets that are the same server: the balancer really picks, each target has its breaker.
    name: 'LoadBalanceClient (3 targets, breaker each)',
    make: (url) => new LoadBalanceClient({ ...shared, targets: [url, url, url], circuitBreaker: breaker }),
  },
  {
    name: 'LoadBalanceClient least-request',
    make: (url) =>
      new LoadBalanceClient({
        ...shared,
        targets: [url, url, url],
        algorithm: 'least-request',
        circuitBreaker: breaker,
      }),
  },
]

// PEERS=0,2 runs only those peers (0, the plain Client, always runs: it is the baseline).
const only = process.env.PEERS?.split(',').map(Number)
const peers = only === undefined ? allPeers : allPeers.filter((_, i) => i === 0 || only.includes(i))

interface Sample {
  /** Median latency, µs. */
  median: number
  /** 99th percentile latency, µs. */
  p99: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

/**
 * `workers` loops send `PER_ROUND` requests per client, each request through the next client
 * in turn; returns each client's latencies.
 */
async function round(clients: Client[], workers: number): Promise<Sample[]> {
  const latencies: number[][] = clients.map(() => [])
  let next = 0
  const total = PER_ROUND * clients.length
  const loop = async () => {
    while (next < total) {
      const i = next++ % clients.length
      const t = performance.now()
      const body = await (await clients[i]!.get('/')).text()
      latencies[i]!.push((performance.now() - t) * 1000)
      if (body !== 'hello world') throw new Error(`wrong body: ${body.slice(0, 40)}`)
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
  return latencies.map((xs) => {
    xs.sort((a, b) => a - b)
    return { median: percentile(xs, 0.5), p99: percentile(xs, 0.99) }
  })
}

console.log(
  `@x/http resilience benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}\n`,
)

// --- 1. over the network -------------------------------------------------------------------
const server = fork(fileURLToPath(new URL('./client/server.mjs', import.meta.url)), { stdio: 'inherit' })
const port = await new Promise<number>((resolve) =>
  server.once('message', (m: { port: number }) => resolve(m.port)),
)
const url = `http://127.0.0.1:${port}`
const clients = peers.map((p) => p.make(url))

/** `workers` loops of GET through `c` for `ms`; requests per second. */
async function throughput(c: Client, workers: number, ms: number): Promise<number> {
  let n = 0
  const start = performance.now()
  const until = start + ms
  const loop = async () => {
    while (performance.now() < until) {
      const body = await (await c.get('/')).text()
      if (body !== 'hello world') throw new Error(`wrong body: ${body.slice(0, 40)}`)
      n++
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
  return (n / (performance.now() - start)) * 1000
}

await round(clients, 1) // warm-up: connections open, code optimised
for (const c of clients) await throughput(c, CONCURRENCY, 300)
const sequential: Sample[][] = []
const loaded: number[][] = []
for (let r = 0; r < ROUNDS; r++) {
  gc?.()
  sequential.push(await round(clients, 1))
  const rps: number[] = new Array(clients.length).fill(0)
  for (let k = 0; k < clients.length; k++) {
    const i = (k + r) % clients.length // rotate so no client always runs first
    gc?.()
    rps[i] = await throughput(clients[i]!, CONCURRENCY, MS)
  }
  loaded.push(rps)
}
for (const c of clients) await c.close()
server.disconnect()
server.kill()

console.log(
  `GET of an 11-byte body from a local keep-alive node:http server in another process; ${ROUNDS} rounds, each of ${PER_ROUND} sequential requests per client interleaved request by request, then ${MS} ms per client with ${CONCURRENCY} in flight`,
)
console.log(
  '× = speed relative to the same Client without breaker or balancer, per round, median over rounds (sequential: its median latency ÷ this one; loaded: this req/s ÷ its req/s); ≥ 0.97 is the target\n',
)
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1))
const rows: string[][] = [
  ['client', 'sequential median µs', '×', 'p99 µs', `${CONCURRENCY} in flight req/s`, '×'],
]
peers.forEach((p, i) => {
  rows.push([
    p.name,
    fmt(median(sequential.map((r) => r[i]!.median))),
    median(sequential.map((r) => r[0]!.median / r[i]!.median)).toFixed(3),
    fmt(median(sequential.map((r) => r[i]!.p99))),
    fmt(median(loaded.map((r) => r[i]!))),
    median(loaded.map((r) => r[i]! / r[0]!)).toFixed(3),
  ])
})
const table = (rs: string[][]) => {
  const widths = rs[0]!.map((_, i) => Math.max(...rs.map((r) => r[i]!.length)))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(line(rs[0]!))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rs.slice(1)) console.log(line(r))
}
table(rows)

// --- 2. the steps alone, in process --------------------------------------------------------
/** Answers every request at once, running the handler lifecycle synchronously. */
class Instant extends Dispatcher {
  readonly #controller = {
    aborted: false,
    paused: false,
    reason: null,
    abort() {},
    pause() {},
    resume() {},
  }
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const c = this.#controller as unknown as Dispatcher.DispatchController
    handler.onRequestStart?.(c, undefined)
    handler.onResponseStart?.(c, 200, {}, 'OK')
    handler.onResponseData?.(c, BODY)
    handler.onResponseEnd?.(c, {})
    return true
  }
  override close(): Promise<void> {
    return Promise.resolve()
  }
  override destroy(): Promise<void> {
    return Promise.resolve()
  }
}
const BODY = Buffer.from('hello world')

const terminal: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError(_c, err) {
    throw err
  },
}

/** The resilience steps alone (what the breaker and balancer add), over a dispatcher that answers at once. */
function stepsOf(options: ClientOptions, targets?: string[]): Dispatcher {
  if (targets === undefined) {
    const config = resolveClientOptions(options)
    return new Instant().compose(composeOrder([...createResilience(config, undefined, url).steps]))
  }
  const [set, rest] = splitTargetOptions('load-balance', { ...options, targets })
  const config = resolveClientOptions(rest)
  return new Instant().compose(composeOrder([...createResilience(config, set.resolved, url).steps]))
}

const chains = [
  { name: 'no step', d: stepsOf({}) },
  { name: 'circuitBreaker (Client)', d: stepsOf({ circuitBreaker: breaker }) },
  {
    name: 'balancer, round-robin, 3 targets, breaker each',
    d: stepsOf({ circuitBreaker: breaker }, [url, url, url]),
  },
  {
    name: 'balancer, least-request, 3 targets, breaker each',
    d: stepsOf({ circuitBreaker: breaker, algorithm: 'least-request' } as ClientOptions, [url, url, url]),
  },
  { name: 'balancer, round-robin, 3 targets, no breaker', d: stepsOf({}, [url, url, url]) },
]
const opts: Dispatcher.DispatchOptions = { origin: url, path: '/', method: 'GET', headers: [] }
function run(d: Dispatcher): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < DISPATCHES; i++) d.dispatch(opts, terminal)
  return Number(process.hrtime.bigint() - t0) / DISPATCHES
}
for (const c of chains) run(c.d)
const ns = new Map<string, number[]>(chains.map((c) => [c.name, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < chains.length; i++) {
    const c = chains[(i + r) % chains.length]!
    gc?.()
    ns.get(c.name)!.push(run(c.d))
  }
}
console.log(
  `\nthe breaker and balancer steps alone, over a dispatcher that answers at once (undici's compose() wrapping included); ${DISPATCHES} dispatches per round, median of ${ROUNDS}\n`,
)
const baseNs = median(ns.get('no step')!)
table([
  ['chain', 'ns/request', 'added (ns)'],
  ...chains.map((c) => {
    const m = median(ns.get(c.name)!)
    return [c.name, m.toFixed(0), c.name === 'no step' ? '—' : (m - baseNs).toFixed(0)]
  }),
])
