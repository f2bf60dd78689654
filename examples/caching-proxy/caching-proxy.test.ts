import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../test-support/listen.ts'

const dir = fileURLToPath(new URL('.', import.meta.url))
let child: ChildProcess | undefined

afterEach(() => {
  // The whole group: pnpm, tsx and node.
  if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL')
  child = undefined
})

interface Started {
  /** The first line printed. */
  line: string
  /** Everything printed so far. */
  output(): string
  /** Resolves once the program's output has ended (it exited). */
  closed: Promise<unknown>
}

/** Starts `pnpm start` with `env` and resolves with its first line of output. */
async function start(env: Record<string, string>): Promise<Started> {
  const c = spawn('pnpm', ['--silent', 'start'], {
    cwd: dir,
    env: { ...process.env, ...env },
    detached: true,
  })
  child = c
  let out = ''
  let firstLine: (line: string) => void = () => {}
  const line = new Promise<string>((resolve) => {
    firstLine = resolve
  })
  const onData = (d: string) => {
    out += d
    if (out.includes('\n')) firstLine(out.slice(0, out.indexOf('\n')))
  }
  c.stdout!.setEncoding('utf8').on('data', onData)
  c.stderr!.setEncoding('utf8').on('data', onData)
  const closed = once(c, 'close')
  void closed.then(() => firstLine(out))
  return { line: await line, output: () => out, closed }
}

describe('caching-proxy example', () => {
  it('starts with ORIGIN and PORT, forwards, answers from its cache and stops on SIGTERM', async () => {
    let hits = 0
    const srv = createServer((_req, res) => {
      hits++
      res
        .writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })
        .end(`hello #${hits}`)
    })
    const o = await listen(srv)
    const { line, output, closed } = await start({ ORIGIN: o.url, PORT: '0' })
    const m = /^caching proxy on (http:\/\/127\.0\.0\.1:\d+) for (\S+) \(shared cache in memory\)$/.exec(line)
    expect(m?.[2]).toBe(o.url)
    const proxy = m![1]!
    const first = await fetch(`${proxy}/greeting`)
    expect(await first.text()).toBe('hello #1')
    const second = await fetch(`${proxy}/greeting`)
    expect(await second.text()).toBe('hello #1')
    expect(second.headers.get('age')).not.toBeNull()
    expect(hits).toBe(1)

    // Ctrl-C in a terminal signals the whole process group, as here.
    process.kill(-child!.pid!, 'SIGTERM')
    await closed
    expect(output()).toContain('stopped')
    await o.drained()
    await o.close()
  })

  it('refuses to start without ORIGIN, and with an ORIGIN that is not an http(s) URL', async () => {
    const missing = await start({ ORIGIN: '', PORT: '0' })
    expect(missing.line).toBe('ORIGIN is required, such as ORIGIN=http://127.0.0.1:8000 PORT=8030 pnpm start')
    await missing.closed
    const bad = await start({ ORIGIN: 'ftp://example.com', PORT: '0' })
    expect(bad.line).toContain('(X_ERR_CLIENT_INVALID_URL)')
    await bad.closed
    expect(child!.exitCode).not.toBe(0)
  })
})
