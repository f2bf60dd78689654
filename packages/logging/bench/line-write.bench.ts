// The per-line cost of the access log's own work, in one process: formatting a combined line,
// and handing lines to the file writer in bursts of 50 per event-loop turn (a busy server's
// pattern) — batched per turn as @x/logging does, or one sonic-boom write per line.
// Run: node --conditions=@x/source --import tsx bench/line-write.bench.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accessLog } from '@x/logging'
import sonic from 'sonic-boom'

const rec = {
  remoteAddress: '::ffff:127.0.0.1',
  method: 'GET',
  target: '/',
  protocol: 'HTTP/1.1',
  headers: { host: '127.0.0.1:3000', 'user-agent': 'autocannon/8.0.0', connection: 'keep-alive' },
  status: 200,
  bodyBytes: 11,
  requestBodyBytes: 0,
  startTime: Date.now(),
  durationMs: 0.2,
  requestId: undefined,
  aborted: false,
}
const dir = mkdtempSync(join(tmpdir(), 'x-logging-line-'))
const log = accessLog({ destination: { file: join(dir, 'a.log') } })
await log.ready()
const boom = new sonic.SonicBoom({ dest: join(dir, 'b.log'), sync: false })
await new Promise((r) => boom.once('ready', r))
function time(name: string, n: number, fn: () => void) {
  const res: number[] = []
  for (let k = 0; k < 7; k++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    res.push(Number(process.hrtime.bigint() - t) / n)
  }
  res.sort((a, b) => a - b)
  console.log(name.padEnd(30), 'min', res[0]!.toFixed(0), 'ns  median', res[3]!.toFixed(0), 'ns')
}
const line = `${log.format(rec)}\n`
time('format combined (warm-up)', 200000, () => {
  log.format(rec)
})
time('format combined', 200000, () => {
  log.format(rec)
})
// write bursts of 50 lines, then let the loop turn (as a busy server does)
async function burst(name: string, write: () => void) {
  const res: number[] = []
  for (let k = 0; k < 7; k++) {
    let total = 0
    for (let j = 0; j < 200; j++) {
      const t = process.hrtime.bigint()
      for (let i = 0; i < 50; i++) write()
      total += Number(process.hrtime.bigint() - t)
      await new Promise((r) => setImmediate(r))
    }
    res.push(total / (200 * 50))
  }
  res.sort((a, b) => a - b)
  console.log(name.padEnd(30), 'min', res[0]!.toFixed(0), 'ns  median', res[3]!.toFixed(0), 'ns')
}
await burst('log.log (batched sink)', () => log.log(rec))
await burst('sonic-boom write per line', () => boom.write(line))
await log.close()
boom.end()
boom.once('close', () => rmSync(dir, { recursive: true, force: true }))
