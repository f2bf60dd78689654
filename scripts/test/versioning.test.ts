// The release flow, proven on a copy: the workspace's manifests and pending changesets are
// copied to a temp dir, `pnpm changeset version` runs there, and the bumps, the CHANGELOGs and
// the ranges `pnpm pack` writes for @x/http's leaves are checked. The real repo is never touched.
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPackageFromTarballData } from '@arethetypeswrong/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isolatedEnv } from '../packaging/consumer.ts'

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
type Bump = 'major' | 'minor' | 'patch'
const order: Bump[] = ['patch', 'minor', 'major']

interface Manifest {
  name: string
  version: string
  private?: boolean
  dependencies?: Record<string, string>
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T

/** Every workspace package directory (relative), from pnpm-workspace.yaml's two globs. */
function workspaceDirs(base: string): string[] {
  return ['packages', 'examples'].flatMap((group) =>
    readdirSync(join(base, group), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(base, group, e.name, 'package.json')))
      .map((e) => `${group}/${e.name}`),
  )
}

function manifests(base: string): Map<string, Manifest & { dir: string }> {
  const out = new Map<string, Manifest & { dir: string }>()
  for (const dir of workspaceDirs(base)) {
    const m = readJson<Manifest>(join(base, dir, 'package.json'))
    out.set(m.name, { ...m, dir })
  }
  return out
}

/** The pending changesets: package → the largest bump asked for, and every summary. */
function pendingChangesets(changesetDir: string): Map<string, { bump: Bump; summaries: string[] }> {
  const out = new Map<string, { bump: Bump; summaries: string[] }>()
  for (const file of readdirSync(changesetDir)) {
    if (!file.endsWith('.md') || file === 'README.md') continue
    const text = readFileSync(join(changesetDir, file), 'utf8')
    const [, front = '', body = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? []
    const summary = body.trim().split('\n')[0]!
    for (const line of front.split('\n')) {
      const match = /^"?(@x\/[a-z-]+)"?:\s*(major|minor|patch)\s*$/.exec(line.trim())
      if (match === null) continue
      const [, name, bump] = match as unknown as [string, string, Bump]
      const entry = out.get(name) ?? { bump, summaries: [] }
      if (order.indexOf(bump) > order.indexOf(entry.bump)) entry.bump = bump
      entry.summaries.push(summary)
      out.set(name, entry)
    }
  }
  return out
}

function bumped(version: string, bump: Bump): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number)
  if (bump === 'major') return `${major + 1}.0.0`
  if (bump === 'minor') return `${major}.${minor + 1}.0`
  return `${major}.${minor}.${patch + 1}`
}

/**
 * A copy of the workspace with nothing but what changesets and `pnpm pack` read: the root
 * manifest, pnpm-workspace.yaml, .changeset/, each package's package.json and CHANGELOG.md.
 * node_modules is the real one (for the changeset binary); @x/http gets the workspace links
 * `pnpm install` would make, which `pnpm pack` reads to turn `workspace:^` into a range.
 */
function copyWorkspace(dest: string): void {
  for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(dest, file))
  cpSync(join(root, '.changeset'), join(dest, '.changeset'), { recursive: true })
  for (const dir of workspaceDirs(root)) {
    mkdirSync(join(dest, dir), { recursive: true })
    for (const file of ['package.json', 'CHANGELOG.md']) {
      if (existsSync(join(root, dir, file))) cpSync(join(root, dir, file), join(dest, dir, file))
    }
  }
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'), 'dir')
  const http = readJson<Manifest>(join(dest, 'packages/http/package.json'))
  mkdirSync(join(dest, 'packages/http/node_modules/@x'), { recursive: true })
  for (const dep of Object.keys(http.dependencies ?? {})) {
    if (!dep.startsWith('@x/')) continue
    const target = join('..', '..', '..', dep.slice('@x/'.length))
    symlinkSync(target, join(dest, 'packages/http/node_modules', dep), 'dir')
  }
}

function pnpm(cwd: string, args: string[]): string {
  const result = spawnSync('pnpm', args, { cwd, env: isolatedEnv(), encoding: 'utf8', timeout: 240_000 })
  if (result.status !== 0) {
    throw new Error(`pnpm ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** The dependencies of the package.json `pnpm pack` writes for @x/http in `base`. */
function packedHttpDependencies(base: string): Record<string, string> {
  const out = pnpm(join(base, 'packages/http'), ['pack', '--json', '--pack-destination', base])
  const { filename } = JSON.parse(out.slice(out.indexOf('{'))) as { filename: string }
  const pkg = createPackageFromTarballData(new Uint8Array(readFileSync(filename)))
  rmSync(filename)
  const manifest = JSON.parse(pkg.readFile('/node_modules/@x/http/package.json')) as Manifest
  return manifest.dependencies ?? {}
}

describe('pnpm changeset version on a copy of the workspace', () => {
  const base = mkdtempSync(join(tmpdir(), 'x-versioning-'))
  const before = manifests(root)
  const realManifests = new Map(
    workspaceDirs(root).map((dir) => [dir, readFileSync(join(root, dir, 'package.json'), 'utf8')]),
  )
  const pending = pendingChangesets(join(root, '.changeset'))
  let after: Map<string, Manifest & { dir: string }>
  let packed: Record<string, string>

  beforeAll(() => {
    copyWorkspace(base)
    pnpm(base, ['changeset', 'version'])
    after = manifests(base)
    packed = packedHttpDependencies(base)
  }, 300_000)

  afterAll(() => {
    rmSync(base, { recursive: true, force: true })
  })

  it('has pending changesets to release', () => {
    expect(pending.size).toBeGreaterThan(0)
  })

  it('versions packages independently, public, with internal dependents bumped', () => {
    const config = readJson<Record<string, unknown>>(join(root, '.changeset/config.json'))
    expect(config).toMatchObject({
      changelog: '@changesets/cli/changelog',
      access: 'public',
      fixed: [],
      linked: [],
      updateInternalDependencies: 'patch',
      privatePackages: { version: false, tag: false },
    })
  })

  it('consumes every changeset', () => {
    expect(readdirSync(join(base, '.changeset')).sort()).toEqual(['README.md', 'config.json'])
  })

  it('bumps each package by the largest bump its changesets ask for', () => {
    for (const [name, { bump }] of pending) {
      const from = before.get(name)!.version
      expect(after.get(name)!.version, name).toBe(bumped(from, bump))
    }
  })

  it('writes a CHANGELOG entry with every summary under the new version', () => {
    for (const [name, { bump, summaries }] of pending) {
      const changelog = readFileSync(join(base, after.get(name)!.dir, 'CHANGELOG.md'), 'utf8')
      const entry = changelog.split(/^## /m)[1]!
      expect(entry.startsWith(`${after.get(name)!.version}\n`), name).toBe(true)
      expect(entry, name).toContain(`### ${bump[0]!.toUpperCase()}${bump.slice(1)} Changes`)
      for (const summary of summaries) expect(entry, name).toContain(summary)
    }
  })

  it('leaves the private examples unversioned, with no CHANGELOG', () => {
    for (const [name, m] of after) {
      if (m.private !== true) continue
      expect(m.version, name).toBe(before.get(name)!.version)
      expect(existsSync(join(base, m.dir, 'CHANGELOG.md')), name).toBe(
        existsSync(join(root, m.dir, 'CHANGELOG.md')),
      )
    }
  })

  it("makes @x/http's packed ranges on its leaves the leaves' new versions", () => {
    const leaves = Object.keys(before.get('@x/http')!.dependencies ?? {}).filter((d) => d.startsWith('@x/'))
    expect(leaves.length).toBeGreaterThan(0)
    for (const leaf of leaves) expect(packed[leaf], leaf).toBe(`^${after.get(leaf)!.version}`)
  })

  it('never changes the real workspace', () => {
    for (const [dir, text] of realManifests) {
      expect(readFileSync(join(root, dir, 'package.json'), 'utf8'), dir).toBe(text)
    }
    for (const file of readdirSync(join(base, '.changeset'))) {
      expect(existsSync(join(root, '.changeset', file))).toBe(true)
    }
    expect(pending.size).toBe(pendingChangesets(join(root, '.changeset')).size)
  })

  describe('then a minor change to one leaf alone', () => {
    let next: Map<string, Manifest & { dir: string }>
    let nextPacked: Record<string, string>

    beforeAll(() => {
      writeFileSync(
        join(base, '.changeset/router-only.md'),
        '---\n"@x/router": minor\n---\n\nAdd a feature to `createRouter()`.\n',
      )
      pnpm(base, ['changeset', 'version'])
      next = manifests(base)
      nextPacked = packedHttpDependencies(base)
    }, 300_000)

    it('bumps the leaf, patches @x/http with an "Updated dependencies" entry, and leaves the rest', () => {
      const router = next.get('@x/router')!.version
      expect(router).toBe(bumped(after.get('@x/router')!.version, 'minor'))
      expect(next.get('@x/http')!.version).toBe(bumped(after.get('@x/http')!.version, 'patch'))
      const entry = readFileSync(join(base, 'packages/http/CHANGELOG.md'), 'utf8').split(/^## /m)[1]!
      expect(entry).toContain('### Patch Changes')
      expect(entry).toContain(`@x/router@${router}`)
      for (const [name, m] of next) {
        if (name === '@x/router' || name === '@x/http') continue
        expect(m.version, name).toBe(after.get(name)!.version)
      }
    })

    it('packs @x/http with a range that admits the new leaf', () => {
      expect(nextPacked['@x/router']).toBe(`^${next.get('@x/router')!.version}`)
      expect(nextPacked['@x/cache']).toBe(`^${after.get('@x/cache')!.version}`)
    })
  })
})
