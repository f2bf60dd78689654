// Real HTTP clients against servers that call the hook: curl (HTTP/1.1 and HTTP/2 prior
// knowledge) and nghttp2's nghttp.
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { createServer as createH2Server } from 'node:http2'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { accessLog } from '../src/index.ts'
import { capture } from './helpers/capture.ts'

const run = promisify(execFile)
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('access log with real clients', () => {
  it('logs curl over HTTP/1.1 with its quoted user agent escaped as nginx does', async () => {
    const cap = capture()
    const log = accessLog({ destination: { stream: cap.stream } })
    const l = await listen(
      createServer((req, res) => {
        log.attach(req, res)
        res.end('hello from node')
      }),
    )
    cleanups.push(async () => {
      await l.drained()
      await l.close()
    })
    await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-A',
      'curl "x" \\ é',
      '-e',
      'http://r.example/',
      `${l.url}/c?q=1`,
    ])
    const [line] = await cap.waitFor(1)
    expect(line).toMatch(
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/c\?q=1 HTTP\/1\.1" 200 15 "http:\/\/r\.example\/" "curl \\x22x\\x22 \\x5C \\xC3\\xA9"$/,
    )
  })

  it('logs curl and nghttp over HTTP/2 with protocol HTTP/2.0', async () => {
    const cap = capture()
    const log = accessLog({
      format: ['request', 'status', 'response_body_size', 'http_user_agent'],
      destination: { stream: cap.stream },
    })
    const l = await listen(
      createH2Server((req, res) => {
        log.attach(req, res)
        res.end('h2 says hi')
      }),
    )
    cleanups.push(async () => {
      await l.drained()
      await l.close()
    })
    await run('curl', ['-s', '-o', '/dev/null', '--http2-prior-knowledge', '-A', 'curl-h2', `${l.url}/one`])
    await run('nghttp', ['-H', 'user-agent: nghttp-test', `${l.url}/two`])
    const lines = await cap.waitFor(2)
    expect(lines).toEqual([
      '"GET /one HTTP/2.0" 200 10 "curl-h2"',
      '"GET /two HTTP/2.0" 200 10 "nghttp-test"',
    ])
  })
})
