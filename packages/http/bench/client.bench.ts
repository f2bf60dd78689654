// Client throughput against one local keep-alive server (in its own process): every peer
// runs the same GET loop, 100 concurrent and one at a time, in interleaved rounds; the
// table shows medians and each peer's ratio to bare undici.request. Run: pnpm bench.
import { fork } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { axiosPeer } from './client/peers/axios.ts'
import { gotPeer } from './client/peers/got.ts'
import { nodeHttp } from './client/peers/node-http.ts'
import type { ClientPeer, PeerSession } from './client/peers/types.ts'
import { undiciFetch, undiciRequest } from './client/peers/undici.ts'
import { xClient } from './client/peers/x-client.ts'

const peers: ClientPeer[] = [xClient, undiciRequest, undiciFetch, nodeHttp, gotPeer, axiosPeer]
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const MS = Number(process.env.MS ?? 1_500)
const CONCURRENCY = 100
const gc = (globalThis as { gc?: () => void }).gc

interface Sample {
  rps: number
  p99: number
}

/** Runs `workers` loops of `get()` for `ms`; req/s over the whole run, p99 latency in ms. */
async function load(s: PeerSession, workers: number, ms: number): Promise<Sample> {
  const latencies: number[] = []
  const start = performance.now()
  const until = start + ms
  const loop = async () => {
    while (performance.now() < until) {
      const t = performance.now()
      const body = await s.get()
      latencies.push(performance.now() - t)
      if (body !== 'hello world') throw new Error(`wrong body: ${body.slice(0, 40)}`)
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
  const elapsed = performance.now() - start
  latencies.sort((a, b) => a - b)
  return {
    rps: (latencies.length / elapsed) * 1000,
    p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0,
  }
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1] ?? 0
}

const server = fork(fileURLToPath(new URL('./client/server.mjs', import.meta.url)), { stdio: 'inherit' })
const port = await new Promise<number>((resolve) =>
  server.once('message', (m: { port: number }) => resolve(m.port)),
)
const url = `http://127.0.0.1:${port}`

const sessions = new Map<string, PeerSession>()
for (const p of peers) sessions.set(p.name, await p.start(url, CONCURRENCY))

// Warm-up: open the connections and give every code path type feedback.
for (const p of peers) {
  const s = sessions.get(p.name)!
  await load(s, CONCURRENCY, 500)
  await load(s, 1, 200)
}

const modes = [
  { name: 'concurrent', workers: CONCURRENCY },
  { name: 'sequential', workers: 1 },
] as const
const samples = new Map<string, Sample[]>()
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of modes) {
    // Rotate the order each round so no peer always runs first or last.
    const order = peers.map((_, i) => peers[(i + r) % peers.length]!)
    for (const p of order) {
      gc?.()
      const key = `${mode.name}:${p.name}`
      const list = samples.get(key) ?? []
      list.push(await load(sessions.get(p.name)!, mode.workers, MS))
      samples.set(key, list)
    }
  }
}

for (const s of sessions.values()) await s.close()
server.disconnect()
server.kill()

console.log(
  `@x/http Client benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  `GET of an 11-byte body from a local keep-alive node:http server in another process; median of ${ROUNDS} rounds of ${MS} ms`,
)
console.log('×N = req/s relative to bare undici.request (higher is better)\n')
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2))
const rows: string[][] = [
  ['peer', 'concurrent (100) req/s', 'ratio', 'p99 ms', 'sequential req/s', 'ratio', 'p99 ms'],
]
const base = (mode: string) => median(samples.get(`${mode}:${undiciRequest.name}`)!.map((s) => s.rps))
for (const p of peers) {
  const row = [p.name]
  for (const mode of modes) {
    const xs = samples.get(`${mode.name}:${p.name}`)!
    const rps = median(xs.map((s) => s.rps))
    row.push(fmt(rps), `×${(rps / base(mode.name)).toFixed(2)}`, fmt(median(xs.map((s) => s.p99))))
  }
  rows.push(row)
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
console.log(line(rows[0]!))
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
for (const r of rows.slice(1)) console.log(line(r))
