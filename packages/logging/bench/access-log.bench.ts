// Throughput cost of the access log: node:http hello world with @x/logging's combined access
// log to a file, with logging off, and with pino-http to a file. Each server runs in its own
// process, autocannon in another; peers are loaded in turn, interleaved over rounds, medians
// reported. Run: pnpm --filter @x/logging bench (ROUNDS, DURATION, CONNECTIONS override).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ServerPeer } from './peers/types.ts'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const autocannon = join(dirname(require.resolve('autocannon/package.json')), 'autocannon.js')

const peers: ServerPeer[] = [
  { name: '@x/logging access log', script: join(here, 'peers/x-access-log.ts'), logs: true },
  { name: 'logging off', script: join(here, 'peers/off.ts'), logs: false },
  { name: 'pino-http', script: join(here, 'peers/pino-http.ts'), logs: true },
]

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const DURATION = Number(process.env.DURATION ?? 5)
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50)

interface Running {
  peer: ServerPeer
  proc: ChildProcess
  url: string
  file: string
  requests: number
}

async function startPeer(peer: ServerPeer, dir: string, i: number): Promise<Running> {
  const file = join(dir, `peer-${i}.log`)
  const proc = spawn(process.execPath, ['--conditions=@x/source', '--import', 'tsx', peer.script, file], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${peer.name} exited with ${code}`)))
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.startsWith('port ')) resolve(Number(line.slice(5)))
    })
  })
  return { peer, proc, url: `http://127.0.0.1:${port}/`, file, requests: 0 }
}

interface Result {
  rps: number
  p99: number
  total: number
  /** Server CPU time per request, µs (Linux /proc), or NaN. */
  cpuUs: number
}

// Server CPU time per request holds steady on a busy shared machine where req/s swings:
// read utime + stime of the server process from /proc around each load.
let ticksPerSecond = 100
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // Not Linux: CPU figures are left out.
}
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}

async function load(server: Running, seconds: number): Promise<Result> {
  const before = cpuSeconds(server.proc.pid)
  const r = await autocannonRun(server.url, seconds)
  const cpu = cpuSeconds(server.proc.pid) - before
  return { ...r, cpuUs: (cpu * 1e6) / r.total }
}

function autocannonRun(url: string, seconds: number): Promise<Omit<Result, 'cpuUs'>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [autocannon, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', url],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    let out = ''
    proc.stdout.on('data', (d) => {
      out += d
    })
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`))
      const r = JSON.parse(out) as {
        requests: { average: number; total: number }
        latency: { p99: number }
        non2xx: number
      }
      if (r.non2xx > 0) return reject(new Error(`${url} answered ${r.non2xx} non-2xx`))
      resolve({ rps: r.requests.average, p99: r.latency.p99, total: r.requests.total })
    })
  })
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

const dir = mkdtempSync(join(tmpdir(), 'x-logging-bench-'))
const running: Running[] = []
try {
  for (const [i, peer] of peers.entries()) running.push(await startPeer(peer, dir, i))
  console.log(
    `@x/logging access-log benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, ${new Date().toISOString().slice(0, 10)}`,
  )
  console.log(`autocannon -c ${CONNECTIONS} -d ${DURATION}, ${ROUNDS} rounds, peers interleaved; medians\n`)
  for (const r of running) r.requests += (await load(r, 2)).total // warm-up
  const samples = new Map<string, Result[]>(running.map((r) => [r.peer.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? running : running.slice().reverse()
    for (const r of order) {
      const res = await load(r, DURATION)
      r.requests += res.total
      samples.get(r.peer.name)!.push(res)
    }
  }
  for (const r of running) {
    r.proc.kill('SIGTERM')
    await new Promise((resolve) => r.proc.once('exit', resolve))
  }
  // Deterministic check: a logging peer wrote one line per request it answered.
  for (const r of running) {
    if (!r.peer.logs) continue
    const lines = readFileSync(r.file, 'utf8').split('\n').length - 1
    if (lines < r.requests) throw new Error(`${r.peer.name} logged ${lines} lines for ${r.requests} requests`)
  }
  const x = median(samples.get(peers[0]!.name)!.map((s) => s.rps))
  const xCpu = median(samples.get(peers[0]!.name)!.map((s) => s.cpuUs))
  const rows = [['peer', 'req/s', 'p99 ms', 'ratio to @x', 'server CPU µs/req', 'CPU ratio to @x']]
  for (const r of running) {
    const rps = median(samples.get(r.peer.name)!.map((s) => s.rps))
    const p99 = median(samples.get(r.peer.name)!.map((s) => s.p99))
    const cpu = median(samples.get(r.peer.name)!.map((s) => s.cpuUs))
    rows.push([
      r.peer.name,
      rps.toFixed(0),
      p99.toFixed(1),
      `×${(rps / x).toFixed(2)}`,
      Number.isNaN(cpu) ? 'n/a' : cpu.toFixed(1),
      Number.isNaN(cpu) ? 'n/a' : `×${(cpu / xCpu).toFixed(2)}`,
    ])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  const fmt = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`
  console.log(fmt(rows[0]!))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows.slice(1)) console.log(fmt(row))
  const off = median(samples.get('logging off')!.map((s) => s.rps))
  const offCpu = median(samples.get('logging off')!.map((s) => s.cpuUs))
  console.log(`\naccess log cost: ${((1 - x / off) * 100).toFixed(1)}% of throughput (target ≤ 10%)`)
  // A CPU-bound server's throughput is inversely proportional to its CPU time per request.
  if (!Number.isNaN(xCpu))
    console.log(
      `access log cost from server CPU per request: ${((1 - offCpu / xCpu) * 100).toFixed(1)}% of throughput`,
    )
} finally {
  for (const r of running) if (r.proc.exitCode === null) r.proc.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
