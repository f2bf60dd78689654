import { describe, expect, it } from 'vitest'
import {
  checkPackedManifest,
  findCondition,
  type ManifestInput,
  moduleSubpaths,
} from '../packaging/manifest.ts'

const files = [
  'package.json',
  'README.md',
  'dist/index.js',
  'dist/index.cjs',
  'dist/index.d.ts',
  'dist/index.d.cts',
]

function input(changes: Record<string, unknown> = {}, over: Partial<ManifestInput> = {}): ManifestInput {
  return {
    manifest: {
      name: '@x/sample',
      version: '1.0.0',
      description: 'A sample.',
      license: 'MIT',
      type: 'module',
      sideEffects: false,
      engines: { node: '>=20.18.1' },
      exports: {
        '.': {
          import: { types: './dist/index.d.ts', default: './dist/index.js' },
          require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
        },
        './package.json': './package.json',
      },
      main: './dist/index.cjs',
      types: './dist/index.d.ts',
      files: ['dist', 'README.md', 'CHANGELOG.md'],
      publishConfig: { access: 'public' },
      ...changes,
    },
    files,
    hasChangelog: false,
    ...over,
  }
}

const codes = (i: ManifestInput) => checkPackedManifest(i).map((p) => p.code)

describe('checkPackedManifest', () => {
  it('accepts a sideEffects list that names a published file', () => {
    expect(checkPackedManifest(input({ sideEffects: ['./dist/index.js', './src/index.ts'] }))).toEqual([])
  })

  it('accepts a manifest that follows every rule', () => {
    expect(checkPackedManifest(input())).toEqual([])
  })

  it.each([
    {
      name: 'the @x/source condition left in exports',
      input: input({ exports: { '.': { '@x/source': './src/index.ts', default: './dist/index.js' } } }),
      code: 'source-condition',
    },
    {
      name: 'the @x/source condition nested under import',
      input: input({ exports: { '.': { import: { '@x/source': './src/index.ts' } } } }),
      code: 'source-condition',
    },
    {
      name: 'a workspace: dependency',
      input: input({ dependencies: { '@x/router': 'workspace:^' } }),
      code: 'local-protocol',
    },
    {
      name: 'a link: peer',
      input: input({ peerDependencies: { undici: 'link:../undici' } }),
      code: 'local-protocol',
    },
    { name: 'no type', input: input({ type: undefined }), code: 'missing-field' },
    { name: 'sideEffects left out', input: input({ sideEffects: undefined }), code: 'missing-field' },
    { name: 'sideEffects true', input: input({ sideEffects: true }), code: 'missing-field' },
    {
      name: 'a sideEffects list naming no published file',
      input: input({ sideEffects: ['./src/shim.ts'] }),
      code: 'missing-field',
    },
    { name: 'no engines', input: input({ engines: undefined }), code: 'missing-field' },
    { name: 'no files', input: input({ files: undefined }), code: 'missing-field' },
    { name: 'restricted access', input: input({ publishConfig: {} }), code: 'missing-field' },
    { name: 'exports as a bare string', input: input({ exports: './dist/index.js' }), code: 'missing-field' },
    {
      name: 'an export target missing from the tarball',
      input: input({}, { files: files.filter((f) => f !== 'dist/index.d.cts') }),
      code: 'not-published',
    },
    {
      name: 'no README',
      input: input({}, { files: files.filter((f) => f !== 'README.md') }),
      code: 'missing-readme',
    },
    { name: 'an unpublished CHANGELOG', input: input({}, { hasChangelog: true }), code: 'missing-changelog' },
    {
      name: 'sources in the tarball',
      input: input({}, { files: [...files, 'src/index.ts'] }),
      code: 'stray-file',
    },
  ])('reports $code for $name', ({ input, code }) => {
    expect(codes(input)).toContain(code)
  })

  it('ignores workspace: in devDependencies, which installs never read', () => {
    expect(checkPackedManifest(input({ devDependencies: { '@x/router': 'workspace:*' } }))).toEqual([])
  })

  it('publishes a licence and a CHANGELOG next to dist', () => {
    const all = [...files, 'LICENSE', 'CHANGELOG.md']
    expect(checkPackedManifest(input({}, { files: all, hasChangelog: true }))).toEqual([])
  })
})

describe('findCondition', () => {
  it('returns the path of every occurrence', () => {
    const exportsField = { '.': { '@x/source': 'a', import: { '@x/source': 'b' } }, './x': { default: 'c' } }
    expect(findCondition(exportsField, '@x/source')).toEqual([
      '["."]["@x/source"]',
      '["."]["import"]["@x/source"]',
    ])
  })
})

describe('moduleSubpaths', () => {
  it.each([
    { name: 'a string', exportsField: './index.js', subpaths: ['.'], patterns: [] },
    {
      name: 'conditions at the top',
      exportsField: { import: './a.js', require: './a.cjs' },
      subpaths: ['.'],
      patterns: [],
    },
    {
      name: 'subpaths, package.json and a pattern',
      exportsField: {
        '.': './a.js',
        './redis': './r.js',
        './package.json': './package.json',
        './*': './*.js',
      },
      subpaths: ['.', './redis'],
      patterns: ['./*'],
    },
    { name: 'nothing', exportsField: undefined, subpaths: [], patterns: [] },
  ])('finds the modules of $name', ({ exportsField, subpaths, patterns }) => {
    expect(moduleSubpaths(exportsField)).toEqual({ subpaths, patterns })
  })
})
