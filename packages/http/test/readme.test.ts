import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { readmeSnippets, runSnippet } from '../../../test-support/readme.ts'

const readme = fileURLToPath(new URL('../README.md', import.meta.url))
const packagesDir = fileURLToPath(new URL('../..', import.meta.url))
const packageDir = fileURLToPath(new URL('..', import.meta.url))

describe('README', () => {
  const snippets = readmeSnippets(readme)

  it('has a snippet to run', () => {
    expect(snippets.length).toBeGreaterThan(0)
  })

  it.each(snippets.map((code, i) => ({ name: `snippet ${i + 1}`, code })))('runs $name', async ({ code }) => {
    await runSnippet(code, packagesDir, packageDir)
  })
})
