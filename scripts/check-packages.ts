// `pnpm check:packages`: proves each public package in packages/* installs and works outside
// this workspace (scripts/packaging/run.ts does the work), prints one table, and exits 1 on any
// error. Usage: check-packages.ts [--report file.json] [--keep] [package-dir ...]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkNames, countChecks, type PackageReport, renderReports } from './packaging/report.ts'
import { checkPackages, discoverPackages } from './packaging/run.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

interface Args {
  report: string | undefined
  keep: boolean
  dirs: string[]
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { report: undefined, keep: false, dirs: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--keep') args.keep = true
    else if (arg === '--report') args.report = argv[++i]
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`)
    else args.dirs.push(resolve(arg))
  }
  return args
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const workspace = discoverPackages(join(root, 'packages'))
  const selected = args.dirs.length === 0 ? workspace : workspace.filter((p) => args.dirs.includes(p.dir))
  if (args.dirs.length > 0 && selected.length !== args.dirs.length) {
    throw new Error(
      `not a package under packages/: ${args.dirs.filter((d) => !selected.some((p) => p.dir === d))}`,
    )
  }
  const privates = selected.filter((p) => p.manifest['private'] === true)
  const packages = selected.filter((p) => p.manifest['private'] !== true)
  if (packages.length === 0) throw new Error('no public package under packages/ to check')

  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>
  }
  const tmp = mkdtempSync(join(tmpdir(), 'x-check-packages-'))
  const started = performance.now()
  console.log(`checking ${plural(packages.length, 'package')} in ${tmp}`)
  for (const p of privates) console.log(`  ${p.name}: private, not published, not checked`)

  let reports: PackageReport[]
  try {
    reports = await checkPackages({
      packages,
      workspace,
      tmp,
      typesNodeRange: rootManifest.devDependencies['@types/node'] ?? '^20',
      onReport: (r) => {
        const errors = checkNames.filter((c) => r.checks[c].status !== 'ok').length
        const state = errors === 0 ? 'all ok' : `${errors} not ok`
        const phases = Object.entries(r.phases)
          .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
          .join(', ')
        console.log(`  ${r.name}: ${state} in ${(r.ms / 1000).toFixed(1)} s (${phases})`)
      },
    })
  } finally {
    if (!args.keep) rmSync(tmp, { recursive: true, force: true })
  }
  const seconds = (performance.now() - started) / 1000
  const ok = countChecks(reports, 'ok')
  const failed = countChecks(reports, 'error')
  const skippedChecks = countChecks(reports, 'skip')

  console.log(`\n${renderReports(reports)}\n`)
  const failedPackages = reports.filter((r) => checkNames.some((c) => r.checks[c].status !== 'ok'))
  console.log(
    `package checks: ${ok} ok, ${failed} failed, ${skippedChecks} skipped; ${plural(packages.length, 'package')} in ${seconds.toFixed(1)} s` +
      (failedPackages.length > 0 ? ` (failing: ${failedPackages.map((r) => r.name).join(', ')})` : ''),
  )
  if (args.keep) console.log(`consumer projects kept in ${tmp}`)
  else if (failedPackages.length > 0) console.log('rerun with --keep to inspect the consumer projects')

  if (args.report !== undefined) {
    const file = resolve(args.report)
    mkdirSync(dirname(file), { recursive: true })
    const report = {
      ok,
      failed,
      skipped: skippedChecks,
      seconds,
      packages: reports.map((r) => ({ ...r, dir: relative(root, r.dir) })),
    }
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  }
  return failedPackages.length > 0 ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(`check:packages could not run: ${error instanceof Error ? error.stack : String(error)}`)
    process.exitCode = 2
  },
)
