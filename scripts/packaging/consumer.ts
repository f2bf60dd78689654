// A throw-away consumer project outside the workspace: npm installs packed tarballs into it
// with none of pnpm's settings, then separate Node processes import each entry as ESM and
// require it as CommonJS. Type checks live in types.ts.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type RunResult, run, tail } from './proc.ts'
import type { LockPackages } from './x-deps.ts'

/**
 * The environment for npm and the probes: this process's, less everything pnpm injects into
 * scripts (`npm_config_*` from the workspace, `npm_package_*`, `PNPM_*`), so npm reads only the
 * machine's own npmrc (registry, CA) and never the workspace's settings.
 */
export function isolatedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(key) || key === 'NODE_OPTIONS' || key === 'INIT_CWD') continue
    env[key] = value
  }
  env['npm_config_update_notifier'] = 'false'
  return env
}

/** Creates an empty CommonJS project (no `type`) in `dir`; probes pick ESM or CJS by extension. */
export function createConsumer(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true })
  const manifest = { name, version: '0.0.0', private: true, license: 'UNLICENSED' }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  writeFileSync(join(dir, 'probe-esm.mjs'), esmProbe)
  writeFileSync(join(dir, 'probe-cjs.cjs'), cjsProbe)
}

/**
 * `npm install` of `specs` (tarball paths and `name@range`) into `dir`. `--engine-strict`
 * makes a dependency that does not support this Node version an error, not a warning; the
 * peer settings are pinned so a user's npmrc (`legacy-peer-deps`, `omit=peer`) cannot drop
 * the peers a real user gets.
 */
export function npmInstall(dir: string, specs: readonly string[]): Promise<RunResult> {
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    '--prefer-offline',
    '--engine-strict',
    '--legacy-peer-deps=false',
    '--include=peer',
    '--include=optional',
    '--loglevel=error',
    ...specs,
  ]
  return run('npm', args, { cwd: dir, env: isolatedEnv(), timeoutMs: 300_000 })
}

/** The `packages` map of the hidden lockfile npm writes into node_modules. */
export function readInstallTree(dir: string): LockPackages {
  const lock = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as {
    packages?: LockPackages
  }
  return lock.packages ?? {}
}

export type ProbeEntry = { names: string[]; file: string; format: 'module' | 'commonjs' } | { error: string }

export type ProbeResult = Record<string, ProbeEntry>

// Each probe runs in its own process, so the CommonJS one proves `require` works with no ES
// module graph loaded. Both write one JSON object: specifier → export names and resolved file.
const esmProbe = `import { fileURLToPath } from 'node:url'
const out = {}
for (const spec of JSON.parse(process.argv[2])) {
  try {
    const ns = await import(spec)
    out[spec] = { names: Object.keys(ns).sort(), file: fileURLToPath(import.meta.resolve(spec)), format: 'module' }
  } catch (error) {
    out[spec] = { error: String(error?.code ?? error?.name) + ': ' + String(error?.message).split('\\n')[0] }
  }
}
process.stdout.write(JSON.stringify(out))
`

const cjsProbe = `const { existsSync, readFileSync } = require('node:fs')
const { dirname, join } = require('node:path')
// The format Node gives a file: by extension, else by the nearest package.json "type".
function format(file) {
  if (file.endsWith('.cjs')) return 'commonjs'
  if (file.endsWith('.mjs')) return 'module'
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).type === 'module' ? 'module' : 'commonjs'
    if (dirname(dir) === dir) return 'commonjs'
  }
}
const out = {}
for (const spec of JSON.parse(process.argv[2])) {
  try {
    const file = require.resolve(spec)
    const exported = require(spec)
    out[spec] = { names: Object.keys(exported).sort(), file, format: format(file) }
  } catch (error) {
    out[spec] = { error: String(error?.code ?? error?.name) + ': ' + String(error?.message).split('\\n')[0] }
  }
}
process.stdout.write(JSON.stringify(out))
`

// Node 20.19+ and 22.12+ can require() an ES module; our floor, 20.18, cannot. Turning that off
// where the flag exists makes a CommonJS build that reaches an ES module fail here too.
let noRequireModule: string[] | undefined
function requireModuleFlags(): string[] {
  if (noRequireModule === undefined) {
    const probe = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', ''], {
      stdio: 'ignore',
    })
    noRequireModule = probe.status === 0 ? ['--no-experimental-require-module'] : []
  }
  return noRequireModule
}

/** Imports (`esm`) or requires (`cjs`) each specifier in a fresh Node process in `dir`. */
export async function probe(
  dir: string,
  kind: 'esm' | 'cjs',
  specs: readonly string[],
): Promise<ProbeResult> {
  const args =
    kind === 'esm'
      ? ['probe-esm.mjs', JSON.stringify(specs)]
      : [...requireModuleFlags(), 'probe-cjs.cjs', JSON.stringify(specs)]
  const result = await run(process.execPath, args, { cwd: dir, env: isolatedEnv(), timeoutMs: 60_000 })
  if (result.code !== 0) throw new Error(`the ${kind} probe failed:\n${tail(result)}`)
  return JSON.parse(result.stdout) as ProbeResult
}
