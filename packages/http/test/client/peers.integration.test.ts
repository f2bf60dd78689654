// The Client against real server programs: `openssl s_server -www` (TLS, HTTP/1.0 answer
// read to the close) and `nghttpd` (nghttp2's HTTP/2 server). Both listen on port 0.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cert } from '../../../../test-support/tls.ts'
import { client, onCleanup } from './helpers.ts'

const tls = fileURLToPath(new URL('../../../../test-support/tls/', import.meta.url))
const keyFile = join(tls, 'localhost-key.pem')
const certFile = join(tls, 'localhost-cert.pem')

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  )
  return child
}

/** Resolves with the first match of `re` in the child's output. */
function waitFor(child: ChildProcess, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = out.match(re)
      if (m !== null) {
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        resolve(m)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing ${re}: ${out}`)))
  })
}

/** The TCP port a process listens on, read from /proc (for servers that do not print it). */
function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)
      if (m !== null) inodes.add(m[1]!)
    } catch {
      // the fd closed meanwhile
    }
  }
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) return Number.parseInt(cols[1]!.split(':')[1]!, 16)
  }
  return undefined
}

describe('against real servers', () => {
  it('reads the answer of openssl s_server -www over TLS', async () => {
    const child = start('openssl', [
      's_server',
      '-accept',
      '127.0.0.1:0',
      '-key',
      keyFile,
      '-cert',
      certFile,
      '-www',
    ])
    const [, port] = await waitFor(child, /ACCEPT 127\.0\.0\.1:(\d+)/)
    const c = client(`https://127.0.0.1:${port}`, { secureSocket: { ca: cert } })
    const res = await c.get('/')
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Ciphers supported in s_server binary')
  })

  it('speaks HTTP/2 with nghttpd and multiplexes on one session', async () => {
    const docs = mkdtempSync(join(tmpdir(), 'x-nghttpd-'))
    onCleanup(async () => rmSync(docs, { recursive: true, force: true }))
    writeFileSync(join(docs, 'index.html'), 'hello from nghttpd')
    const child = start('nghttpd', ['-d', docs, '--address=127.0.0.1', '-v', '0', keyFile, certFile])
    await waitFor(child, /listen 127\.0\.0\.1/)
    const port = listeningPort(child.pid!)
    expect(port).toBeGreaterThan(0)
    const url = `https://127.0.0.1:${port}`
    const c = client(url, { httpVersion: '2', secureSocket: { ca: cert } })
    const bodies = await Promise.all(
      Array.from({ length: 20 }, () => c.get('/index.html').then((r) => r.text())),
    )
    expect(bodies.every((b) => b === 'hello from nghttpd')).toBe(true)
    expect(c.stats()[url]).toMatchObject({ protocol: 'h2', connections: 1 })
  })
})
