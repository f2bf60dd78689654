// `pnpm soak`: runs the soak and fault scenarios on loopback and prints a summary table.
// `--short` runs the same code in seconds (the test suite does); `--only a,b` picks
// scenarios; `--json <file>` writes the results. Exits 1 when a check failed.
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { FULL, SCENARIOS, type ScenarioResult, SHORT } from './scenarios.ts'

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : (args[i + 1] ?? '')
}
const profile = args.includes('--short') ? SHORT : FULL
const only = flag('--only')?.split(',')
const names = (Object.keys(SCENARIOS) as Array<keyof typeof SCENARIOS>).filter(
  (n) => only === undefined || only.includes(n),
)

const results: ScenarioResult[] = []
for (const name of names) {
  process.stdout.write(`soak: ${name} (${profile.name})…\n`)
  try {
    const r = await SCENARIOS[name](profile)
    results.push(r)
    for (const line of r.log) process.stdout.write(`  ${line}\n`)
    for (const c of r.checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`)
  } catch (e) {
    results.push({
      scenario: name,
      ok: false,
      requests: 0,
      failed: 0,
      rate: 0,
      p99: 0,
      notes: `crashed: ${(e as Error).stack ?? String(e)}`,
      checks: [{ name: 'ran', ok: false, detail: String(e) }],
      log: [],
    })
    process.stdout.write(`  FAIL crashed: ${(e as Error).stack ?? String(e)}\n`)
  }
}

const rows = results.map((r) => [
  r.scenario,
  r.ok ? 'pass' : 'FAIL',
  String(r.requests),
  String(r.failed),
  String(r.rate),
  r.p99.toFixed(1),
  r.notes,
])
const header = ['scenario', 'result', 'requests', 'failed', 'req/s', 'p99 ms', 'figures']
const table = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
process.stdout.write(
  `\n${table}\n\n${profile.name} soak, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`,
)
const out = flag('--json')
if (out !== undefined) writeFileSync(out, JSON.stringify(results, null, 2))
process.exitCode = results.every((r) => r.ok) ? 0 : 1
