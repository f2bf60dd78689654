// The check:packages summary: a package × check table, then every error and note in full.
export const checkNames = [
  'pack',
  'manifest',
  'install',
  '@x deps',
  'one copy',
  'import',
  'require',
  'esm=cjs',
  'node16-esm',
  'node16-cjs',
  'bundler',
  'publint',
  'attw',
] as const
export type CheckName = (typeof checkNames)[number]

export interface CheckOutcome {
  status: 'ok' | 'error' | 'skip'
  /** Why it failed, or why it was skipped. */
  errors: string[]
  /** Warnings and suggestions that do not fail the check. */
  notes: string[]
}

export interface PackageReport {
  name: string
  dir: string
  checks: Record<CheckName, CheckOutcome>
  ms: number
  /** Wall time of each phase (pack wait, install, probes, types…), for tuning. */
  phases: Record<string, number>
}

const statusText = { ok: 'ok', error: 'ERROR', skip: '-' } as const

/** The package × check table, then each error and note under its package and check. */
export function renderReports(reports: readonly PackageReport[]): string {
  const header = ['package', ...checkNames]
  const rows = reports.map((r) => [r.name, ...checkNames.map((c) => statusText[r.checks[c].status])])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]

  const section = (title: string, pick: (check: CheckName, r: PackageReport) => string[]) => {
    const lines: string[] = []
    for (const r of reports) {
      for (const check of checkNames) {
        for (const text of pick(check, r)) {
          lines.push(`  ${r.name} › ${check}: ${text.replace(/\n/g, '\n      ')}`)
        }
      }
    }
    if (lines.length > 0) out.push('', title, ...lines)
  }
  section('errors:', (c, r) => (r.checks[c].status === 'error' ? r.checks[c].errors : []))
  section('skipped:', (c, r) => (r.checks[c].status === 'skip' ? r.checks[c].errors : []))
  section('warnings and suggestions:', (c, r) => r.checks[c].notes)
  return out.join('\n')
}

export function countChecks(reports: readonly PackageReport[], status: 'ok' | 'error' | 'skip'): number {
  return reports.reduce((n, r) => n + checkNames.filter((c) => r.checks[c].status === status).length, 0)
}
