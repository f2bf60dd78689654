import { execFile } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import { mkdtempSync, readFileSync, renameSync, rmSync, watch } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))
const READY = /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/
// nginx combined: $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
// curl may reach localhost over IPv6 or IPv4.
const COMBINED =
  /^(?:127\.0\.0\.1|::1|::ffff:127\.0\.0\.1) - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "(.+?)" (\d{3}) (\d+) "(.*?)" "(.*?)"$/

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start(env: Record<string, string>): Promise<Program & { base: string }> {
  const program = await startProgram(dir, 'main.ts', { PORT: '0', ...env }, READY)
  // stop() is safe to call twice: the second call only waits for the exit.
  cleanups.push(async () => {
    await program.stop()
  })
  return { ...program, base: program.match[1]! }
}

/** Runs one of the curl commands the program printed, choosing it by a fragment. */
async function curl(program: Program, fragment: string): Promise<void> {
  const line = program
    .output()
    .split('\n')
    .find((l) => l.trim().startsWith('curl') && l.includes(fragment))!
  await run('sh', ['-c', `${line.trim()} -s -o /dev/null`])
}

/** Resolves once the program has written `n` lines matching `pattern` to its stdout. */
function linesOf(program: Program, pattern: RegExp, n: number): Promise<string[]> {
  const events = program.child.stdout as unknown as EventEmitter
  return new Promise((resolve, reject) => {
    const check = () => {
      const got = program
        .output()
        .split('\n')
        .filter((l) => pattern.test(l))
      if (got.length < n) return
      clearTimeout(timer)
      events.off('data', check)
      resolve(got)
    }
    const timer = setTimeout(() => reject(new Error(`fewer than ${n} access lines within 20 s`)), 20_000)
    events.on('data', check)
    check()
  })
}

describe('access-logs example', () => {
  it('writes nginx combined lines to the console for the documented curl calls', async () => {
    const program = await start({})
    expect(program.output()).toContain('access log: combined to the console')
    await curl(program, '/hello')
    await curl(program, '-d Alice')
    await curl(program, '/nowhere')
    const got = (await linesOf(program, COMBINED, 3)).map((l) => COMBINED.exec(l)!.slice(1))
    expect(got).toEqual([
      ['GET /hello HTTP/1.1', '200', '13', '-', expect.stringMatching(/^curl\//)],
      ['POST /hello HTTP/1.1', '201', '13', '-', expect.stringMatching(/^curl\//)],
      ['GET /nowhere HTTP/1.1', '404', expect.stringMatching(/^\d+$/), '-', expect.stringMatching(/^curl\//)],
    ])
    expect(await program.stop()).toBe(0)
  })

  it('writes JSON lines to a file, one per exchange, with the echoed request id, and reopens it on SIGHUP', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'x-access-logs-'))
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }))
    const file = join(tmp, 'access.log')
    const program = await start({ ACCESS_LOG_FORMAT: 'json', ACCESS_LOG_FILE: file })
    expect(program.output()).toContain(`access log: json to ${file}`)
    const base = program.base.replace('localhost', '127.0.0.1')
    const first = await fetch(`${base}/hello`, { headers: { 'x-request-id': 'before-rotation' } })
    expect(await first.text()).toBe('Hello, World!')
    // What logrotate does: move the file away, then tell the program (the command it printed).
    renameSync(file, `${file}.1`)
    const reopened = new Promise<void>((resolve) => {
      const w = watch(tmp, () => {
        w.close()
        resolve()
      })
    })
    program.child.kill('SIGHUP')
    await reopened
    const second = await fetch(`${base}/hello`, {
      method: 'POST',
      body: 'Bob',
      headers: { 'content-type': 'text/plain' },
    })
    expect(await second.text()).toBe('Hello, Bob!')
    const id = second.headers.get('x-request-id')
    expect(await program.stop()).toBe(0)
    const parse = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(parse(`${file}.1`)).toEqual([
      expect.objectContaining({
        msg: 'access',
        method: 'GET',
        uri: '/hello',
        protocol: 'HTTP/1.1',
        status: 200,
        body_bytes_sent: 13,
        request_id: 'before-rotation',
        aborted: false,
      }),
    ])
    expect(parse(file)).toEqual([
      expect.objectContaining({
        method: 'POST',
        status: 201,
        body_bytes_sent: 11,
        request_body_bytes: 3,
        request_id: id,
      }),
    ])
    expect(program.output()).not.toContain('"msg":"access"')
  })
})
