// What the access log costs the Listener, and how the Listener with it compares with Fastify
// with its pino request logging. GET /hello → {"hello":"world"}; each peer in its own process,
// logging to its own file; wrk (or autocannon) in another process; peers interleaved in
// rounds whose order rotates; medians of req/s, p99 and server CPU per request, and medians
// of per-round ratios to the Listener with its access log. Then each peer is loaded at the
// same time as the Listener with its log (two load generators): the CPU-per-request ratio of
// such pairs is the figure a busy machine moves least.
//
//   pnpm --filter @x/http bench:access-log [-- --rounds 9 --duration 2 --connections 50 --tool wrk|autocannon
//                                            --peers listener-attach,fastify-logging,fastify]  (the Listener with and without the log always run)
//
// Run `pnpm build` first: the peers load the built packages.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { request } from 'undici'

const run = promisify(execFile)
const here = fileURLToPath(new URL('.', import.meta.url))

function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : (process.argv[i + 1] ?? def)
}
const ROUNDS = Number(flag('rounds', '9'))
const DURATION = Number(flag('duration', '2'))
const PAIRED_ROUNDS = Number(flag('paired-rounds', '5'))
const WARMUP = Number(flag('warmup', '3'))
const CONNECTIONS = Number(flag('connections', '50'))
const hasWrk = spawnSync('wrk', ['--version']).error === undefined
const TOOL = flag('tool', hasWrk ? 'wrk' : 'autocannon')

/** `lines`: log lines each request must leave in the peer's file (checked after the run). */
const PEERS = [
  { id: 'listener-access-log', label: 'Listener + access log', lines: 1 },
  { id: 'listener', label: 'Listener, logging off', lines: 0 },
  { id: 'listener-attach', label: 'Listener + attach() filter', lines: 1 },
  { id: 'fastify-logging', label: 'Fastify 5 + pino logging', lines: 2 },
  { id: 'fastify', label: 'Fastify 5, logging off', lines: 0 },
] as const
const MINE = 'listener-access-log'
const only = flag('peers', '')
const CHOSEN =
  only === ''
    ? PEERS
    : PEERS.filter((p) => p.id === MINE || p.id === 'listener' || only.split(',').includes(p.id))

interface Running {
  readonly id: string
  readonly label: string
  readonly lines: number
  readonly file: string
  readonly port: number
  readonly child: ChildProcess
  requests: number
}

function startPeer(p: (typeof PEERS)[number], dir: string): Promise<Running> {
  const file = join(dir, `${p.id}.log`)
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'server.ts'), p.id], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, X_BENCH_LOG_FILE: file },
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve({ ...p, file, port: Number(m[1]), child, requests: 0 })
    })
    child.once('exit', (code) => reject(new Error(`${p.id} exited with ${code}`)))
  })
}

async function verify(peer: Running): Promise<void> {
  const res = await request(`http://127.0.0.1:${peer.port}/hello`)
  const body = await res.body.text()
  if (res.statusCode !== 200 || body !== '{"hello":"world"}')
    throw new Error(`${peer.label} answered ${res.statusCode} ${body}`)
  peer.requests++
}

/** CPU time (user + system, all threads) a process has used, in ms, from /proc; NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

interface Sample {
  readonly rps: number
  readonly p99ms: number
  readonly cpuUs: number
}

function parseDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim())
  if (!m) return Number.NaN
  const v = Number(m[1])
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000
}

async function load(peer: Running, seconds: number): Promise<Sample> {
  const before = cpuMs(peer.child.pid!)
  const g = await generate(peer, seconds)
  const used = cpuMs(peer.child.pid!) - before
  return { rps: g.rps, p99ms: g.p99ms, cpuUs: (used * 1000) / g.total }
}

/**
 * Loads two peers at the same time, each with its own load generator: both run under the
 * machine's load of the same seconds, so their CPU per request compares fairly even on a
 * machine too busy for sequential rounds to agree.
 */
async function paired(a: Running, b: Running, seconds: number): Promise<[number, number]> {
  const a0 = cpuMs(a.child.pid!)
  const b0 = cpuMs(b.child.pid!)
  const [ga, gb] = await Promise.all([generate(a, seconds), generate(b, seconds)])
  const a1 = cpuMs(a.child.pid!)
  const b1 = cpuMs(b.child.pid!)
  return [((a1 - a0) * 1000) / ga.total, ((b1 - b0) * 1000) / gb.total]
}

async function generate(
  peer: Running,
  seconds: number,
): Promise<{ rps: number; p99ms: number; total: number }> {
  const url = `http://127.0.0.1:${peer.port}/hello`
  let rps: number
  let p99ms: number
  let total: number
  if (TOOL === 'wrk') {
    const { stdout } = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url])
    if (/Non-2xx or 3xx responses/.test(stdout)) throw new Error(`${peer.label}: non-2xx under load`)
    rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
    p99ms = parseDuration(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '')
    total = Number(/(\d+) requests in/.exec(stdout)?.[1])
  } else {
    const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds })
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${peer.label}: errors under load`)
    rps = r.requests.average
    p99ms = r.latency.p99
    total = (r.requests as { total?: number }).total ?? Math.round(rps * seconds)
  }
  peer.requests += total
  return { rps, p99ms, total }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n')
}

function countLines(file: string): number {
  try {
    const text = readFileSync(file, 'utf8')
    let n = 0
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
    return n
  } catch {
    return 0
  }
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
  )
  console.log(
    `load: ${TOOL}, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${DURATION}s per peer, ${WARMUP}s warm-up; GET /hello\n`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'x-access-log-bench-'))
  const running: Running[] = []
  try {
    for (const p of CHOSEN) running.push(await startPeer(p, dir))
    for (const peer of running) await verify(peer)
    for (const peer of running) await load(peer, WARMUP)
    const samples = new Map<string, Sample[]>()
    for (let round = 0; round < ROUNDS; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]!)
      for (const peer of order) {
        const s = await load(peer, DURATION)
        samples.set(peer.id, [...(samples.get(peer.id) ?? []), s])
        process.stdout.write(
          `round ${round + 1} ${peer.id}: ${Math.round(s.rps)} req/s, p99 ${s.p99ms.toFixed(2)} ms, ${s.cpuUs.toFixed(1)} µs CPU/req\n`,
        )
      }
    }
    // Then each peer side by side with the Listener and its log, loaded at the same time.
    const mineRunning = running.find((r) => r.id === MINE)!
    const pairedRatios = new Map<string, number[]>()
    for (let round = 0; round < PAIRED_ROUNDS; round++) {
      for (const peer of running) {
        if (peer === mineRunning) continue
        const [mine, other] = await paired(mineRunning, peer, DURATION + 1)
        pairedRatios.set(peer.id, [...(pairedRatios.get(peer.id) ?? []), other / mine])
        process.stdout.write(
          `paired ${round + 1} ${peer.id}: ${other.toFixed(1)} µs CPU/req against ${mine.toFixed(1)}\n`,
        )
      }
    }
    // Stop every peer (each flushes its log), then check one line per request was written.
    await Promise.all(
      running.map(
        (peer) =>
          new Promise<void>((resolve) => {
            peer.child.once('exit', () => resolve())
            peer.child.kill('SIGTERM')
          }),
      ),
    )
    for (const peer of running) {
      const lines = countLines(peer.file)
      if (lines < peer.requests * peer.lines)
        throw new Error(`${peer.label} wrote ${lines} log lines for ${peer.requests} requests`)
    }
    const stat = (id: string, f: (s: Sample) => number) => median(samples.get(id)!.map(f))
    // Ratios to the Listener with its log, taken within each round and then the median: peers
    // measured seconds apart share the machine's load of the moment, so a round's ratio is far
    // steadier on a busy machine than a ratio of medians taken minutes apart.
    const ratio = (id: string, f: (s: Sample) => number) => {
      const a = samples.get(id)!
      const b = samples.get(MINE)!
      return median(a.map((s, i) => f(s) / f(b[i]!)))
    }
    const pairedCpu = (id: string) => (id === MINE ? 1 : median(pairedRatios.get(id)!))
    const rows = [['peer', 'req/s', 'p99 ms', 'CPU µs/req', 'req/s ×', 'CPU ×', 'CPU ×, paired']]
    for (const peer of running) {
      rows.push([
        peer.label,
        String(Math.round(stat(peer.id, (s) => s.rps))),
        stat(peer.id, (s) => s.p99ms).toFixed(2),
        stat(peer.id, (s) => s.cpuUs).toFixed(1),
        ratio(peer.id, (s) => s.rps).toFixed(2),
        ratio(peer.id, (s) => s.cpuUs).toFixed(2),
        pairedCpu(peer.id).toFixed(2),
      ])
    }
    console.log(
      `\n(medians of ${ROUNDS} rounds; × is relative to the Listener + access log: the median of per-round ratios; paired: the median of ${PAIRED_ROUNDS} rounds loading both at once)\n`,
    )
    console.log(table(rows))
    // A CPU-bound server's throughput is inversely proportional to its CPU time per request.
    const off = pairedCpu('listener')
    console.log(
      `\naccess log cost (paired CPU per request): ${((1 - off) * 100).toFixed(1)}% of throughput (target ≤ 10%); sequential rounds: ${((1 - 1 / ratio('listener', (s) => s.rps)) * 100).toFixed(1)}% of req/s`,
    )
    if (samples.has('fastify-logging')) {
      console.log(
        `Fastify + logging uses ×${pairedCpu('fastify-logging').toFixed(2)} the CPU per request of the Listener + access log (paired); sequential req/s ×${ratio('fastify-logging', (s) => s.rps).toFixed(2)}`,
      )
    }
  } finally {
    for (const peer of running) if (peer.child.exitCode === null) peer.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
