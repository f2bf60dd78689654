import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('websocket-basic', () => {
  it('connects a client to the listener, broadcasts, echoes and closes normally', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('client: connected, sub-protocol chat.v1')
    expect(stdout).toContain('client: received "guest-1: hello, room"')
    expect(stdout).toContain('client: received "guest-1: anyone here?"')
    expect(stdout).toContain('client: received 1024 bytes back')
    expect(stdout).toContain('server: guest-1 left with 1000 bye')
    expect(stdout).toContain('server: stopped')
  })
})
