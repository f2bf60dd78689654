import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('caching example', () => {
  it('prints a miss, hits, a revalidation, a variant, an invalidation and a stale answer', async () => {
    const { stdout } = await run('pnpm', ['--silent', 'start'], { cwd: dir })
    expect(stdout.trim().split('\n')).toEqual([
      'GET /greeting → 200 "hello v1" [miss] (origin hits: 1)',
      'GET /greeting → 200 "hello v1" [hit] (origin hits: 1)',
      'HEAD /greeting → 200 [hit] (origin hits: 1)',
      'GET /greeting, Accept-Language: fr → 200 "bonjour v1" [miss] (origin hits: 2)',
      'GET /greeting, Cache-Control: no-cache → 200 "hello v1" [revalidated: not-modified] (origin hits: 3)',
      'PUT /greeting → 204 [invalidated] (origin hits: 4)',
      'GET /greeting → 200 "hello v2" [miss] (origin hits: 5)',
      'GET /prices → 200 "hello v2" [miss] (origin hits: 6)',
      'GET /prices while the origin fails → 200 "hello v2" [stale answer (stale-if-error)] (origin hits: 7)',
    ])
  })
})
