// Checks on what `pnpm pack` actually publishes: the packed package.json and the tarball's
// file list, against the packaging rules every @x package follows (CONTRIBUTING.md).
// Lint-grade rules (condition order, file formats) are publint's job, not repeated here.

/** The JSON paths (`exports["."]["@x/source"]`) where `condition` appears as a key. */
export function findCondition(value: unknown, condition: string, path = ''): string[] {
  if (value === null || typeof value !== 'object') return []
  const found: string[] = []
  for (const [key, inner] of Object.entries(value)) {
    const here = `${path}[${JSON.stringify(key)}]`
    if (key === condition) found.push(here)
    found.push(...findCondition(inner, condition, here))
  }
  return found
}

/** Every file path an `exports` map can resolve to (`./dist/index.js`), patterns excluded. */
export function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return value.includes('*') ? [] : [value]
  if (value === null || typeof value !== 'object') return []
  const out: string[] = []
  for (const inner of Object.values(value)) out.push(...exportTargets(inner))
  return out
}

/** The subpaths (`.`, `./redis`) of an `exports` map that name a module to import. */
export function moduleSubpaths(exportsField: unknown): { subpaths: string[]; patterns: string[] } {
  if (typeof exportsField === 'string' || Array.isArray(exportsField))
    return { subpaths: ['.'], patterns: [] }
  if (exportsField === null || typeof exportsField !== 'object') return { subpaths: [], patterns: [] }
  const keys = Object.keys(exportsField)
  // An object whose keys are conditions (`import`, `require`) describes "." alone.
  if (!keys.some((k) => k.startsWith('.'))) return { subpaths: ['.'], patterns: [] }
  const subpaths: string[] = []
  const patterns: string[] = []
  for (const key of keys) {
    if (key.includes('*')) patterns.push(key)
    else if (!key.endsWith('.json')) subpaths.push(key)
  }
  return { subpaths, patterns }
}

const dependencyFields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const
// Protocols a registry install cannot resolve: they only mean something inside this workspace.
const localProtocols = ['workspace:', 'link:', 'file:', 'catalog:', 'portal:']

/** Published files besides `dist/**`: the manifest, the docs and a licence. */
function isAllowedFile(path: string): boolean {
  if (path.startsWith('dist/')) return true
  return (
    path === 'package.json' || path === 'README.md' || path === 'CHANGELOG.md' || /^LICEN[CS]E/i.test(path)
  )
}

/** What can be wrong with a packed package, one code per rule. */
export type ManifestProblemCode =
  | 'source-condition'
  | 'local-protocol'
  | 'missing-field'
  | 'not-published'
  | 'missing-readme'
  | 'missing-changelog'
  | 'stray-file'

export interface ManifestProblem {
  code: ManifestProblemCode
  message: string
}

export interface ManifestInput {
  /** The package.json inside the tarball. */
  manifest: Record<string, unknown>
  /** The tarball's files, relative to the package root (`dist/index.js`). */
  files: readonly string[]
  /** Whether the package directory has a CHANGELOG.md, which `files` must then publish. */
  hasChangelog: boolean
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/** Violations of the packaging rules in a packed manifest; empty when it is fit to publish. */
export function checkPackedManifest({ manifest, files, hasChangelog }: ManifestInput): ManifestProblem[] {
  const problems: ManifestProblem[] = []
  const report = (code: ManifestProblemCode, message: string) => problems.push({ code, message })
  const published = new Set(files)

  for (const field of ['exports', 'imports'] as const) {
    for (const at of findCondition(manifest[field], '@x/source')) {
      report(
        'source-condition',
        `${field}${at} is the workspace-only "@x/source" condition: publishConfig.${field} must replace ${field} without it`,
      )
    }
  }

  for (const field of dependencyFields) {
    for (const [dep, spec] of Object.entries(record(manifest[field]) ?? {})) {
      if (typeof spec === 'string' && localProtocols.some((p) => spec.startsWith(p))) {
        report('local-protocol', `${field}.${dep} is "${spec}", which only resolves inside this workspace`)
      }
    }
  }

  const require = (ok: boolean, message: string) => {
    if (!ok) report('missing-field', message)
  }
  const exportsField = record(manifest['exports'])
  require(typeof manifest['description'] === 'string', 'description is missing')
  require(typeof manifest['license'] === 'string', 'license is missing')
  require(manifest['type'] === 'module', 'type must be "module" (ESM .js, CommonJS .cjs)')
  // false, or the list of the files that do have side effects (an entry that installs a shim,
  // such as @x/http/decorators); such a list must name at least one file that is published.
  const sideEffects = manifest['sideEffects']
  require(sideEffects === false ||
    (Array.isArray(sideEffects) &&
      sideEffects.every((f) => typeof f === 'string') &&
      sideEffects.some((f) =>
        published.has(String(f).replace(/^\.\//, '')),
      )), 'sideEffects must be false, or list the published files that have side effects')
  require(typeof record(manifest['engines'])?.['node'] === 'string', 'engines.node is missing')
  require(record(manifest['publishConfig'])?.['access'] === 'public', 'publishConfig.access must be "public"')
  require(Array.isArray(manifest['files']), 'files is missing: without it npm publishes sources and tests')
  require(exportsField !== undefined && '.' in exportsField, 'exports["."] is missing')
  require(exportsField?.['./package.json'] ===
    './package.json', 'exports["./package.json"] must be "./package.json" (tools read it)')

  const targets = [
    ...exportTargets(manifest['exports']),
    ...(['main', 'module', 'types'] as const).flatMap((f) =>
      typeof manifest[f] === 'string' ? [manifest[f] as string] : [],
    ),
  ]
  for (const target of new Set(targets)) {
    if (!published.has(target.replace(/^\.\//, ''))) {
      const hint = target.startsWith('./dist/') ? ' (was it built?)' : ''
      report('not-published', `${target} is referenced but not in the tarball${hint}`)
    }
  }

  if (!published.has('README.md'))
    report('missing-readme', 'README.md is not in the tarball: add it to files')
  if (hasChangelog && !published.has('CHANGELOG.md')) {
    report('missing-changelog', 'CHANGELOG.md is not in the tarball: add it to files')
  }
  const stray = files.filter((f) => !isAllowedFile(f))
  if (stray.length > 0) {
    report(
      'stray-file',
      `the tarball publishes files outside dist/ and the docs: ${stray.slice(0, 5).join(', ')}`,
    )
  }
  return problems
}
