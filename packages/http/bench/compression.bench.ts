// Compression load benchmark: GET of a 100 KiB JSON document compressed per request, by the
// @x/http Listener (compression AUTO), Fastify 5 with @fastify/compress, and a hand-written
// node:http + zlib baseline. Each server runs in its own process; wrk (or autocannon, in this
// process) loads it. Every peer's answer is decoded and checked first; rounds rotate the order.
//
//   pnpm --filter @x/http bench:compression [-- --rounds 3 --duration 5 --connections 50
//                                             --cases gzip,br --tool wrk|autocannon]
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as zlib from 'node:zlib'
import autocannon from 'autocannon'
import { request } from 'undici'
import { PAYLOAD_JSON } from './compression/payload.ts'

const run = promisify(execFile)
const here = fileURLToPath(new URL('.', import.meta.url))

function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : (process.argv[i + 1] ?? def)
}
const ROUNDS = Number(flag('rounds', '3'))
const DURATION = Number(flag('duration', '5'))
const WARMUP = Number(flag('warmup', '3'))
const CONNECTIONS = Number(flag('connections', '50'))
const hasWrk = spawnSync('wrk', ['--version']).error === undefined
const TOOL = flag('tool', hasWrk ? 'wrk' : 'autocannon')

const PEERS = [
  { id: 'node-http', label: 'node:http + zlib (raw)' },
  { id: 'listener', label: '@x/http Listener (AUTO)' },
  { id: 'fastify', label: 'Fastify 5 + @fastify/compress' },
] as const
const CASES = ['gzip', 'br'].filter((c) => flag('cases', 'gzip,br').split(',').includes(c))

interface Running {
  readonly id: string
  readonly label: string
  readonly port: number
  readonly child: ChildProcess
}

function startPeer(id: string, label: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'compression', 'server.ts'), id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve({ id, label, port: Number(m[1]), child })
    })
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code}`)))
  })
}

/** The peer must answer with the coding asked for, Vary, and a body that decodes to the document. */
async function verify(peer: Running, coding: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${peer.port}/data`, { headers: { 'accept-encoding': coding } })
  const body = Buffer.from(await res.body.arrayBuffer())
  const decoded = coding === 'br' ? zlib.brotliDecompressSync(body) : zlib.gunzipSync(body)
  if (
    res.statusCode !== 200 ||
    res.headers['content-encoding'] !== coding ||
    !String(res.headers.vary).toLowerCase().includes('accept-encoding') ||
    decoded.toString() !== PAYLOAD_JSON
  ) {
    throw new Error(
      `${peer.label} answered ${coding} wrongly (${res.statusCode} ${res.headers['content-encoding']})`,
    )
  }
  return body.length
}

interface Sample {
  readonly rps: number
  readonly p99ms: number
  readonly cpuUs: number
}

/** CPU time (user + system) of a process in ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

function parseDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim())
  if (!m) return Number.NaN
  const v = Number(m[1])
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000
}

let luaFiles = new Map<string, string>()
function wrkScript(coding: string): string {
  let file = luaFiles.get(coding)
  if (file === undefined) {
    file = join(tmpdir(), `x-http-compression-${process.pid}-${coding}.lua`)
    writeFileSync(file, `wrk.headers["Accept-Encoding"] = "${coding}"\n`)
    luaFiles = new Map(luaFiles).set(coding, file)
  }
  return file
}

async function load(peer: Running, coding: string, seconds: number): Promise<Sample> {
  const before = cpuMs(peer.child.pid!)
  const url = `http://127.0.0.1:${peer.port}/data`
  let rps: number
  let p99ms: number
  if (TOOL === 'wrk') {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', wrkScript(coding), url]
    const { stdout } = await run('wrk', args)
    rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
    p99ms = parseDuration(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '')
    const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)
    if (bad) throw new Error(`${peer.label}: ${bad[1]} non-2xx responses under load`)
  } else {
    const result = await autocannon({
      url,
      headers: { 'accept-encoding': coding },
      connections: CONNECTIONS,
      duration: seconds,
    })
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${peer.label}: errors under load`)
    rps = result.requests.average
    p99ms = result.latency.p99
  }
  const used = cpuMs(peer.child.pid!) - before
  return { rps, p99ms, cpuUs: (used * 1000) / (rps * seconds) }
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

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`)
  console.log(
    `GET /data: ${PAYLOAD_JSON.length} bytes of JSON, compressed per request; ${TOOL}, ${CONNECTIONS} connections, ` +
      `${ROUNDS} rounds × ${DURATION}s per peer and coding, ${WARMUP}s warm-up\n`,
  )
  const running: Running[] = []
  try {
    for (const p of PEERS) running.push(await startPeer(p.id, p.label))
    const sizes = new Map<string, number>()
    for (const peer of running) for (const c of CASES) sizes.set(`${c} ${peer.id}`, await verify(peer, c))
    for (const peer of running) for (const c of CASES) await load(peer, c, WARMUP)
    const samples = new Map<string, Sample[]>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        const order = running.map((_, i) => running[(i + round) % running.length]!)
        for (const peer of order) {
          const s = await load(peer, c, DURATION)
          const key = `${c} ${peer.id}`
          samples.set(key, [...(samples.get(key) ?? []), s])
          process.stdout.write(
            `round ${round + 1} ${c} ${peer.id}: ${Math.round(s.rps)} req/s, p99 ${s.p99ms.toFixed(2)} ms, ${s.cpuUs.toFixed(0)} µs CPU/req\n`,
          )
        }
      }
    }
    console.log('')
    for (const c of CASES) {
      const mine = median(samples.get(`${c} listener`)!.map((s) => s.rps))
      const rows = [['peer', 'bytes sent', 'req/s', 'p99 ms', '× Listener', 'CPU µs/req']]
      for (const peer of running) {
        const list = samples.get(`${c} ${peer.id}`)!
        const rps = median(list.map((s) => s.rps))
        rows.push([
          peer.label,
          String(sizes.get(`${c} ${peer.id}`)),
          String(Math.round(rps)),
          median(list.map((s) => s.p99ms)).toFixed(2),
          (rps / mine).toFixed(2),
          median(list.map((s) => s.cpuUs)).toFixed(0),
        ])
      }
      console.log(`**Accept-Encoding: ${c}** (median of ${ROUNDS} rounds)\n`)
      console.log(table(rows))
      console.log('')
    }
  } finally {
    for (const peer of running) peer.child.kill('SIGTERM')
  }
}

await main()
