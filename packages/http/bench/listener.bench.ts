// Listener load benchmark: raw node:http, Fastify 5, Hono on @hono/node-server, Express 5 and
// the @x/http Listener, each in its own process, loaded by wrk (or autocannon, in this
// process) for (a) GET /hello and (b) POST /users/{id} with a JSON body and one filter.
// Every response is checked before timing; peers are interleaved in rounds; medians reported.
//
//   pnpm --filter @x/http bench [-- --rounds 3 --duration 5 --connections 50 --tool wrk|autocannon
//                                 --peers fastify,hono --cases a,b]   (node:http and the Listener always run)
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
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
const ROUNDS = Number(flag('rounds', '3'))
const DURATION = Number(flag('duration', '5'))
const WARMUP = Number(flag('warmup', '3'))
const CONNECTIONS = Number(flag('connections', '50'))
const hasWrk = spawnSync('wrk', ['--version']).error === undefined
const TOOL = flag('tool', hasWrk ? 'wrk' : 'autocannon')

const ALL_PEERS = [
  { id: 'node-http', label: 'node:http (raw)' },
  { id: 'listener', label: '@x/http Listener' },
  { id: 'fastify', label: 'Fastify 5' },
  { id: 'hono', label: 'Hono (node-server)' },
  { id: 'express', label: 'Express 5' },
] as const
const only = flag('peers', '')
const PEERS =
  only === ''
    ? ALL_PEERS
    : ALL_PEERS.filter((p) => p.id === 'node-http' || p.id === 'listener' || only.split(',').includes(p.id))

const BODY = '{"name":"ada","age":36}'
const ALL_CASES = [
  {
    id: 'a',
    label: '(a) GET /hello',
    method: 'GET',
    path: '/hello',
    headers: {} as Record<string, string>,
    body: undefined as string | undefined,
    status: 200,
    expect: { hello: 'world' } as unknown,
  },
  {
    id: 'b',
    label: '(b) POST /users/{id}, JSON body, 1 filter',
    method: 'POST',
    path: '/users/42',
    headers: { 'content-type': 'application/json', 'x-token': 'secret' },
    body: BODY as string | undefined,
    status: 201,
    expect: { id: 42, name: 'ada', by: 'ada' } as unknown,
  },
]
const CASES = ALL_CASES.filter((c) => flag('cases', 'a,b').split(',').includes(c.id))
type Case = (typeof ALL_CASES)[number]

interface Running {
  readonly id: string
  readonly label: string
  readonly port: number
  readonly child: ChildProcess
}

function startPeer(id: string, label: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'server.ts'), id], {
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

/** Checks that a peer answers the case exactly as specified; a wrong peer is not timed. */
async function verify(peer: Running, c: Case): Promise<void> {
  const res = await request(`http://127.0.0.1:${peer.port}${c.path}`, {
    method: c.method as 'GET',
    headers: c.headers,
    body: c.body ?? null,
  })
  const body = await res.body.json()
  if (res.statusCode !== c.status || JSON.stringify(body) !== JSON.stringify(c.expect)) {
    throw new Error(`${peer.label} answered ${c.label} with ${res.statusCode} ${JSON.stringify(body)}`)
  }
  if (c.id === 'b') {
    const denied = await request(`http://127.0.0.1:${peer.port}${c.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: c.body ?? null,
    })
    await denied.body.dump()
    if (denied.statusCode !== 401)
      throw new Error(`${peer.label} did not run the filter (status ${denied.statusCode})`)
  }
}

interface Sample {
  readonly rps: number
  readonly p99ms: number
  /** Server CPU time per request in µs: unlike req/s, barely moved by other load on the machine. */
  readonly cpuUs: number
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

let luaFile: string | undefined
function wrkScript(c: Case): string | undefined {
  if (c.body === undefined) return undefined
  luaFile ??= join(tmpdir(), `x-http-bench-${process.pid}.lua`)
  const headers = Object.entries(c.headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n')
  writeFileSync(luaFile, `wrk.method = "${c.method}"\nwrk.body = ${JSON.stringify(c.body)}\n${headers}\n`)
  return luaFile
}

function parseDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim())
  if (!m) return Number.NaN
  const v = Number(m[1])
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000
}

async function load(peer: Running, c: Case, seconds: number): Promise<Sample> {
  const before = cpuMs(peer.child.pid!)
  const s = await generate(peer, c, seconds)
  const used = cpuMs(peer.child.pid!) - before
  return { ...s, cpuUs: (used * 1000) / (s.rps * seconds) }
}

async function generate(peer: Running, c: Case, seconds: number): Promise<Omit<Sample, 'cpuUs'>> {
  const url = `http://127.0.0.1:${peer.port}${c.path}`
  if (TOOL === 'wrk') {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency']
    const script = wrkScript(c)
    if (script !== undefined) args.push('-s', script)
    const { stdout } = await run('wrk', [...args, url])
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
    const p99 = parseDuration(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '')
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)
    if (non2xx) throw new Error(`${peer.label}: ${non2xx[1]} non-2xx responses under load`)
    return { rps, p99ms: p99 }
  }
  const result = await autocannon({
    url,
    method: c.method as 'GET',
    headers: c.headers,
    ...(c.body === undefined ? {} : { body: c.body }),
    connections: CONNECTIONS,
    duration: seconds,
  })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${peer.label}: errors under load`)
  return { rps: result.requests.average, p99ms: result.latency.p99 }
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
    `load: ${TOOL}, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${DURATION}s per peer and case, ${WARMUP}s warm-up\n`,
  )
  const running: Running[] = []
  try {
    for (const p of PEERS) running.push(await startPeer(p.id, p.label))
    for (const peer of running) for (const c of CASES) await verify(peer, c)
    for (const peer of running) for (const c of CASES) await load(peer, c, WARMUP)
    const samples = new Map<string, Sample[]>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CASES) {
        // Rotate the order each round so no peer always runs first or last.
        const order = running.map((_, i) => running[(i + round) % running.length]!)
        for (const peer of order) {
          const s = await load(peer, c, DURATION)
          const key = `${c.id} ${peer.id}`
          samples.set(key, [...(samples.get(key) ?? []), s])
          process.stdout.write(
            `round ${round + 1} ${c.id} ${peer.id}: ${Math.round(s.rps)} req/s, p99 ${s.p99ms.toFixed(2)} ms, ${s.cpuUs.toFixed(1)} µs CPU/req\n`,
          )
        }
      }
    }
    console.log('')
    for (const c of CASES) {
      const base = median(samples.get(`${c.id} node-http`)!.map((s) => s.rps))
      const mine = median(samples.get(`${c.id} listener`)!.map((s) => s.rps))
      const baseCpu = median(samples.get(`${c.id} node-http`)!.map((s) => s.cpuUs))
      const rows = [['peer', 'req/s', 'p99 ms', '× node:http', '× Listener', 'CPU µs/req', 'CPU × node:http']]
      for (const peer of running) {
        const list = samples.get(`${c.id} ${peer.id}`)!
        const rps = median(list.map((s) => s.rps))
        const p99 = median(list.map((s) => s.p99ms))
        const cpu = median(list.map((s) => s.cpuUs))
        rows.push([
          peer.label,
          String(Math.round(rps)),
          p99.toFixed(2),
          (rps / base).toFixed(2),
          (rps / mine).toFixed(2),
          cpu.toFixed(1),
          (cpu / baseCpu).toFixed(2),
        ])
      }
      console.log(`**${c.label}** (median of ${ROUNDS} rounds)\n`)
      console.log(table(rows))
      console.log('')
    }
  } finally {
    for (const peer of running) peer.child.kill('SIGTERM')
  }
}

await main()
