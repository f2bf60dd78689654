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
