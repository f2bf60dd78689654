import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { accessLog } from '../src/index.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const child = fileURLToPath(new URL('./helpers/rotating-server.ts', import.meta.url))
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'x-logging-rot-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The child's stdout, one awaited line at a time. */
function lines(proc: ChildProcessWithoutNullStreams): (prefix: string) => Promise<string> {
  const seen: string[] = []
  const waiters: Array<{ prefix: string; resolve: (l: string) => void }> = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const w = waiters.find((x) => line.startsWith(x.prefix))
    if (w !== undefined) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(line)
    } else seen.push(line)
  })
  return (prefix) => {
    const i = seen.findIndex((l) => l.startsWith(prefix))
    if (i !== -1) return Promise.resolve(seen.splice(i, 1)[0]!)
    return new Promise((resolve) => waiters.push({ prefix, resolve }))
  }
}

describe('file rotation', () => {
  it('reopens the file on SIGHUP after logrotate renamed it, losing no line', async () => {
    const dir = tmp()
    const file = join(dir, 'access.log')
    const proc = spawn(process.execPath, ['--import', 'tsx', child, file], { cwd: root, stdio: 'pipe' })
    cleanups.push(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL')
    })
    proc.stderr.resume()
    const next = lines(proc)
    const port = Number((await next('port ')).slice(5))
    const dispatcher = new Agent()
    cleanups.push(() => dispatcher.close())
    const get = async (path: string) =>
      (await request(`http://127.0.0.1:${port}${path}`, { dispatcher })).body.dump()

    await get('/before-1')
    await get('/before-2')
    proc.stdin.write('flush\n')
    await next('flushed')
    renameSync(file, `${file}.1`)
    await get('/between') // written after the rename, before the signal: still into the old file
    proc.stdin.write('flush\n')
    await next('flushed')
    proc.kill('SIGHUP')
    await next('reopened')
    await get('/after-1')
    await get('/after-2')
    proc.stdin.write('flush\n')
    await next('flushed')
    proc.stdin.write('exit\n')
    await new Promise((resolve) => proc.once('exit', resolve))

    const requested = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => /"GET (\S+) HTTP/.exec(l)![1])
    expect(requested(`${file}.1`)).toEqual(['/before-1', '/before-2', '/between'])
    expect(requested(file)).toEqual(['/after-1', '/after-2'])
  })

  it('reopens on reopen() too, for a process that handles signals itself', async () => {
    const dir = tmp()
    const file = join(dir, 'a.log')
    const log = accessLog({ format: ['request_uri'], destination: { file, reopenOnSignal: false } })
    cleanups.push(() => log.close())
    await log.ready()
    const rec = (target: string) => ({
      remoteAddress: undefined,
      method: 'GET',
      target,
      protocol: 'HTTP/1.1',
      headers: {},
      status: 200,
      bodyBytes: 0,
      requestBodyBytes: 0,
      startTime: Date.now(),
      durationMs: 0,
      requestId: undefined,
      aborted: false,
    })
    log.log(rec('/old'))
    await log.flush()
    renameSync(file, `${file}.1`)
    log.reopen()
    log.log(rec('/new'))
    await log.flush()
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('/old\n')
    expect(readFileSync(file, 'utf8')).toBe('/new\n')
  })

  it('writes lines still waiting for the flush interval to the file being rotated away', async () => {
    const dir = tmp()
    const file = join(dir, 'a.log')
    const log = accessLog({
      format: ['request_uri'],
      destination: { file, reopenOnSignal: false, flushIntervalMs: 60_000 },
    })
    cleanups.push(() => log.close())
    await log.ready()
    const rec = (target: string) => ({
      remoteAddress: undefined,
      method: 'GET',
      target,
      protocol: 'HTTP/1.1',
      headers: {},
      status: 200,
      bodyBytes: 0,
      requestBodyBytes: 0,
      startTime: Date.now(),
      durationMs: 0,
      requestId: undefined,
      aborted: false,
    })
    log.log(rec('/waiting'))
    renameSync(file, `${file}.1`)
    log.reopen()
    log.log(rec('/new'))
    await log.flush()
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('/waiting\n')
    expect(readFileSync(file, 'utf8')).toBe('/new\n')
  })
})
