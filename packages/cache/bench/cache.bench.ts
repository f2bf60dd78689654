// Cache-hit path of @x/cache against undici's own cache interceptor and against a round
// trip with no cache, all through undici.request on an Agent, same run, same origin (in
// another process). Rounds interleave the peers; medians are reported. Run: pnpm bench.
import { type ChildProcess, spawn } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { maximum } from './peers/maximum.ts'
import { noCache } from './peers/no-cache.ts'
import type { Peer } from './peers/types.ts'
import { undiciMemory } from './peers/undici-cache.ts'
import { xMemory, xRedis } from './peers/x-cache.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 7)
const BATCH = Number(process.env.BATCH ?? 5_000)
// 1 in flight measures latency (what a caller waits); 16 measures throughput.
const LEVELS = (process.env.CONCURRENCY ?? '1,16').split(',').map(Number)
const MAX_CONCURRENCY = Math.max(...LEVELS)
const gc = (globalThis as { gc?: () => void }).gc

function startOrigin(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./origin-server.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) =>
      resolve({ child, url: `http://127.0.0.1:${d.toString().trim()}` }),
    )
    child.once('error', reject)
  })
}

async function startRedis(): Promise<{ child: ChildProcess; url: string } | undefined> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
  return new Promise((resolve) => {
    let out = ''
    child.once('error', () => resolve(undefined))
    child.once('exit', () => resolve(undefined))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Ready to accept connections')) resolve({ child, url: `redis://127.0.0.1:${port}` })
    })
  })
}

/** Sends `n` GETs with `CONCURRENCY` in flight; returns ns per request. */
async function run(peer: Peer, url: string, n: number, concurrency: number): Promise<number> {
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      const res = await request(url, { dispatcher: peer.dispatcher })
      await res.body.text()
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
const peers: Peer[] = [xMemory(), undiciMemory(), noCache(), maximum()]
if (redis !== undefined) peers.push(await xRedis(redis.url))

console.log(
  `@x/cache hit-path benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  `${BATCH} GETs per round via undici.request, ${ROUNDS} rounds, median; 1 KiB body; origin in another process\n`,
)

for (const p of peers) await run(p, origin.url + p.path, 2_000, MAX_CONCURRENCY)
for (const concurrency of LEVELS) {
  const samples = new Map<Peer, number[]>(peers.map((p) => [p, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? peers : peers.slice().reverse()
    for (const p of order) {
      gc?.()
      samples.get(p)!.push(await run(p, origin.url + p.path, BATCH, concurrency))
    }
  }
  const x = median(samples.get(peers[0]!)!)
  console.log(`**${concurrency} in flight**\n`)
  const rows = [['peer', 'ns/req', 'req/s', '× @x/cache time']]
  for (const p of peers) {
    const ns = median(samples.get(p)!)
    rows.push([
      p.name,
      ns.toFixed(0),
      Math.round(1e9 / ns).toLocaleString('en-US'),
      p === peers[0] ? '1.00' : (ns / x).toFixed(2),
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`)
    if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  }
  const undici = median(samples.get(peers[1]!)!)
  const none = median(samples.get(peers[2]!)!)
  console.log(`\nhit vs undici's cache hit: ${(undici / x).toFixed(2)}× (target ≥ 1.0)`)
  console.log(`hit vs round trip: ${(none / x).toFixed(2)}× faster (target ≥ 5)\n`)
}
if (redis === undefined) console.log('RedisStore: skipped (no redis-server on PATH)')

const hits = (await (await request(`${origin.url}/__hits`)).body.json()) as Record<string, number>
console.log(`origin trips: ${peers.map((p) => `${p.name} ${hits[p.path] ?? 0}`).join(', ')}`)
// What the table claims must hold: a caching peer reached the origin only for the misses
// of its first concurrent wave (undici does not collapse them; @x/cache does).
let ok = true
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
