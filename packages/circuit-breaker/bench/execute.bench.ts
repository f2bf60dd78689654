// execute() on the closed path against opossum 9 (with and without its per-call action
// timer) and cockatiel 3, all in one process, interleaved in rounds. Run: pnpm bench.
import { cpus } from 'node:os'
import { baseline } from './peers/baseline.ts'
import { cockatielConsecutive, cockatielSampling } from './peers/cockatiel.ts'
import { opossumNoTimer, opossumTimer } from './peers/opossum.ts'
import type { Action, BreakerPeer, PeerAdapter } from './peers/types.ts'
import { xBreaker } from './peers/x-circuit-breaker.ts'

const peers: PeerAdapter[] = [
  xBreaker,
  opossumTimer,
  opossumNoTimer,
  cockatielSampling,
  cockatielConsecutive,
  baseline,
]
const gc = (globalThis as { gc?: () => void }).gc
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const CALLS = Number(process.env.CALLS ?? 100_000)

type Timer = (peer: BreakerPeer, calls: number) => Promise<number>
/** One timing loop per peer, each compiled from its own source, so no call site turns megamorphic. */
function makeTimer(): Timer {
  return new Function(
    'peer',
    'calls',
    `return (async () => {
      let sink = 0
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < calls; i++) sink += await peer.call()
      const ns = Number(process.hrtime.bigint() - t0) / calls
      if (sink !== calls) throw new Error('a breaker returned a wrong value: ' + sink)
      return ns
    })()`,
  ) as Timer
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

const workloads: Array<{ name: string; action: Action }> = [
  { name: 'async action (returns a resolved promise)', action: () => Promise.resolve(1) },
  { name: 'sync action (returns a value)', action: () => 1 },
]

console.log(
  `@x/circuit-breaker execute() benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  `ns per call (closed, every call succeeds), median of ${ROUNDS} rounds of ${CALLS} awaited calls; ×N = the peer takes N times as long as @x\n`,
)

for (const workload of workloads) {
  const live = peers.map((p) => ({ adapter: p, peer: p.make(workload.action), timer: makeTimer() }))
  // Warm-up: every peer runs until V8 has optimised its path.
  for (const { peer, timer } of live) await timer(peer, CALLS)
  const samples = new Map<string, number[]>(live.map(({ adapter }) => [adapter.name, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? live : live.slice().reverse()
    for (const { adapter, peer, timer } of order) {
      gc?.()
      samples.get(adapter.name)!.push(await timer(peer, CALLS))
    }
  }
  for (const { peer } of live) peer.close()
  const x = median(samples.get(xBreaker.name)!)
  const base = median(samples.get(baseline.name)!)
  console.log(`**${workload.name}**\n`)
  console.log('| breaker | ns/call | × @x | added over no breaker (ns) |')
  console.log('|---|---|---|---|')
  for (const p of peers) {
    const ns = median(samples.get(p.name)!)
    const ratio = p === xBreaker ? '1.00' : (ns / x).toFixed(2)
    console.log(
      `| ${p.name} | ${ns.toFixed(0)} | ${ratio} | ${p === baseline ? '—' : (ns - base).toFixed(0)} |`,
    )
  }
  console.log()
}
