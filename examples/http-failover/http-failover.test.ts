import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-failover example', () => {
  it('moves past a refusing and an overloaded target, and lists every failure when all are down', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('GET /greeting → 200 echo00 answered GET /echo00/greeting')
    expect(stdout).toContain('(after two failovers, at least 2 × 100 ms)')
    expect(stdout).toContain('POST /orders → 503 try later')
    expect(stdout).toContain(
      'POST /orders with failoverMethods [GET, POST] → 200 echo00 answered POST /echo00/orders',
    )
    expect(stdout).toContain('GET /greeting with every target down → X_ERR_CLIENT_ALL_TARGETS_FAILED')
    expect(stdout).toContain(
      '  refusing: X_ERR_CLIENT_CONNECT_FAILED\n  overloaded: status 503\n  echo00: X_ERR_CLIENT_CONNECT_FAILED',
    )
  })
})
