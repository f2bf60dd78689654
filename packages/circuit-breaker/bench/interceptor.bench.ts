// The interceptor's cost: (1) requests to a keep-alive backend in another process, undici
// Agent with the breaker vs the same Agent without; (2) the dispatch path alone, in process.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { cpus } from 'node:os'
import { circuitBreaker } from '@x/circuit-breaker'
import { Agent, type Dispatcher, request } from 'undici'

const gc = (globalThis as { gc?: () => void }).gc
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const REQUESTS = Number(process.env.REQUESTS ?? 10_000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)
const DISPATCHES = Number(process.env.DISPATCHES ?? 2_000_000)

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

function percentile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!
}

console.log(
  `@x/circuit-breaker interceptor benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}\n`,
)

// --- 1. over the network -------------------------------------------------------------
const child = fork(new URL('./backend.mjs', import.meta.url), { stdio: 'inherit' })
const [{ port }] = (await once(child, 'message')) as [{ port: number }]
const url = `http://127.0.0.1:${port}/`

type Peer = { name: string; dispatcher: Dispatcher; close: () => Promise<void> }
function agent(): Agent {
  return new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000, pipelining: 1 })
}
const plain = agent()
const guarded = agent()
const composed = agent()
// undici's compose() wraps every handler of a composed agent (and converts headers back and
// forth for old-style handlers such as request()'s), whatever the interceptor does; a
// pass-through interceptor shows that share apart from the breaker's own.
const passThrough = (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch => dispatch
const peers: Peer[] = [
  {
    name: 'Agent + circuitBreaker()',
    dispatcher: guarded.compose(circuitBreaker()),
    close: () => guarded.close(),
  },
  {
    name: 'Agent + pass-through interceptor',
    dispatcher: composed.compose(passThrough),
    close: () => composed.close(),
  },
  { name: 'Agent alone', dispatcher: plain, close: () => plain.close() },
]

/** Sends `REQUESTS` requests, `CONCURRENCY` at a time; returns ns per request and each latency. */
async function load(dispatcher: Dispatcher): Promise<{ nsPerRequest: number; latencies: number[] }> {
  const latencies: number[] = []
  let next = 0
  const worker = async () => {
    while (next < REQUESTS) {
      next++
      const t0 = process.hrtime.bigint()
      const res = await request(url, { dispatcher })
      await res.body.text()
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
      latencies.push(Number(process.hrtime.bigint() - t0))
    }
  }
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { nsPerRequest: Number(process.hrtime.bigint() - t0) / REQUESTS, latencies }
}

for (const p of peers) await load(p.dispatcher) // warm-up: connections open, code optimised
const throughput = new Map<string, number[]>(peers.map((p) => [p.name, []]))
const p99s = new Map<string, number[]>(peers.map((p) => [p.name, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const p of r % 2 === 0 ? peers : peers.slice().reverse()) {
    gc?.()
    const { nsPerRequest, latencies } = await load(p.dispatcher)
    throughput.get(p.name)!.push(nsPerRequest)
    p99s.get(p.name)!.push(percentile(latencies, 0.99))
  }
}
for (const p of peers) await p.close()
child.disconnect()

console.log(
  `**keep-alive backend in another process** — ${REQUESTS} requests per round, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds\n`,
)
console.log(
  '| client | ns/request | req/s | p99 latency (µs) | throughput vs Agent alone | vs pass-through |',
)
console.log('|---|---|---|---|---|---|')
const baseNs = median(throughput.get('Agent alone')!)
const passNs = median(throughput.get('Agent + pass-through interceptor')!)
for (const p of peers) {
  const ns = median(throughput.get(p.name)!)
  console.log(
    `| ${p.name} | ${ns.toFixed(0)} | ${(1e9 / ns).toFixed(0)} | ${(median(p99s.get(p.name)!) / 1000).toFixed(0)} | ${(baseNs / ns).toFixed(3)}× | ${(passNs / ns).toFixed(3)}× |`,
  )
}
console.log()

// --- 2. the dispatch path alone --------------------------------------------------------
// A terminal dispatch that runs the whole handler lifecycle synchronously, so the table
// shows what the interceptor itself costs per request, without a socket in the way.
const controller: Dispatcher.DispatchController = {
  aborted: false,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
}
const headers = { 'content-length': '11' }
const chunk = Buffer.from('{"ok":true}')
const terminal: Dispatcher.Dispatch = (_opts, handler) => {
  handler.onRequestStart?.(controller, {})
  handler.onResponseStart?.(controller, 200, headers, 'OK')
  handler.onResponseData?.(controller, chunk)
  handler.onResponseEnd?.(controller, {})
  return true
}
const sink: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError(_c, error) {
    throw error
  },
}
const opts: Dispatcher.DispatchOptions = { origin: 'http://127.0.0.1:1', path: '/', method: 'GET' }
const dispatches: Array<{ name: string; dispatch: Dispatcher.Dispatch }> = [
  { name: 'through circuitBreaker()', dispatch: circuitBreaker()(terminal) },
  { name: 'straight to the dispatcher', dispatch: terminal },
]
const timeDispatch = (dispatch: Dispatcher.Dispatch): number => {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < DISPATCHES; i++) dispatch(opts, sink)
  return Number(process.hrtime.bigint() - t0) / DISPATCHES
}
for (const d of dispatches) timeDispatch(d.dispatch)
const dispatchNs = new Map<string, number[]>(dispatches.map((d) => [d.name, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const d of r % 2 === 0 ? dispatches : dispatches.slice().reverse()) {
    gc?.()
    dispatchNs.get(d.name)!.push(timeDispatch(d.dispatch))
  }
}
console.log(`**dispatch path alone** — ${DISPATCHES} dispatches per round, median of ${ROUNDS} rounds\n`)
console.log('| path | ns/dispatch |')
console.log('|---|---|')
for (const d of dispatches) console.log(`| ${d.name} | ${median(dispatchNs.get(d.name)!).toFixed(0)} |`)
const added = median(dispatchNs.get(dispatches[0]!.name)!) - median(dispatchNs.get(dispatches[1]!.name)!)
console.log(
  `\nThe interceptor adds ${added.toFixed(0)} ns per request (a key lookup, one handler object, one clock read).`,
)
