// Small built packages, each correct or broken in one known way, written to a scratch
// directory so the packaging check can be run on them as on packages/*.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

type Files = Record<string, string>

const esm = (names: readonly string[]) =>
  names.map((n) => `export const ${n} = ${JSON.stringify(n)}\n`).join('')
const cjs = (names: readonly string[]) =>
  `'use strict'\n${names.map((n) => `exports.${n} = ${JSON.stringify(n)}\n`).join('')}`
const dts = (names: readonly string[]) => names.map((n) => `export declare const ${n}: string\n`).join('')

/** An entry point whose ESM, CommonJS and both declaration files export `names`. */
function entry(base: string, names: readonly string[]): Files {
  return {
    [`dist/${base}.js`]: esm(names),
    [`dist/${base}.cjs`]: cjs(names),
    [`dist/${base}.d.ts`]: dts(names),
    [`dist/${base}.d.cts`]: dts(names),
  }
}

const conditions = (base: string) => ({
  import: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` },
  require: { types: `./dist/${base}.d.cts`, default: `./dist/${base}.cjs` },
})

/** A manifest that follows every packaging rule, with `.` and `./extra` entries. */
function manifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version: '0.0.0',
    description: 'A packaging-check fixture.',
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20.18.1' },
    exports: { '.': conditions('index'), './extra': conditions('extra'), './package.json': './package.json' },
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.ts',
    files: ['dist', 'README.md', 'CHANGELOG.md'],
    publishConfig: { access: 'public' },
    ...extra,
  }
}

function good(name: string, extra: Record<string, unknown> = {}): Files {
  return {
    'package.json': JSON.stringify(manifest(name, extra), null, 2),
    'README.md': `# ${name}\n`,
    ...entry('index', ['greet', 'version']),
    ...entry('extra', ['shout']),
  }
}

function withoutReadme({ 'README.md': _readme, ...files }: Files): Files {
  return files
}

export interface Fixture {
  /** What the fixture gets wrong, as a test title. */
  title: string
  name: string
  files: Files
  /** The checks that must not pass, with the status each must have; every other check passes. */
  notOk: Record<string, 'error' | 'skip'>
  /** Treat the package as a wiring package (allowed to depend on @x packages). */
  wiring?: boolean
}

const leaky = manifest('@x/fixture-leaky')
const leakyExports = leaky['exports'] as Record<string, Record<string, unknown>>
leakyExports['.'] = { '@x/source': './src/index.ts', ...leakyExports['.'] }

const masquerade = manifest('@x/fixture-masquerade')
;(masquerade['exports'] as Record<string, unknown>)['.'] = {
  import: { types: './dist/index.d.ts', default: './dist/index.js' },
  require: { types: './dist/index.d.ts', default: './dist/index.js' },
}

export const fixtures: readonly Fixture[] = [
  {
    title: 'passes every check for a package that follows the rules, subpath included',
    name: '@x/fixture-good',
    files: good('@x/fixture-good'),
    notOk: {},
  },
  {
    title: 'fails manifest when the @x/source condition is published and README is left out',
    name: '@x/fixture-leaky',
    files: {
      ...withoutReadme(good('@x/fixture-leaky')),
      'package.json': JSON.stringify(leaky, null, 2),
      'src/index.ts': 'export const greet = "greet"\n',
    },
    notOk: { manifest: 'error' },
  },
  {
    title: 'fails esm=cjs and the type checks when a subpath’s builds and declarations disagree',
    name: '@x/fixture-mismatched',
    files: {
      ...good('@x/fixture-mismatched'),
      // The CommonJS build exports a name the ES module lacks, and the declarations promise a
      // value neither build has.
      'dist/extra.cjs': cjs(['shout', 'onlyInCjs']),
      'dist/extra.d.ts': dts(['shout', 'phantom']),
      'dist/extra.d.cts': dts(['shout', 'phantom']),
    },
    notOk: { 'esm=cjs': 'error', 'node16-esm': 'error', 'node16-cjs': 'error', bundler: 'error' },
  },
  {
    title: 'fails require, the CommonJS type check and attw when require resolves to the ES module',
    name: '@x/fixture-masquerade',
    files: { ...good('@x/fixture-masquerade'), 'package.json': JSON.stringify(masquerade, null, 2) },
    // esm=cjs has nothing to compare once require fails, and says so rather than fail twice.
    notOk: { require: 'error', 'esm=cjs': 'skip', 'node16-cjs': 'error', attw: 'error' },
  },
  {
    title: 'fails @x deps when a leaf package pulls another @x package',
    name: '@x/fixture-greedy',
    files: good('@x/fixture-greedy', { dependencies: { '@x/fixture-good': '0.0.0' } }),
    notOk: { '@x deps': 'error' },
  },
  {
    title: 'lets a wiring package depend on @x packages, installed from their tarballs',
    name: '@x/fixture-wiring',
    files: good('@x/fixture-wiring', { dependencies: { '@x/fixture-good': '0.0.0' } }),
    notOk: {},
    wiring: true,
  },
  {
    title: 'passes one copy for a leaf with one copy of a shared library (ws)',
    name: '@x/fixture-ws',
    files: good('@x/fixture-ws', { dependencies: { ws: '^8.18.0' } }),
    notOk: {},
  },
  {
    title: 'fails one copy when the install holds two copies of ws (7 at the top, 8 nested)',
    name: '@x/fixture-split',
    files: good('@x/fixture-split', { dependencies: { '@x/fixture-ws': '0.0.0', ws: '^7.5.10' } }),
    notOk: { 'one copy': 'error' },
    wiring: true,
  },
]

/** Writes every fixture under `packagesDir/<short name>/`. */
export function writeFixtures(packagesDir: string): void {
  for (const fixture of fixtures) {
    const dir = join(packagesDir, fixture.name.replace('@x/', ''))
    for (const [path, text] of Object.entries(fixture.files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
  }
}
