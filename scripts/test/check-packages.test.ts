import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CheckName, checkNames, type PackageReport } from '../packaging/report.ts'
import { checkPackages, discoverPackages } from '../packaging/run.ts'
import { fixtures, writeFixtures } from './fixtures.ts'

const rootManifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  devDependencies: Record<string, string>
}

describe('checkPackages on fixture packages', () => {
  const base = mkdtempSync(join(tmpdir(), 'x-check-packages-test-'))
  const reports = new Map<string, PackageReport>()

  beforeAll(async () => {
    writeFixtures(join(base, 'packages'))
    const workspace = discoverPackages(join(base, 'packages'))
    const results = await checkPackages({
      packages: workspace,
      workspace,
      tmp: join(base, 'tmp'),
      typesNodeRange: rootManifest.devDependencies['@types/node']!,
      wiring: new Set(fixtures.filter((f) => f.wiring === true).map((f) => f.name)),
    })
    for (const report of results) reports.set(report.name, report)
  })

  afterAll(() => {
    rmSync(base, { recursive: true, force: true })
  })

  const errorsOf = (name: string, check: CheckName) => reports.get(name)!.checks[check].errors.join('\n')

  it.each(fixtures.map((f) => ({ ...f, name: f.title, pkg: f.name })))('$name', ({ pkg, notOk }) => {
    const report = reports.get(pkg)
    expect(report).toBeDefined()
    const statuses = Object.fromEntries(
      checkNames.filter((c) => report!.checks[c].status !== 'ok').map((c) => [c, report!.checks[c].status]),
    )
    expect(statuses).toEqual(notOk)
  })

  it('checks declarations against each build: the CommonJS consumer sees the CommonJS-only export', () => {
    expect(errorsOf('@x/fixture-mismatched', 'esm=cjs')).toContain('onlyInCjs')
    for (const mode of ['node16-esm', 'bundler'] as const) {
      expect(errorsOf('@x/fixture-mismatched', mode)).toContain('phantom')
      expect(errorsOf('@x/fixture-mismatched', mode)).not.toContain('onlyInCjs')
    }
    expect(errorsOf('@x/fixture-mismatched', 'node16-cjs')).toContain('phantom')
    expect(errorsOf('@x/fixture-mismatched', 'node16-cjs')).toContain('onlyInCjs')
  })

  it('names the attw problem when require resolves to an ES module', () => {
    expect(errorsOf('@x/fixture-masquerade', 'attw')).toContain('CJSResolvesToESM')
    expect(errorsOf('@x/fixture-masquerade', 'node16-cjs')).toContain('TS1479')
  })

  it('lists the node10 miss of a subpath as a note, not an error', () => {
    const attw = reports.get('@x/fixture-good')!.checks.attw
    expect(attw.status).toBe('ok')
    expect(attw.notes.join('\n')).toContain('NoResolution')
  })
})
