import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-load-balancer example', () => {
  it('balances round-robin, survives a dead backend, takes it back, and shows least-request and a rule', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('round-robin: LBMock1, LBMock2, LBMock3, LBMock1, LBMock2, LBMock3')
    expect(stdout).toMatch(/LBMock2 stopped: (LBMock[13], ){5}LBMock[13]\n/)
    expect(stdout).toContain('circuits: LBMock1 closed, LBMock2 open, LBMock3 closed')
    expect(stdout).toMatch(/LBMock2 skipped: (LBMock[13], ){3}LBMock[13]\n/)
    expect(stdout).toMatch(/LBMock2 back: .*LBMock2/)
    expect(stdout).toContain('circuits: LBMock1 closed, LBMock2 closed, LBMock3 closed')
    expect(stdout).not.toContain('failed)')
    expect(stdout).toContain(
      'least-request: while one backend works on /slow, the next 4 went to the other two',
    )
    expect(stdout).toContain('tenant 4 → LBMock2\ntenant 5 → LBMock3\ntenant 6 → LBMock1')
  })
})
