// Reads the install tree npm recorded (node_modules/.package-lock.json) and answers which @x
// packages a consumer really got, and from where. It does not judge anything but @x packages.

/** The `packages` map of an npm v3 lockfile: install path → what was installed there. */
export type LockPackages = Record<string, { version?: string; resolved?: string; link?: boolean }>

export interface XDepsInput {
  /** The package under check (`@x/router`). */
  self: string
  /** Leaf packages may bring no other @x package (ARCHITECTURE.md). */
  leaf: boolean
  /** The lockfile's `packages` map. */
  packages: LockPackages
}

/** What can be wrong with the @x packages of an install, one code per rule. */
export type XDepsProblemCode = 'leaf-pulled-x' | 'not-from-tarball' | 'linked' | 'duplicate' | 'missing-self'

export interface XDepsProblem {
  code: XDepsProblemCode
  message: string
}

const xPath = /(?:^|\/)node_modules\/(@x\/[^/]+)$/

/**
 * Problems with the @x packages in an install tree: a leaf that pulled another @x package,
 * an @x package that came from a registry or a link instead of our tarballs, or two copies.
 */
export function checkXDeps({ self, leaf, packages }: XDepsInput): XDepsProblem[] {
  const problems: XDepsProblem[] = []
  const report = (code: XDepsProblemCode, message: string) => problems.push({ code, message })
  const seen = new Map<string, string[]>()
  for (const [path, entry] of Object.entries(packages)) {
    const name = xPath.exec(path)?.[1]
    if (name === undefined) continue
    seen.set(name, [...(seen.get(name) ?? []), path])
    if (entry.link === true) report('linked', `${path} is a link, not an installed tarball`)
    else if (!entry.resolved?.startsWith('file:') || !entry.resolved.endsWith('.tgz')) {
      // npm may omit `resolved` for registry packages (omit-lockfile-registry-resolved).
      report(
        'not-from-tarball',
        `${path} came from ${entry.resolved ?? 'a registry'}, not from a packed tarball`,
      )
    }
  }
  if (!seen.has(self)) report('missing-self', `${self} is not in node_modules`)
  for (const [name, paths] of seen) {
    if (leaf && name !== self) {
      report('leaf-pulled-x', `installing the leaf package ${self} pulled ${name} (${paths.join(', ')})`)
    }
    if (paths.length > 1)
      report('duplicate', `${name} is installed ${paths.length} times: ${paths.join(', ')}`)
  }
  return problems
}

/**
 * Libraries a user shares with us (undici's dispatchers and errors, ws's sockets, pino's
 * loggers): a second copy in one install splits `instanceof`, global dispatchers and options.
 */
export const sharedLibraries: readonly string[] = ['undici', 'ws', 'pino']

export interface SharedCopiesInput {
  /** The lockfile's `packages` map. */
  packages: LockPackages
  /** The libraries that must be installed at most once. */
  libraries: readonly string[]
  /** Of those, the ones the package needs: each must be installed exactly once. */
  required: readonly string[]
}

export type SharedCopiesProblemCode = 'second-copy' | 'missing-shared'

export interface SharedCopiesProblem {
  code: SharedCopiesProblemCode
  message: string
}

/**
 * What `pnpm why undici` (or `npm ls undici --all`) shows, from the install tree npm recorded:
 * every path a shared library was installed at. More than one path is a second copy.
 */
export function checkSharedCopies({
  packages,
  libraries,
  required,
}: SharedCopiesInput): SharedCopiesProblem[] {
  const problems: SharedCopiesProblem[] = []
  for (const library of libraries) {
    const suffix = `node_modules/${library}`
    const copies = Object.entries(packages).filter(([path]) => path === suffix || path.endsWith(`/${suffix}`))
    const where = copies.map(([path, entry]) => `${entry.version ?? '?'} at ${path}`)
    if (copies.length > 1) {
      problems.push({
        code: 'second-copy',
        message: `${library} is installed ${copies.length} times: ${where.join(', ')}`,
      })
    } else if (copies.length === 0 && required.includes(library)) {
      problems.push({ code: 'missing-shared', message: `${library} is needed but not installed` })
    }
  }
  return problems
}
