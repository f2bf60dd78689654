// Runs every packaging check on the public packages of packages/*: pack with pnpm, lint the
// tarball (manifest rules, publint, attw), install it with npm into a throw-away project, then
// import, require and type-check it there. Rendering and exit codes belong to the CLI.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { checkPackage, createPackageFromTarballData, type Package } from '@arethetypeswrong/core'
import { problemKindInfo } from '@arethetypeswrong/core/problems'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import {
  createConsumer,
  npmInstall,
  type ProbeEntry,
  type ProbeResult,
  probe,
  readInstallTree,
} from './consumer.ts'
import { checkPackedManifest, moduleSubpaths } from './manifest.ts'
import { limiter, run, tail } from './proc.ts'
import { type CheckName, type CheckOutcome, checkNames, type PackageReport } from './report.ts'
import { checkTypes, type TypedEntry, typeModes } from './types.ts'
import { checkSharedCopies, checkXDeps, sharedLibraries } from './x-deps.ts'

export interface WorkspacePackage {
  name: string
  dir: string
  manifest: Record<string, unknown>
}

/** The packages ARCHITECTURE.md allows to depend on other @x packages; every other one is a leaf. */
export const wiringPackages: ReadonlySet<string> = new Set(['@x/http'])

/** Every package directory under `packagesDir` with a package.json, sorted by directory. */
export function discoverPackages(packagesDir: string): WorkspacePackage[] {
  const found: WorkspacePackage[] = []
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    const dir = join(packagesDir, entry.name)
    if (!entry.isDirectory() || !existsSync(join(dir, 'package.json'))) continue
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>
    found.push({ name: String(manifest['name']), dir, manifest })
  }
  return found.sort((a, b) => a.dir.localeCompare(b.dir))
}

const depFields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const

function depsOf(
  manifest: Record<string, unknown>,
  field: (typeof depFields)[number],
): Record<string, string> {
  const deps = manifest[field]
  return deps !== null && typeof deps === 'object' ? (deps as Record<string, string>) : {}
}

/** The @x packages `name` needs installed next to it, transitively, itself excluded. */
function xClosure(name: string, byName: ReadonlyMap<string, WorkspacePackage>): string[] {
  const seen = new Set<string>()
  const visit = (current: string) => {
    const pkg = byName.get(current)
    if (pkg === undefined) return
    for (const field of depFields) {
      for (const dep of Object.keys(depsOf(pkg.manifest, field))) {
        if (dep.startsWith('@x/') && dep !== name && !seen.has(dep)) {
          seen.add(dep)
          visit(dep)
        }
      }
    }
  }
  visit(name)
  return [...seen].sort()
}

/**
 * The shared libraries `name` needs at run time: those its own or its @x dependencies'
 * `dependencies` or required `peerDependencies` name. Optional peers are not needed.
 */
function requiredShared(name: string, byName: ReadonlyMap<string, WorkspacePackage>): string[] {
  const needed = new Set<string>()
  for (const current of [name, ...xClosure(name, byName)]) {
    const manifest = byName.get(current)?.manifest
    if (manifest === undefined) continue
    const optional = (manifest['peerDependenciesMeta'] ?? {}) as Record<string, { optional?: boolean }>
    for (const dep of Object.keys(depsOf(manifest, 'dependencies'))) needed.add(dep)
    for (const dep of Object.keys(depsOf(manifest, 'peerDependencies'))) {
      if (optional[dep]?.optional !== true) needed.add(dep)
    }
  }
  return sharedLibraries.filter((library) => needed.has(library))
}

interface Packed {
  tarball: string
  bytes: Uint8Array
  files: string[]
  manifest: Record<string, unknown>
  attwPackage: Package
}

async function pack(pkg: WorkspacePackage, destination: string): Promise<Packed> {
  const result = await run('pnpm', ['pack', '--json', '--pack-destination', destination], {
    cwd: pkg.dir,
    timeoutMs: 120_000,
  })
  if (result.code !== 0) throw new Error(`pnpm pack failed:\n${tail(result)}`)
  const json = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
    filename: string
    files: { path: string }[]
  }
  const bytes = new Uint8Array(readFileSync(json.filename))
  const attwPackage = createPackageFromTarballData(bytes)
  const manifest = JSON.parse(attwPackage.readFile(`/node_modules/${pkg.name}/package.json`)) as Record<
    string,
    unknown
  >
  return { tarball: json.filename, bytes, files: json.files.map((f) => f.path), manifest, attwPackage }
}

async function runPublint(packed: Packed): Promise<CheckOutcome> {
  const buffer = packed.bytes.buffer.slice(
    packed.bytes.byteOffset,
    packed.bytes.byteOffset + packed.bytes.byteLength,
  ) as ArrayBuffer
  const { messages, pkg } = await publint({ pack: { tarball: buffer }, strict: true, level: 'suggestion' })
  const errors: string[] = []
  const notes: string[] = []
  for (const message of messages) {
    const text = `${message.code}: ${formatMessage(message, pkg, { color: false }) ?? message.path.join('.')}`
    ;(message.type === 'suggestion' ? notes : errors).push(text)
  }
  return outcome(errors, notes)
}

async function runAttw(packed: Packed): Promise<CheckOutcome> {
  const analysis = await checkPackage(packed.attwPackage)
  if (!analysis.types) return outcome(['the package ships no types'])
  const errors: string[] = []
  const notes: string[] = []
  for (const problem of analysis.problems) {
    const info = problemKindInfo[problem.kind]
    const fields = problem as unknown as Record<string, unknown>
    const where = ['entrypoint', 'resolutionKind', 'typesFileName', 'implementationFileName', 'fileName']
      .flatMap((key) => (typeof fields[key] === 'string' ? [`${key} ${fields[key]}`] : []))
      .join(', ')
    const text = `${problem.kind} (${info.title}): ${where}. ${info.docsUrl}`
    // TypeScript's node10 resolution predates `exports` and never sees a subpath such as
    // `@x/cache/redis`; node16 and bundler users do. The root entry must still work there.
    const node10Subpath =
      problem.kind === 'NoResolution' && fields['resolutionKind'] === 'node10' && fields['entrypoint'] !== '.'
    ;(node10Subpath ? notes : errors).push(text)
  }
  return outcome(errors, notes)
}

function outcome(errors: string[], notes: string[] = []): CheckOutcome {
  return { status: errors.length > 0 ? 'error' : 'ok', errors, notes }
}

const skipped = (reason: string): CheckOutcome => ({ status: 'skip', errors: [reason], notes: [] })

function failure(error: unknown): CheckOutcome {
  return outcome([error instanceof Error ? error.message : String(error)])
}

export interface CheckPackagesOptions {
  /** The packages to check (public ones; private ones are not published). */
  packages: readonly WorkspacePackage[]
  /** Every workspace package, to find the tarballs of @x dependencies. */
  workspace: readonly WorkspacePackage[]
  /** An empty scratch directory outside the workspace. */
  tmp: string
  /** The `@types/node` range consumers compile with. */
  typesNodeRange: string
  /** The packages allowed to depend on other @x packages; defaults to {@link wiringPackages}. */
  wiring?: ReadonlySet<string>
  /** Called as each package finishes. */
  onReport?: (report: PackageReport) => void
}

/** Runs every check on every package; resolves with one report per package, in input order. */
export async function checkPackages(options: CheckPackagesOptions): Promise<PackageReport[]> {
  const { tmp } = options
  const tarballs = join(tmp, 'tarballs')
  const typesDir = join(tmp, 'types')
  mkdirSync(tarballs, { recursive: true })
  const byName = new Map(options.workspace.map((p) => [p.name, p]))

  // One @types/node for every consumer's compile, installed while the packages are packed.
  createConsumer(typesDir, 'x-packaging-types')
  const typesReady = npmInstall(typesDir, [`@types/node@${options.typesNodeRange}`]).then((result) => {
    if (result.code !== 0) throw new Error(`installing @types/node failed:\n${tail(result)}`)
  })
  typesReady.catch(() => {}) // observed by each package that awaits it

  // Pack every package under check and every @x package they need, each once.
  const toPack = new Set<string>()
  for (const pkg of options.packages) {
    toPack.add(pkg.name)
    for (const dep of xClosure(pkg.name, byName)) toPack.add(dep)
  }
  const packing = new Map<string, Promise<Packed>>()
  const packSlot = limiter(4)
  for (const name of toPack) {
    const pkg = byName.get(name)
    if (pkg === undefined || pkg.manifest['private'] === true) continue
    const job = packSlot(() => pack(pkg, tarballs))
    job.catch(() => {}) // observed below
    packing.set(name, job)
  }

  const pipelineSlot = limiter(Math.max(2, availableParallelism()) + 1)
  const reports = options.packages.map((pkg) =>
    pipelineSlot(async () => {
      const started = performance.now()
      const phases: Record<string, number> = {}
      const checks = await checkOne(pkg, { ...options, byName, packing, typesReady, typesDir, phases })
      const ms = performance.now() - started
      const report: PackageReport = { name: pkg.name, dir: pkg.dir, checks, ms, phases }
      options.onReport?.(report)
      return report
    }),
  )
  return Promise.all(reports)
}

interface Context extends CheckPackagesOptions {
  byName: ReadonlyMap<string, WorkspacePackage>
  packing: ReadonlyMap<string, Promise<Packed>>
  typesReady: Promise<void>
  typesDir: string
  phases: Record<string, number>
}

async function timed<T>(
  phases: Record<string, number>,
  phase: string,
  work: () => Promise<T> | T,
): Promise<T> {
  const started = performance.now()
  try {
    return await work()
  } finally {
    phases[phase] = (phases[phase] ?? 0) + performance.now() - started
  }
}

async function checkOne(pkg: WorkspacePackage, ctx: Context): Promise<Record<CheckName, CheckOutcome>> {
  const checks = Object.fromEntries(checkNames.map((n) => [n, skipped('not run')])) as Record<
    CheckName,
    CheckOutcome
  >
  const skipFrom = (names: readonly CheckName[], reason: string) => {
    for (const n of names) checks[n] = skipped(reason)
  }

  let packed: Packed
  try {
    const job = ctx.packing.get(pkg.name)
    if (job === undefined) throw new Error(`${pkg.name} is private: it is never published`)
    packed = await timed(ctx.phases, 'pack', () => job)
    checks.pack = outcome([])
  } catch (error) {
    checks.pack = failure(error)
    skipFrom(checkNames.slice(1), 'pnpm pack failed')
    return checks
  }

  const manifestProblems = checkPackedManifest({
    manifest: packed.manifest,
    files: packed.files,
    hasChangelog: existsSync(join(pkg.dir, 'CHANGELOG.md')),
  })
  checks.manifest = outcome(manifestProblems.map((p) => p.message))

  // The install runs in npm's process while publint and attw use this one.
  const consumer = join(ctx.tmp, 'consumers', pkg.name.replace(/^@/, '').replace('/', '-'))
  const installing = install(pkg, packed, consumer, ctx)
  installing.catch(() => {}) // awaited below, after the tarball checks
  checks.publint = await timed(ctx.phases, 'publint', () => runPublint(packed).catch(failure))
  checks.attw = await timed(ctx.phases, 'attw', () => runAttw(packed).catch(failure))

  try {
    await timed(ctx.phases, 'install', () => installing)
    checks.install = outcome([])
  } catch (error) {
    checks.install = failure(error)
    skipFrom(['@x deps', 'one copy', 'import', 'require', 'esm=cjs', ...typeModes], 'the install failed')
    return checks
  }

  try {
    const leaf = !(ctx.wiring ?? wiringPackages).has(pkg.name)
    const tree = readInstallTree(consumer)
    const problems = checkXDeps({ self: pkg.name, leaf, packages: tree })
    checks['@x deps'] = outcome(problems.map((p) => p.message))
    const shared = checkSharedCopies({
      packages: tree,
      libraries: sharedLibraries,
      required: requiredShared(pkg.name, ctx.byName),
    })
    checks['one copy'] = outcome(shared.map((p) => p.message))
  } catch (error) {
    checks['@x deps'] = failure(error)
    checks['one copy'] = failure(error)
  }

  const { subpaths, patterns } = moduleSubpaths(packed.manifest['exports'])
  const specs = subpaths.map((s) => (s === '.' ? pkg.name : `${pkg.name}${s.slice(1)}`))
  const patternNotes = patterns.map((p) => `exports["${p}"] is a pattern: no module under it was probed`)
  if (specs.length === 0) {
    skipFrom(['import', 'require', 'esm=cjs'], 'exports names no module')
  }
  const [esm, cjs] = await timed(ctx.phases, 'probes', () =>
    Promise.all([
      specs.length > 0 ? probe(consumer, 'esm', specs) : undefined,
      specs.length > 0 ? probe(consumer, 'cjs', specs) : undefined,
    ]).catch((error: unknown) => {
      checks.import = failure(error)
      checks.require = failure(error)
      return [undefined, undefined] as const
    }),
  )
  if (esm !== undefined && cjs !== undefined) {
    checks.import = probeOutcome(esm, 'module', patternNotes)
    checks.require = probeOutcome(cjs, 'commonjs', patternNotes)
    checks['esm=cjs'] = compareNames(esm, cjs)
  }

  // Each consumer checks the declarations against the build it loads: CommonJS for node16-cjs.
  const entriesFor = (probed: ProbeResult | undefined): TypedEntry[] =>
    specs.map((spec) => ({ spec, names: namesOf(probed?.[spec]) }))
  try {
    await timed(ctx.phases, 'types wait', () => ctx.typesReady)
  } catch (error) {
    skipFrom(typeModes, error instanceof Error ? error.message : String(error))
    return checks
  }
  for (const mode of typeModes) {
    try {
      const typeRoots = join(ctx.typesDir, 'node_modules', '@types')
      checks[mode] = outcome(
        await timed(ctx.phases, mode, () =>
          checkTypes(consumer, mode, entriesFor(mode === 'node16-cjs' ? cjs : esm), typeRoots),
        ),
      )
    } catch (error) {
      checks[mode] = failure(error)
    }
  }
  return checks
}

function namesOf(entry: ProbeEntry | undefined): string[] | undefined {
  return entry !== undefined && 'names' in entry ? entry.names : undefined
}

function probeOutcome(result: ProbeResult, format: 'module' | 'commonjs', notes: string[]): CheckOutcome {
  const errors: string[] = []
  for (const [spec, entry] of Object.entries(result)) {
    if ('error' in entry) errors.push(`${spec}: ${entry.error}`)
    else if (format === 'commonjs' && entry.format !== 'commonjs') {
      errors.push(`${spec} resolves to ${entry.file}, an ES module: Node 20.18 cannot require it`)
    } else if (entry.names.length === 0) errors.push(`${spec} exports nothing`)
  }
  return outcome(errors, notes)
}

function compareNames(esm: ProbeResult, cjs: ProbeResult): CheckOutcome {
  const errors: string[] = []
  const uncompared: string[] = []
  for (const spec of Object.keys(esm)) {
    const a = namesOf(esm[spec])
    const b = namesOf(cjs[spec])
    if (a === undefined || b === undefined) {
      uncompared.push(`${spec}: not compared, ${a === undefined ? 'import' : 'require'} failed`)
      continue
    }
    const onlyEsm = a.filter((n) => !b.includes(n))
    const onlyCjs = b.filter((n) => !a.includes(n))
    if (onlyEsm.length > 0) errors.push(`${spec}: only the ES module exports ${onlyEsm.join(', ')}`)
    if (onlyCjs.length > 0) errors.push(`${spec}: only the CommonJS build exports ${onlyCjs.join(', ')}`)
  }
  // A failed import or require is that check's error; counting it here again would double it.
  if (errors.length === 0 && uncompared.length > 0) return { status: 'skip', errors: uncompared, notes: [] }
  return outcome([...errors, ...uncompared])
}

async function install(pkg: WorkspacePackage, packed: Packed, consumer: string, ctx: Context): Promise<void> {
  createConsumer(consumer, `x-packaging-consumer-${pkg.name.replace(/^@/, '').replace('/', '-')}`)
  const specs = [packed.tarball]
  for (const dep of xClosure(pkg.name, ctx.byName)) {
    const job = ctx.packing.get(dep)
    if (job === undefined)
      throw new Error(`${pkg.name} needs ${dep}, which is not a public workspace package`)
    specs.push((await job).tarball)
  }
  // Its peers, optional ones too (a subpath such as @x/cache/redis needs them), at its ranges.
  for (const [peer, range] of Object.entries(depsOf(packed.manifest, 'peerDependencies'))) {
    if (!peer.startsWith('@x/')) specs.push(`${peer}@${range}`)
  }
  const result = await npmInstall(consumer, specs)
  if (result.code !== 0) throw new Error(`npm install ${specs.join(' ')} failed:\n${tail(result)}`)
}
