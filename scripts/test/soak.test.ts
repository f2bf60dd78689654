// The shortened soak: the same scenarios as `pnpm soak`, a few seconds each, run as their own
// process tree (programs, load generator, redis-server) on loopback.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScenarioResult } from '../soak/scenarios.ts'

const dir = mkdtempSync(join(tmpdir(), 'x-soak-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function shortSoak(): Promise<{ code: number | null; results: ScenarioResult[]; output: string }> {
  const out = join(dir, 'results.json')
  const child = spawn(
    process.execPath,
    [
      '--conditions=@x/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('../soak/soak.ts', import.meta.url)),
      '--short',
      '--json',
      out,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, results: JSON.parse(readFileSync(out, 'utf8')) as ScenarioResult[], output }
}

describe('pnpm soak --short', () => {
  it('passes every check of every scenario and prints the summary table', { timeout: 150_000 }, async () => {
    const { code, results, output } = await shortSoak()
    const failed = results.flatMap((r) =>
      r.checks.filter((c) => !c.ok).map((c) => `${r.scenario}: ${c.name}: ${c.detail}`),
    )
    expect(failed, output).toEqual([])
    expect(results.map((r) => r.scenario)).toEqual([
      'sustained load',
      'proxy under faults',
      'graceful stop',
      'Redis restart',
    ])
    expect(output).toMatch(/\| scenario \| result \| requests \| failed \| req\/s \| p99 ms \| figures \|/)
    expect(code).toBe(0)
    // The proxy scenario logged the breakers' transitions as they happened.
    const proxy = results.find((r) => r.scenario === 'proxy under faults')!
    expect(proxy.log.some((line) => line.includes('closed → open'))).toBe(true)
    expect(proxy.log.some((line) => line.includes('half-open → closed'))).toBe(true)
  })
})
