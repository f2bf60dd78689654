import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('showcase', () => {
  it('prints the router demo', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain("/helloWorld/{name} → Hello, World! I'm Alice.")
    expect(stdout).toContain('405, Allow: POST')
    expect(stdout).toContain('file docs/read me.md')
  })
})
