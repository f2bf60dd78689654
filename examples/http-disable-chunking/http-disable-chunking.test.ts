import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-disable-chunking example', () => {
  it('frames requests and responses by the chunking policy of the Client and the Listener', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    const lines = stdout.split('\n').filter((line) => line.includes(' → '))
    expect(lines).toEqual([
      'client chunking AUTO, text body → the service received Content-Length: 13 (Hello, World!)',
      'client chunking AUTO, stream body → the service received Transfer-Encoding: chunked (Hello, streamed World!)',
      'client chunking ALWAYS, text body → the service received Transfer-Encoding: chunked (Hello, World!)',
      'client chunking ALWAYS, stream body → the service received Transfer-Encoding: chunked (Hello, streamed World!)',
      'client chunking NEVER, text body → the service received Content-Length: 13 (Hello, World!)',
      'client chunking NEVER, stream body → the service received Content-Length: 22 (Hello, streamed World!)',
      'listener chunking AUTO, text response → Content-Length: 13 (Hello, World!)',
      'listener chunking AUTO, stream response → Transfer-Encoding: chunked (Hello, streamed World!)',
      'listener chunking ALWAYS, text response → Transfer-Encoding: chunked (Hello, World!)',
      'listener chunking ALWAYS, stream response → Transfer-Encoding: chunked (Hello, streamed World!)',
      'listener chunking NEVER, text response → Content-Length: 13 (Hello, World!)',
      'listener chunking NEVER, stream response → Content-Length: 22 (Hello, streamed World!)',
    ])
  })
})
