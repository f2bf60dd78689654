// HTTP/2 load benchmark: raw node:http2 (its core stream API: the baseline), its
// compatibility API, Fastify 5 with `http2: true`, and the @x/http Listener over h2c, both
// h2c-only and sharing its port with HTTP/1.1; each in its own process, loaded by h2load
// (nghttp2-client) at 100 connections × 1 stream and 10 connections × 10 streams.
// Every peer's answer is checked first; peers run in rotating rounds; medians reported.
//
//   pnpm --filter @x/http bench:http2 [-- --rounds 5 --duration 4 --warmup 2 --peers raw,fastify]
//   (the raw stream API and both Listener modes always run)
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:http2'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { peers } from './http2/peers.ts'

const run = promisify(execFile)
const here = fileURLToPath(new URL('.', import.meta.url))

function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : (process.argv[i + 1] ?? def)
}
const ROUNDS = Number(flag('rounds', '5'))
const DURATION = Number(flag('duration', '4'))
const WARMUP = Number(flag('warmup', '2'))
const ALWAYS = ['raw', 'listener-h2c', 'listener-shared']
const only = flag('peers', '')
const PEER_IDS = Object.keys(peers).filter(
  (id) => only === '' || ALWAYS.includes(id) || only.split(',').includes(id),
)
const SHAPES = [
  { id: '100x1', label: '100 connections × 1 stream', connections: 100, streams: 1 },
  { id: '10x10', label: '10 connections × 10 streams', connections: 10, streams: 10 },
] as const
type Shape = (typeof SHAPES)[number]

interface Running {
  readonly id: string
  readonly label: string
  readonly port: number
  readonly child: ChildProcess
}

function startPeer(id: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--conditions=@x/source', '--import', 'tsx', join(here, 'http2', 'server.ts'), id],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve({ id, label: peers[id]!.label, port: Number(m[1]), child })
    })
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code}`)))
  })
}

/** Checks over h2c that the peer answers 200 {"hello":"world"} as JSON; a wrong peer is not timed. */
async function verify(peer: Running): Promise<void> {
  const session = connect(`http://127.0.0.1:${peer.port}`)
  try {
    const { status, type, body } = await new Promise<{ status: number; type: string; body: string }>(
      (resolve, reject) => {
        const req = session.request({ ':path': '/hello' })
        let status = 0
        let type = ''
        let body = ''
        req.setEncoding('utf8')
        req.on('response', (h) => {
          status = Number(h[':status'])
          type = String(h['content-type'])
        })
        req.on('data', (d: string) => {
          body += d
        })
        req.on('end', () => resolve({ status, type, body }))
        req.on('error', reject)
      },
    )
    if (status !== 200 || !type.startsWith('application/json') || body !== '{"hello":"world"}') {
      throw new Error(`${peer.label} answered ${status} ${type} ${body}`)
    }
  } finally {
    session.close()
  }
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); NaN elsewhere. */
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
  /** Mean time per request as h2load reports it, in ms. */
  readonly meanMs: number
  /** Server CPU per request in µs: far less moved by other load on the machine than req/s. */
  readonly cpuUs: number
}

function toMs(value: string, unit: string): number {
  const v = Number(value)
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : v * 1000
}

async function load(peer: Running, shape: Shape, seconds: number): Promise<Sample> {
  const before = cpuMs(peer.child.pid!)
  const { stdout } = await run('h2load', [
    '-D',
    String(seconds),
    '-c',
    String(shape.connections),
    '-m',
    String(shape.streams),
    '-t',
    '1',
    `http://127.0.0.1:${peer.port}/hello`,
  ])
  const used = cpuMs(peer.child.pid!) - before
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1])
  const done =
    /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout)
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout)
  if (
    done === null ||
    status === null ||
    done[3] !== '0' ||
    done[4] !== '0' ||
    status[3] !== '0' ||
    status[4] !== '0'
  ) {
    throw new Error(`${peer.label}: failed requests under load\n${stdout}`)
  }
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(stdout)
  const count = Number(done[2])
  return {
    rps,
    meanMs: mean === null ? Number.NaN : toMs(mean[1]!, mean[2]!),
    cpuUs: (used * 1000) / count,
  }
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
  const { stdout: version } = await run('h2load', ['--version'])
  console.log(
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${version.trim()}`,
  )
  console.log(`${ROUNDS} rounds × ${DURATION}s per peer and shape, ${WARMUP}s warm-up, GET /hello over h2c\n`)
  const running: Running[] = []
  try {
    for (const id of PEER_IDS) running.push(await startPeer(id))
    for (const peer of running) await verify(peer)
    for (const peer of running) for (const shape of SHAPES) await load(peer, shape, WARMUP)
    const samples = new Map<string, Sample[]>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const shape of SHAPES) {
        // Rotate the order each round so no peer always runs first or last.
        const order = running.map((_, i) => running[(i + round) % running.length]!)
        for (const peer of order) {
          const s = await load(peer, shape, DURATION)
          const key = `${shape.id} ${peer.id}`
          samples.set(key, [...(samples.get(key) ?? []), s])
          process.stdout.write(
            `round ${round + 1} ${shape.id} ${peer.id}: ${Math.round(s.rps)} req/s, mean ${s.meanMs.toFixed(2)} ms, ${s.cpuUs.toFixed(1)} µs CPU/req\n`,
          )
        }
      }
    }
    console.log('')
    for (const shape of SHAPES) {
      const base = median(samples.get(`${shape.id} raw`)!.map((s) => s.rps))
      const baseCpu = median(samples.get(`${shape.id} raw`)!.map((s) => s.cpuUs))
      const rows = [['peer', 'req/s', 'mean ms', '× raw', 'CPU µs/req', 'CPU × raw']]
      for (const peer of running) {
        const list = samples.get(`${shape.id} ${peer.id}`)!
        const rps = median(list.map((s) => s.rps))
        const cpu = median(list.map((s) => s.cpuUs))
        rows.push([
          peer.label,
          String(Math.round(rps)),
          median(list.map((s) => s.meanMs)).toFixed(2),
          (rps / base).toFixed(2),
          cpu.toFixed(1),
          (cpu / baseCpu).toFixed(2),
        ])
      }
      console.log(`**${shape.label}** (median of ${ROUNDS} rounds)\n`)
      console.log(table(rows))
      console.log('')
    }
  } finally {
    for (const peer of running) peer.child.kill('SIGTERM')
  }
}

await main()
