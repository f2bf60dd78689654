// Cluster bench: the same Listener in one process and forked into workers (`workers: 2`
// and `'auto'`), loaded by wrk (another process) with GET /hello. Peers are interleaved in
// rounds after a warm-up; medians of req/s and p99 are reported with the ratio to one process.
//
//   pnpm --filter @x/http bench:cluster [-- --rounds 3 --duration 5 --connections 64 --threads 1]
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const server = fileURLToPath(new URL('./cluster-server.ts', import.meta.url))
function flag(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : (process.argv[i + 1] ?? def)
}
const ROUNDS = Number(flag('rounds', '3'))
const DURATION = Number(flag('duration', '5'))
const CONNECTIONS = Number(flag('connections', '64'))
const THREADS = Number(flag('threads', '1'))

const PEERS = [
  { id: 'single', label: 'one process', workers: 0 },
  { id: 'workers-2', label: 'workers: 2', workers: 2 },
  ...(availableParallelism() === 2
    ? []
    : [
        { id: 'auto', label: `workers: 'auto' (${availableParallelism()})`, workers: availableParallelism() },
      ]),
]

async function start(workers: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--conditions=@x/source', '--import', 'tsx', server], {
    env: { ...process.env, WORKERS: String(workers) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /ready (\d+)/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  return { child, port }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

/** One wrk run: requests per second and p99 latency in ms. */
async function wrk(port: number, seconds: number): Promise<{ rps: number; p99: number }> {
  const { stdout } = await run('wrk', [
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--latency',
    `http://127.0.0.1:${port}/hello`,
  ])
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)
  const m = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout)
  const p99 = m === null ? 0 : Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors:\n${stdout}`)
  return { rps, p99 }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const results = new Map<string, { rps: number[]; p99: number[] }>(
  PEERS.map((p) => [p.id, { rps: [], p99: [] }]),
)

for (let round = 0; round <= ROUNDS; round++) {
  for (const peer of PEERS) {
    const { child, port } = await start(peer.workers)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/hello`)
      if (res.status !== 200 || (await res.text()) !== '{"hello":"world"}')
        throw new Error(`${peer.id} answered wrong`)
      await wrk(port, 2) // warm-up: JIT and connections
      if (round === 0) continue // round 0 only warms the machine up
      const r = await wrk(port, DURATION)
      results.get(peer.id)!.rps.push(r.rps)
      results.get(peer.id)!.p99.push(r.p99)
    } finally {
      await stop(child)
    }
  }
}

const base = median(results.get('single')!.rps)
const rows = PEERS.map((p) => {
  const r = results.get(p.id)!
  const rps = median(r.rps)
  return `| ${p.label} | ${Math.round(rps).toLocaleString('en-US')} | ${median(r.p99).toFixed(2)} | ${(rps / base).toFixed(2)}× |`
})
process.stdout.write(
  [
    '',
    `GET /hello, wrk -t${THREADS} -c${CONNECTIONS}, ${DURATION} s × ${ROUNDS} rounds (medians); Node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    '',
    '| server | req/s | p99 ms | vs one process |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
)
