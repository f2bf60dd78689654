// An open-loop load generator on undici: requests are scheduled at a fixed rate whatever
// the server does, and each latency is measured from when the request was due, so a stall
// shows up in the percentiles (no coordinated omission). Bounded by duration and count.
import { Pool } from 'undici'

/** What one run of {@link runLoad} asks for. */
export interface LoadOptions {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** Requests per second. */
  rate: number
  /** How long to send, in ms. */
  durationMs: number
  /** The path of the i-th request. */
  path: (i: number) => string
  /** Connections to keep open. @defaultValue 32 */
  connections?: number
  /** A request taking longer than this fails, in ms. @defaultValue 10000 */
  timeoutMs?: number
  /** Called at each tick with the elapsed time (for scripted faults). */
  onTick?: (elapsedMs: number) => void
  /** Stops sending early when it resolves. */
  stop?: Promise<unknown>
  /**
   * Gives up once the requests waiting for an answer are more than this many ms of load: the
   * server has fallen behind for good, and an open-loop run would only pile up latency.
   */
  maxBacklogMs?: number
}

/** What one run measured. */
export interface LoadResult {
  sent: number
  ok: number
  /** Answers with a status other than 2xx/3xx. */
  badStatus: number
  /** Requests that got no answer, by error code. */
  errors: Record<string, number>
  /** Answers per second over the run. */
  achievedRate: number
  p50: number
  p99: number
  max: number
  /** Status codes seen, with counts. */
  statuses: Record<number, number>
  /** True when the run gave up early (see `maxBacklogMs`). */
  aborted: boolean
}

const TICK_MS = 5

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Sends `rate` requests a second for `durationMs`, then waits for the last answers. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(o.origin, {
    connections: o.connections ?? 32,
    pipelining: 1,
    headersTimeout: o.timeoutMs ?? 10_000,
    bodyTimeout: o.timeoutMs ?? 10_000,
  })
  const total = Math.floor((o.rate * o.durationMs) / 1000)
  const latencies = new Float64Array(total)
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    badStatus: 0,
    errors: {},
    achievedRate: 0,
    p50: 0,
    p99: 0,
    max: 0,
    statuses: {},
    aborted: false,
  }
  const maxBacklog =
    o.maxBacklogMs === undefined ? Number.POSITIVE_INFINITY : (o.rate * o.maxBacklogMs) / 1000
  let done = 0
  let stopped = false
  void o.stop?.then(() => {
    stopped = true
  })
  const start = performance.now()
  let outstanding = 0
  let drained: (() => void) | undefined
  const one = async (i: number, due: number): Promise<void> => {
    try {
      const res = await pool.request({ method: 'GET', path: o.path(i) })
      await res.body.dump()
      result.statuses[res.statusCode] = (result.statuses[res.statusCode] ?? 0) + 1
      if (res.statusCode < 400) result.ok++
      else result.badStatus++
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERR'
      result.errors[code] = (result.errors[code] ?? 0) + 1
    }
    latencies[done++] = performance.now() - due
    if (--outstanding === 0) drained?.()
  }
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start
      o.onTick?.(elapsed)
      if (outstanding > maxBacklog) {
        result.aborted = true
        stopped = true
      }
      const due = stopped ? result.sent : Math.min(total, Math.floor((elapsed * o.rate) / 1000))
      while (result.sent < due) {
        const i = result.sent++
        outstanding++
        void one(i, start + (i * 1000) / o.rate)
      }
      if (result.sent >= total || stopped || elapsed >= o.durationMs) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  if (outstanding > 0) await new Promise<void>((r) => (drained = r))
  const elapsed = performance.now() - start
  await pool.close()
  const sorted = latencies.subarray(0, done).sort()
  result.achievedRate = Math.round(((result.ok + result.badStatus) * 1000) / elapsed)
  result.p50 = percentile(sorted, 50)
  result.p99 = percentile(sorted, 99)
  result.max = sorted.length === 0 ? 0 : sorted[sorted.length - 1]!
  return result
}

/** Count of requests that got no answer. */
export function failures(r: LoadResult): number {
  let n = r.badStatus
  for (const k of Object.keys(r.errors)) n += r.errors[k]!
  return n
}
