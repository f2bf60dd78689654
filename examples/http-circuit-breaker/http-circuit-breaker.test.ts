import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-circuit-breaker example', () => {
  it('opens on failing statuses and refused connections, fails fast, and closes after a probe', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('1 healthy: GET /stock/apples → 200 42 in stock')
    expect(stdout).toContain('3 overloaded: GET /stock/apples → 503 overloaded')
    expect(stdout).toContain('  breaker: closed → open (failure-threshold)')
    expect(stdout).toContain('5 open: GET /stock/apples → X_ERR_CLIENT_CIRCUIT_OPEN')
    expect(stdout).toContain('the service saw 0 of the last 2 requests')
    expect(stdout).toContain(
      '  breaker: open → half-open (reset-time-elapsed)\n  breaker: half-open → closed (probe-success)\n7 probe: GET /stock/apples → 200 42 in stock',
    )
    expect(stdout).toContain('12 stopped: GET /stock/apples → X_ERR_CLIENT_CIRCUIT_OPEN')
    expect(stdout).toContain('breaker is open after the service stopped')
    expect(stdout).toContain('13 restarted: GET /stock/apples → 200 42 in stock')
    expect(stdout).toContain('breaker is closed after the service came back')
  })
})
