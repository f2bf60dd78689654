import { describe, expect, it } from 'vitest'
import {
  type CheckOutcome,
  checkNames,
  countChecks,
  type PackageReport,
  renderReports,
} from '../packaging/report.ts'

function report(name: string, failing: Partial<Record<string, CheckOutcome>> = {}): PackageReport {
  const ok: CheckOutcome = { status: 'ok', errors: [], notes: [] }
  const checks = Object.fromEntries(checkNames.map((c) => [c, failing[c] ?? ok])) as PackageReport['checks']
  return { name, dir: `packages/${name}`, checks, ms: 1, phases: {} }
}

describe('renderReports', () => {
  const reports = [
    report('@x/router'),
    report('@x/cache', {
      attw: { status: 'error', errors: ['FalseESM'], notes: [] },
      publint: { status: 'ok', errors: [], notes: ['USE_LICENSE'] },
      'esm=cjs': { status: 'skip', errors: ['require failed'], notes: [] },
    }),
  ]
  const lines = renderReports(reports).split('\n')

  it('prints one row per package with one cell per check', () => {
    const row = lines.find((l) => l.startsWith('@x/cache'))!.split(/\s+/)
    expect(row).toHaveLength(checkNames.length + 1)
    expect(row[checkNames.indexOf('attw') + 1]).toBe('ERROR')
    expect(row[checkNames.indexOf('esm=cjs') + 1]).toBe('-')
    expect(
      lines
        .find((l) => l.startsWith('@x/router'))!
        .split(/\s+/)
        .slice(1),
    ).toEqual(checkNames.map(() => 'ok'))
  })

  it('lists each error, skip reason and note under its package and check', () => {
    const at = (title: string, line: string) =>
      lines.indexOf(line) > lines.indexOf(title) && lines.indexOf(title) > 0
    expect(at('errors:', '  @x/cache › attw: FalseESM')).toBe(true)
    expect(at('skipped:', '  @x/cache › esm=cjs: require failed')).toBe(true)
    expect(at('warnings and suggestions:', '  @x/cache › publint: USE_LICENSE')).toBe(true)
  })

  it('counts cells by status', () => {
    expect(countChecks(reports, 'error')).toBe(1)
    expect(countChecks(reports, 'skip')).toBe(1)
    expect(countChecks(reports, 'ok')).toBe(2 * checkNames.length - 2)
  })
})
