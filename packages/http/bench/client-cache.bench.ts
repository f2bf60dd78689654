// The cache-hit path through Client: Client with the cache on a MemoryStore against undici's
// own cache interceptor (undici.request, its memory store) and against a Client round trip to
// an origin in another process; @x/cache under undici.request (the API's share of a hit), and
// a RedisStore Client when redis-server is on the PATH.
// Rounds interleave the peers; medians are reported. Run: pnpm --filter @x/http bench:cache.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import {
  type CachePeer,
  clientMemory,
  clientNone,
  clientRedis,
  undiciMemory,
  undiciXMemory,
} from './cache/peers.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 7)
const BATCH = Number(process.env.BATCH ?? 4_000)
// 1 in flight measures latency (what a caller waits); 16 measures throughput.
const LEVELS = (process.env.CONCURRENCY ?? '1,16').split(',').map(Number)
const MAX_CONCURRENCY = Math.max(...LEVELS)
const gc = (globalThis as { gc?: () => void }).gc

async function startOrigin(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./cache/origin.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const [port] = (await once(child.stdout!, 'data')) as [Buffer]
  return { child, url: `http://127.0.0.1:${port.toString().trim()}` }
}

/** A throw-away redis-server on a port it reports back, or undefined without one on the PATH. */
async function startRedis(): Promise<{ child: ChildProcess; url: string } | undefined> {
  // Port 0 is not accepted by redis-server; a random high port, retried, is.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    const ready = await new Promise<boolean>((resolve) => {
      let out = ''
      child.once('error', () => resolve(false))
      child.once('exit', () => resolve(false))
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) resolve(true)
      })
    })
    if (ready) return { child, url: `redis://127.0.0.1:${port}` }
    if (child.exitCode === null && child.pid === undefined) return undefined
  }
  return undefined
}

/** Runs `n` gets with `concurrency` in flight; ns per request. */
async function run(peer: CachePeer, n: number, concurrency: number): Promise<number> {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      const body = await peer.get()
      if (body.length !== 1011) throw new Error(`${peer.name}: wrong body (${body.length} bytes)`)
    }
  }
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, worker))
  return Number(process.hrtime.bigint() - t0) / n
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

const origin = await startOrigin()
const redis = await startRedis()
const peers: CachePeer[] = [
  clientMemory(origin.url),
  undiciMemory(origin.url),
  clientNone(origin.url),
  undiciXMemory(origin.url),
]
if (redis !== undefined) peers.push(await clientRedis(origin.url, redis.url))
const [x, undici, none] = peers as [CachePeer, CachePeer, CachePeer]

console.log(
  `Client cache-hit benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(`${BATCH} GETs per round, ${ROUNDS} rounds, median; 1 KiB body; origin in another process\n`)

for (const p of peers) await run(p, 1_000, MAX_CONCURRENCY)
let ok = true
for (const concurrency of LEVELS) {
  const samples = new Map<CachePeer, number[]>(peers.map((p) => [p, []]))
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order each round, so no peer always runs first after a GC.
    const order = peers.map((_, i) => peers[(i + r) % peers.length]!)
    for (const p of order) {
      gc?.()
      samples.get(p)!.push(await run(p, BATCH, concurrency))
    }
  }
  const base = median(samples.get(x)!)
  console.log(`**${concurrency} in flight**\n`)
  const rows = [['peer', 'ns/req', 'req/s', '× Client + cache time']]
  for (const p of peers) {
    const ns = median(samples.get(p)!)
    rows.push([p.name, ns.toFixed(0), Math.round(1e9 / ns).toLocaleString('en-US'), (ns / base).toFixed(2)])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`)
    if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  }
  const vsUndici = median(samples.get(undici)!) / base
  const vsTrip = median(samples.get(none)!) / base
  console.log(`\nhit vs undici's cache hit: ${vsUndici.toFixed(2)}× (target ≥ 1.0)`)
  console.log(`hit vs round trip: ${vsTrip.toFixed(2)}× faster (target ≥ 5)\n`)
}
if (redis === undefined) console.log('RedisStore: skipped (no redis-server on PATH)')

const hits = (await (await request(`${origin.url}/__hits`)).body.json()) as Record<string, number>
console.log(`origin trips: ${peers.map((p) => `${p.name} ${hits[p.path] ?? 0}`).join(', ')}`)
// What the table claims must hold: a caching peer reached the origin only for its first misses.
for (const p of peers) {
  const trips = hits[p.path] ?? 0
  if (p.caches && (trips < 1 || trips > MAX_CONCURRENCY)) {
    console.error(`${p.name}: expected 1..${MAX_CONCURRENCY} origin trips, saw ${trips}`)
    ok = false
  }
}
for (const p of peers) await p.close()
origin.child.stdin!.end()
redis?.child.kill()
if (!ok) process.exit(1)
