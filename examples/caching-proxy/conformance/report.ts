// Prints how many scenarios pass, per kind, through the caching proxy, and why the others do
// not: `pnpm --dir examples/caching-proxy conformance` (VERBOSE=1 lists every non-pass).
// Other caches are not measured here: the harness moves a clock only our cache reads, so the
// public suite itself, with real pauses, is the fair comparison.
import { createCachingProxy } from '../proxy.ts'
import { Clock, type Outcome, runScenario, type Scenario, ScriptedOrigin } from './engine.ts'
import scenarios from './scenarios.ts'

async function measure(
  name: string,
  start: (origin: string, clock: Clock) => Promise<{ port: number; close(): Promise<void> }>,
) {
  const clock = new Clock()
  const origin = new ScriptedOrigin(clock)
  await origin.start()
  const subject = await start(origin.url, clock)
  const results = new Map<Scenario, Outcome>()
  for (const s of scenarios) results.set(s, await runScenario(s, origin, subject.port, clock))
  await subject.close()
  await origin.stop()
  console.log(`\n${name}`)
  for (const kind of ['required', 'optimal', 'check'] as const) {
    const own = [...results].filter(([s]) => s.kind === kind)
    const pass = own.filter(([, o]) => o.kind === 'pass').length
    const setup = own.filter(([, o]) => o.kind === 'setup').length
    console.log(
      `  ${kind.padEnd(8)} ${pass}/${own.length} pass${setup > 0 ? `, ${setup} could not be set up` : ''}`,
    )
  }
  if (process.env.VERBOSE !== undefined) {
    for (const [s, o] of results) if (o.kind !== 'pass') console.log(`    ${s.kind} ${s.id}: ${o.reason}`)
  }
}

await measure('@x caching proxy (Listener + Client with @x/cache, shared)', async (origin, clock) => {
  const p = createCachingProxy({ origin, port: 0, now: clock.now })
  await p.start()
  return { port: p.port, close: () => p.stop() }
})
