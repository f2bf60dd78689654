// Runs the TypeScript snippets of a package README as a test, so documented examples
// cannot rot. `@x/<name>` imports are pointed at the workspace sources.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The fenced `ts` blocks of a markdown file that are not marked `ts no-run`. */
export function readmeSnippets(readmePath: string): string[] {
  const text = readFileSync(readmePath, 'utf8')
  const out: string[] = []
  const fence = /^```ts\s*\n([\s\S]*?)^```/gm
  for (const m of text.matchAll(fence)) out.push(m[1]!)
  return out
}

/** The source file of `@x/<pkg><sub>`: its `@x/source` export condition, else `src/<sub>.ts`. */
function sourceOf(packagesDir: string, pkg: string, sub: string): string {
  const dir = resolve(packagesDir, pkg)
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      exports?: Record<string, unknown>
    }
    const entry = manifest.exports?.[`.${sub}`]
    const source = (entry as Record<string, unknown> | undefined)?.['@x/source']
    if (typeof source === 'string') return resolve(dir, source)
  } catch {
    // No readable manifest: fall back to the layout every package follows.
  }
  return resolve(dir, 'src', sub === '' ? 'index.ts' : `${sub.slice(1)}.ts`)
}

/** Rewrites `@x/<pkg>` and `@x/<pkg>/<subpath>` specifiers to the package sources under `packagesDir`. */
export function pointAtSources(code: string, packagesDir: string): string {
  return code.replace(
    /(['"])@x\/([a-z-]+)((?:\/[a-z-]+)*)\1/g,
    (_m, q: string, pkg: string, sub: string) =>
      `${q}${pathToFileURL(sourceOf(packagesDir, pkg, sub)).href}${q}`,
  )
}

/**
 * Writes a snippet to a temporary module and imports it; resolves when its top level has run.
 * The module is written inside `hostDir` (the package that owns the README), so its bare
 * imports (`undici`, `ws`, …) resolve through that package's own dependencies.
 */
export async function runSnippet(code: string, packagesDir: string, hostDir?: string): Promise<void> {
  const dir =
    hostDir === undefined
      ? mkdtempSync(join(tmpdir(), 'x-readme-'))
      : mkdtempSync(join(hostDir, '.readme-snippet-'))
  const file = join(dir, 'snippet.ts')
  writeFileSync(file, pointAtSources(code, packagesDir))
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
