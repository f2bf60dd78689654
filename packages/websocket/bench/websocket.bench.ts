// Echo throughput, latency and memory per idle connection of @x/websocket against raw ws and
// ws with its native helpers. Each server runs in its own process, the load generator in
// another; measurements interleave the peers in rounds and report medians. Run: pnpm bench.
import type { ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { ask, firstMessage, startChild } from './child.ts'
import type { EchoRequest, EchoResult } from './load.ts'
import { peers } from './peers/index.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const DURATION = Number(process.env.DURATION_MS ?? 1500)
const WARMUP = Number(process.env.WARMUP_MS ?? 300)
const IDLE = Number(process.env.IDLE_CONNECTIONS ?? 10_000)

interface Server {
  readonly name: string
  readonly child: ChildProcess
  readonly url: string
}

/**
 * Starts one peer's server process. Only one server process runs at a time: with several
 * alive, the first one spawned measured up to 4× faster on the 64 KiB line whichever peer it
 * was (scheduler placement on this 2-vCPU machine), so each round spawns each peer afresh.
 */
async function startServer(peer: (typeof peers)[number]): Promise<Server> {
  const child = startChild('./server.ts', [peer.name], peer.env as Record<string, string>)
  const ready = await firstMessage<{ port: number }>(child)
  return { name: peer.name, child, url: `ws://127.0.0.1:${ready.port}` }
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()))
  server.child.send({ type: 'exit' })
  await exited
}

const load = startChild('./load.ts', [])
await firstMessage(load)

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

interface Line {
  readonly name: string
  readonly unit: string
  readonly request: Omit<EchoRequest, 'url' | 'type'>
  readonly value: (r: EchoResult) => number
  /** Also report the p99 round-trip latency. */
  readonly latency?: boolean
}

const lines: Line[] = [
  {
    name: 'echo 64 B text, 1 connection',
    unit: 'round trips/s',
    request: { connections: 1, payload: 'text64', durationMs: DURATION },
    value: (r) => r.roundTrips / r.seconds,
    latency: true,
  },
  {
    name: 'echo 64 B text, 100 connections',
    unit: 'round trips/s',
    request: { connections: 100, payload: 'text64', durationMs: DURATION },
    value: (r) => r.roundTrips / r.seconds,
  },
  {
    name: 'echo 64 KiB binary, 1 connection',
    unit: 'MiB/s each way',
    request: { connections: 1, payload: 'binary64k', durationMs: DURATION },
    value: (r) => r.bytes / r.seconds / 1024 / 1024,
  },
]

const echoRun = (server: Server, line: Line, durationMs: number) =>
  ask<EchoResult>(load, { type: 'echo', url: server.url, ...line.request, durationMs })

interface Samples {
  values: number[]
  p99s: number[]
  /** Server CPU time (user + system) per round trip, µs. */
  cpus: number[]
}
const samples = new Map<string, Map<string, Samples>>(
  lines.map((l) => [l.name, new Map(peers.map((p) => [p.name, { values: [], p99s: [], cpus: [] }]))]),
)
const cpuOf = async (server: Server) => (await ask<{ micros: number }>(server.child, { type: 'cpu' })).micros
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order every round so no peer always runs first or last.
  const order = peers.map((_, i) => peers[(i + r) % peers.length]!)
  for (const peer of order) {
    const server = await startServer(peer)
    for (const line of lines) {
      await echoRun(server, line, WARMUP) // warm this process's code paths for the line first
      const cpu0 = await cpuOf(server)
      const result = await echoRun(server, line, DURATION)
      const cpu1 = await cpuOf(server)
      const s = samples.get(line.name)!.get(peer.name)!
      s.values.push(line.value(result))
      s.p99s.push(result.p99us)
      s.cpus.push((cpu1 - cpu0) / result.roundTrips)
    }
    await stopServer(server)
  }
  process.stderr.write(`  round ${r + 1} of ${ROUNDS} done\n`)
}
const results = new Map<string, Map<string, { value: number; p99: number; cpu: number }>>()
for (const [line, byPeer] of samples) {
  const row = new Map<string, { value: number; p99: number; cpu: number }>()
  for (const [name, s] of byPeer) {
    row.set(name, { value: median(s.values), p99: median(s.p99s), cpu: median(s.cpus) })
  }
  results.set(line, row)
}

// Memory per idle connection: the server's heap + external memory (after GC) and RSS,
// before and after the load generator opens IDLE connections.
const memory = new Map<string, { heap: number; rss: number }>()
for (const peer of peers) {
  const server = await startServer(peer)
  const before = await ask<{ heap: number; rss: number }>(server.child, { type: 'memory' })
  await ask(load, { type: 'open', url: server.url, count: IDLE })
  const after = await ask<{ heap: number; rss: number; connections: number }>(server.child, {
    type: 'memory',
  })
  if (after.connections !== IDLE)
    throw new Error(`${server.name}: ${after.connections} of ${IDLE} connections open`)
  await ask(load, { type: 'close' })
  memory.set(server.name, { heap: (after.heap - before.heap) / IDLE, rss: (after.rss - before.rss) / IDLE })
  await stopServer(server)
  process.stderr.write(`  memory of ${server.name} done\n`)
}
load.kill()

const X = peers[0]!.name
const others = peers.slice(1).map((s) => s.name)
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

console.log(
  `\n@x/websocket benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  `medians of ${ROUNDS} interleaved rounds of ${DURATION} ms; throughput ×N = @x/websocket ÷ the peer; server CPU ×N = the peer ÷ @x/websocket (both: above 1 favours @x)\n`,
)
console.log(`| line | unit | ${X} | ${others.join(' | ')} | ${X} ÷ faster ws |`)
console.log(`|---|---|---|${others.map(() => '---').join('|')}|---|`)
const verdicts: string[] = []
const cpuVerdicts: string[] = []
for (const line of lines) {
  const row = results.get(line.name)!
  const x = row.get(X)!.value
  const best = Math.max(...others.map((n) => row.get(n)!.value))
  const cells = others.map((n) => {
    const v = row.get(n)!.value
    return `${fmt(v)} (×${(x / v).toFixed(2)})`
  })
  console.log(`| ${line.name} | ${line.unit} | ${fmt(x)} | ${cells.join(' | ')} | ${(x / best).toFixed(2)} |`)
  verdicts.push(`${line.name}: ${(x / best).toFixed(2)} of the faster ws (target ≥ 0.95)`)
  const cx = row.get(X)!.cpu
  const bestCpu = Math.min(...others.map((n) => row.get(n)!.cpu))
  const ccells = others.map((n) => `${fmt(row.get(n)!.cpu)} (×${(row.get(n)!.cpu / cx).toFixed(2)})`)
  console.log(
    `| ${line.name}: server CPU | µs per round trip | ${fmt(cx)} | ${ccells.join(' | ')} | ${(bestCpu / cx).toFixed(2)} |`,
  )
  cpuVerdicts.push(
    `${line.name}: ${(bestCpu / cx).toFixed(2)} of the leaner ws's CPU efficiency (target ≥ 0.95)`,
  )
  if (line.latency) {
    const lx = row.get(X)!.p99
    const lcells = others.map((n) => `${fmt(row.get(n)!.p99)}`)
    console.log(`| ${line.name}: p99 latency | µs | ${fmt(lx)} | ${lcells.join(' | ')} | |`)
  }
}
const mx = memory.get(X)!
const mraw = memory.get(others[0]!)!
const mcells = others.map(
  (n) => `${fmt(memory.get(n)!.heap)} (×${(mx.heap / memory.get(n)!.heap).toFixed(2)})`,
)
console.log(
  `| idle connection, ${IDLE} open | heap + external bytes each | ${fmt(mx.heap)} | ${mcells.join(' | ')} | |`,
)
const rcells = others.map((n) => `${fmt(memory.get(n)!.rss)} (×${(mx.rss / memory.get(n)!.rss).toFixed(2)})`)
console.log(`| idle connection, ${IDLE} open | RSS bytes each | ${fmt(mx.rss)} | ${rcells.join(' | ')} | |`)
verdicts.push(
  `memory per idle connection: ${(mx.heap / mraw.heap).toFixed(2)} × raw ws (heap + external; target ≤ 1.1)`,
)
console.log(`\n${verdicts.join('\n')}`)
console.log(`server CPU per round trip, which a busy machine disturbs less:\n${cpuVerdicts.join('\n')}`)
