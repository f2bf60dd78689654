// Under a burst of 3,000 requests, the access log must never hold the event loop: lines go
// to a FIFO whose reader stops reading, so any write that waited for the disk would block
// until the reader resumes. A control run with a synchronous writer shows the test can fail.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { accessLog, type FileDestination } from '../src/index.ts'

const reader = fileURLToPath(new URL('./helpers/slow-reader.mjs', import.meta.url))
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

// Generous: on a shared 2-vCPU machine under load, the loop already lags up to ~250 ms with
// no logging at all (client and server share it). A writer that waited on the stalled FIFO
// holds the loop for about the whole stall.
const BOUND_MS = 750
const STALL_MS = 3000
const CONNECTIONS = 8
// 500-byte user agents make the lines long, so the FIFO's 64 KiB fill after ~100 requests.
const AGENT = `burst-client/1.0 ${'x'.repeat(483)}`

async function burst(
  destination: FileDestination,
  requests: number,
  reader$: ChildProcessWithoutNullStreams,
) {
  const log = accessLog({ destination })
  const server = createServer((req, res) => {
    log.attach(req, res)
    res.end('hello world')
  })
  const l = await listen(server)
  const pool = new Pool(l.url, { connections: CONNECTIONS })
  const h = monitorEventLoopDelay({ resolution: 5 })
  let next = 0
  const worker = async () => {
    while (next < requests) {
      next++
      const r = await pool.request({ path: '/burst', method: 'GET', headers: { 'user-agent': AGENT } })
      await r.body.dump()
    }
  }
  h.enable()
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
  h.disable()
  const stats = log.stats()
  reader$.stdin.write('go\n')
  await log.close()
  await pool.close()
  await l.drained()
  await l.close()
  const got = await new Promise<number>((resolve) => {
    let out = ''
    reader$.stdout.on('data', (d) => {
      out += d
    })
    reader$.on('exit', () => resolve(Number(out.trim())))
  })
  return { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, written: stats.written, got }
}

function fifo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'x-logging-fifo-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'access.fifo')
  execFileSync('mkfifo', [path])
  return path
}

function startReader(path: string, stallMs: number): ChildProcessWithoutNullStreams {
  const proc = spawn(process.execPath, [reader, path, String(stallMs)], { stdio: 'pipe' })
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  })
  return proc
}

describe('event loop under a burst', () => {
  it('is never held by logging while the destination stalls, and every line arrives afterwards', {
    timeout: 60_000,
  }, async () => {
    const path = fifo()
    const proc = startReader(path, 60_000)
    const r = await burst({ file: path }, 3_000, proc)
    expect(r.maxMs).toBeLessThan(BOUND_MS)
    expect(r.written).toBe(3_000)
    expect(r.got).toBe(3_000)
  })

  it('would fail with a writer that is synchronous per line (control)', { timeout: 60_000 }, async () => {
    const path = fifo()
    const proc = startReader(path, STALL_MS)
    const r = await burst({ file: path, sync: true }, 1_000, proc)
    expect(r.maxMs).toBeGreaterThan(BOUND_MS)
    expect(r.got).toBe(1_000)
  })
})
