import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-redirects example', () => {
  it('follows, keeps 307 methods, drops credentials across origins and stops loops', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain(
      'GET /redirect1 → 200 at /hello: Hello, World! (GET, authorization: Bearer secret)',
    )
    expect(stdout).toContain(
      'POST /redirect2 (307 keeps the method) → Hello, World! (POST, authorization: Bearer secret)',
    )
    expect(stdout).toContain('GET /away → other origin got /landing, authorization: none')
    expect(stdout).toContain('GET /loop-a → X_ERR_CLIENT_REDIRECT_LOOP')
    expect(stdout).toContain('GET /hops/0 → X_ERR_CLIENT_TOO_MANY_REDIRECTS')
    expect(stdout).toContain('following off: GET /redirect1 → 301 Location: /redirect2')
  })
})
