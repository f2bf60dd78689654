import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('mutual-ssl example', () => {
  it('prints the client subject the service saw, and refuses a client without a certificate', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('the service saw client subject: O=x examples, OU=payments, CN=billing-service')
    expect(stdout).toContain('common name billing-service, issued by Example CA, over TLSv1.3')
    expect(stdout).toMatch(/without a client certificate → X_ERR_CLIENT_(CONNECTION_RESET|TLS)/)
    expect(stdout).toContain('the Listener refused the handshake: X_ERR_TLS_PEER_CERT_REQUIRED')
  })
})
