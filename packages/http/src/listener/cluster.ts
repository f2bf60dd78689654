// Cluster mode of the Listener. In the primary, a WorkerPool forks the workers, restarts a
// dead one with back-off until a crash loop stops it, and drains or kills them; it serves no
// request. In a worker, the Listener serves as usual and answers the primary's messages here.

import cluster, { type Worker } from 'node:cluster'
import { channel } from 'node:diagnostics_channel'
import { type AddressInfo, createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { configError, type HttpError } from '../errors.js'

const workerStartChannel = channel('x:http:worker-start')
const workerExitChannel = channel('x:http:worker-exit')
const workerRestartChannel = channel('x:http:worker-restart')
const workerCrashLoopChannel = channel('x:http:worker-crash-loop')

/** Cluster mode in full; `workers: n` is short for `{ count: n }`. */
export interface WorkersOptions {
  /** How many worker processes: a number from 1 to 1024, or `'auto'` for `os.availableParallelism()`. */
  count: number | 'auto'
  /** Delay before the first restart of a dead worker, in ms; doubles with each crash in `restartWindow`. @defaultValue 100 */
  restartDelay?: number
  /** Longest delay before a restart, in ms. @defaultValue 5000 */
  maxRestartDelay?: number
  /** Worker deaths tolerated within `restartWindow`; one more is a crash loop and restarts stop. @defaultValue 5 */
  maxRestarts?: number
  /** The window over which deaths are counted, in ms. @defaultValue 60000 */
  restartWindow?: number
  /** Extra time a drained worker gets to exit by itself before it is killed, in ms. @defaultValue 5000 */
  exitTimeout?: number
}

/** Cluster options after defaults. */
export interface ResolvedWorkers {
  readonly count: number
  readonly restartDelay: number
  readonly maxRestartDelay: number
  readonly maxRestarts: number
  readonly restartWindow: number
  readonly exitTimeout: number
}

/** Environment variable through which the primary tells workers the port it settled on. */
const PORT_ENV = 'X_HTTP_WORKER_PORT'
/** Messages between the primary and its workers carry this key, so the user's own messages pass by. */
const TAG = 'x:http'

interface WorkerMessage {
  [TAG]: 'ready' | 'failed' | 'stop'
  port?: number
  code?: string
  timeout?: number
}

const WORKER_KEYS = new Set([
  'count',
  'restartDelay',
  'maxRestartDelay',
  'maxRestarts',
  'restartWindow',
  'exitTimeout',
])

function ms(o: Record<string, unknown>, name: string, def: number, min: number): number {
  const v = o[name]
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2_147_483_647) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', `workers.${name} must be an integer from ${min}`)
  }
  return v
}

/** Validates the `workers` option; undefined when cluster mode is off. */
export function resolveWorkers(value: unknown): ResolvedWorkers | undefined {
  if (value === undefined) return undefined
  const o: Record<string, unknown> =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { count: value }
  for (const key of Object.keys(o)) {
    if (!WORKER_KEYS.has(key)) throw configError('X_ERR_HTTP_INVALID_OPTION', `unknown option workers.${key}`)
  }
  const c = o.count
  let count: number
  if (c === 'auto') count = availableParallelism()
  else if (typeof c === 'number' && Number.isInteger(c) && c >= 1 && c <= 1024) count = c
  else throw configError('X_ERR_HTTP_INVALID_OPTION', "workers must be 'auto' or an integer from 1 to 1024")
  const restartDelay = ms(o, 'restartDelay', 100, 0)
  const maxRestartDelay = ms(o, 'maxRestartDelay', 5_000, 0)
  if (maxRestartDelay < restartDelay) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'workers.maxRestartDelay must be at least restartDelay')
  }
  return {
    count,
    restartDelay,
    maxRestartDelay,
    maxRestarts: ms(o, 'maxRestarts', 5, 0),
    restartWindow: ms(o, 'restartWindow', 60_000, 1),
    exitTimeout: ms(o, 'exitTimeout', 5_000, 0),
  }
}

/** True in the process that forks workers: cluster mode was asked for and this is not a worker. */
export function isClusterPrimary(workers: ResolvedWorkers | undefined): boolean {
  return workers !== undefined && cluster.isPrimary
}

/** In a worker of a clustered Listener, the port the primary settled on (else the configured one). */
export function workerPort(workers: ResolvedWorkers | undefined, port: number): number {
  if (workers === undefined || !cluster.isWorker) return port
  const p = Number(process.env[PORT_ENV])
  return Number.isInteger(p) && p > 0 ? p : port
}

/**
 * Port 0 in cluster mode: the primary asks the OS for a port once and hands that number to
 * every worker. Workers listening on 0 themselves would share one handle only while one of
 * them lives; after they all died, a restart would come up on another port.
 */
function freePort(host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (e) =>
      reject(configError('X_ERR_HTTP_LISTEN_FAILED', `could not find a free port on ${host ?? '*'}`, e)),
    )
    probe.listen(0, host, () => {
      const port = (probe.address() as AddressInfo).port
      probe.close(() => resolve(port))
    })
  })
}

function isMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as Record<string, unknown>)[TAG] === 'string'
}

/**
 * Worker side: reports the bound port (or the failure) to the primary, and drains on its
 * `stop` message, then disconnects so the worker exits once its event loop is empty.
 */
export function serveAsWorker(
  workers: ResolvedWorkers | undefined,
  port: number,
  gracefulStop: (timeout: number) => Promise<void>,
): void {
  if (workers === undefined || !cluster.isWorker || process.send === undefined) return
  const onMessage = (m: unknown): void => {
    if (!isMessage(m) || m[TAG] !== 'stop') return
    process.off('message', onMessage)
    void gracefulStop(m.timeout ?? 30_000).then(() => {
      if (cluster.worker?.isConnected()) cluster.worker.disconnect()
    })
  }
  process.on('message', onMessage)
  process.send({ [TAG]: 'ready', port } satisfies WorkerMessage)
}

/** Worker side: tells the primary that listening failed, so its start() rejects instead of restarting us. */
export function reportWorkerFailure(workers: ResolvedWorkers | undefined, code: string | undefined): void {
  if (workers === undefined || !cluster.isWorker || process.send === undefined) return
  process.send({ [TAG]: 'failed', ...(code === undefined ? {} : { code }) } satisfies WorkerMessage)
}

/** Where the pool reports a crash loop. */
interface PoolLogger {
  error(obj: object, msg?: string): void
}

type PoolState = 'starting' | 'running' | 'stopping' | 'stopped'

/** Primary side: the set of worker processes of one Listener. */
export class WorkerPool {
  readonly #o: ResolvedWorkers
  readonly #logger: PoolLogger
  readonly #workers = new Set<Worker>()
  readonly #timers = new Set<NodeJS.Timeout>()
  /** When workers died unexpectedly, oldest first, within `restartWindow`. */
  #deaths: number[] = []
  #port: number
  #state: PoolState = 'starting'
  #gaveUp = false
  #startFailed: ((error: HttpError) => void) | undefined
  #ready = 0
  #waiter: { n: number; resolve: () => void } | undefined
  #stopping: Promise<void> | undefined

  readonly #host: string | undefined

  constructor(options: ResolvedWorkers, port: number, host: string | undefined, logger: PoolLogger) {
    this.#o = options
    this.#port = port
    this.#host = host
    this.#logger = logger
  }

  /** The port every worker serves. */
  get port(): number {
    return this.#port
  }

  /** Process ids of the workers alive now. */
  get pids(): number[] {
    const out: number[] = []
    for (const w of this.#workers) if (w.process.pid !== undefined) out.push(w.process.pid)
    return out
  }

  /**
   * Forks every worker and resolves once each is listening. Rejects with
   * `X_ERR_HTTP_LISTEN_FAILED` when a worker cannot listen, `X_ERR_HTTP_WORKER_CRASH_LOOP`
   * when workers keep dying; the workers are killed then.
   */
  async start(): Promise<void> {
    const failed = new Promise<never>((_, reject) => {
      this.#startFailed = reject
    })
    // Kept from becoming an unhandled rejection when start() already returned.
    failed.catch(() => {})
    try {
      if (this.#port === 0) this.#port = await freePort(this.#host)
      for (let i = 0; i < this.#o.count; i++) this.#fork()
      await Promise.race([this.#untilReady(this.#o.count), failed])
    } catch (e) {
      await this.stop(0)
      throw e
    } finally {
      this.#startFailed = undefined
      this.#waiter = undefined
    }
    this.#state = 'running'
  }

  #untilReady(n: number): Promise<void> {
    if (this.#ready >= n) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.#waiter = { n, resolve }
    })
  }

  /** Drains every worker (each runs its own graceful stop); timeout 0 kills them at once. */
  stop(timeout: number): Promise<void> {
    if (this.#stopping !== undefined) {
      if (timeout === 0) for (const w of this.#workers) w.process.kill('SIGKILL')
      return this.#stopping
    }
    this.#state = 'stopping'
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    const exits: Promise<void>[] = []
    for (const w of this.#workers) exits.push(this.#stopWorker(w, timeout))
    this.#stopping = Promise.all(exits).then(() => {
      this.#state = 'stopped'
    })
    return this.#stopping
  }

  #stopWorker(w: Worker, timeout: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (w.isDead()) {
        resolve()
        return
      }
      w.once('exit', () => resolve())
      if (timeout === 0 || !w.isConnected()) {
        w.process.kill('SIGKILL')
        return
      }
      w.send({ [TAG]: 'stop', timeout } satisfies WorkerMessage)
      // The worker destroys what is left at `timeout`; one that still has not exited is killed.
      const killer = setTimeout(() => w.process.kill('SIGKILL'), timeout + this.#o.exitTimeout)
      killer.unref()
      w.once('exit', () => clearTimeout(killer))
    })
  }

  /** Forks one worker and follows it: its ready or failed message, its exit. */
  #fork(): void {
    const w = cluster.fork({ [PORT_ENV]: String(this.#port) })
    this.#workers.add(w)
    let ready = false
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      if (m[TAG] === 'ready' && !ready) {
        ready = true
        this.#ready++
        if (workerStartChannel.hasSubscribers) {
          workerStartChannel.publish({ pid: w.process.pid, id: w.id, port: this.#port })
        }
        const waiter = this.#waiter
        if (waiter !== undefined && this.#ready >= waiter.n) {
          this.#waiter = undefined
          waiter.resolve()
        }
      } else if (m[TAG] === 'failed') {
        const code = m.code === undefined ? '' : ` (${m.code})`
        this.#startFailed?.(
          configError('X_ERR_HTTP_LISTEN_FAILED', `a worker could not listen on port ${this.#port}${code}`),
        )
      }
    })
    w.once('exit', (code: number | null, signal: string | null) => {
      this.#workers.delete(w)
      if (ready) this.#ready--
      const expected = this.#state === 'stopping' || this.#state === 'stopped'
      if (workerExitChannel.hasSubscribers) {
        workerExitChannel.publish({ pid: w.process.pid, id: w.id, code, signal, expected })
      }
      if (!expected) this.#onDeath()
    })
  }

  /** A worker died on its own: restart it after a back-off, unless this is a crash loop. */
  #onDeath(): void {
    const now = Date.now()
    const since = now - this.#o.restartWindow
    this.#deaths = this.#deaths.filter((t) => t > since)
    this.#deaths.push(now)
    if (this.#deaths.length > this.#o.maxRestarts) {
      if (this.#gaveUp) return
      this.#gaveUp = true
      const error = configError(
        'X_ERR_HTTP_WORKER_CRASH_LOOP',
        `${this.#deaths.length} workers died within ${this.#o.restartWindow} ms: not restarting them`,
      )
      if (workerCrashLoopChannel.hasSubscribers) {
        workerCrashLoopChannel.publish({ deaths: this.#deaths.length, alive: this.#workers.size, error })
      }
      this.#startFailed?.(error)
      try {
        this.#logger.error({ err: error, code: error.code, alive: this.#workers.size }, 'worker crash loop')
      } catch {
        // A throwing logger must not take the primary down with it.
      }
      return
    }
    const delay = Math.min(this.#o.restartDelay * 2 ** (this.#deaths.length - 1), this.#o.maxRestartDelay)
    if (workerRestartChannel.hasSubscribers) {
      workerRestartChannel.publish({ delay, deaths: this.#deaths.length })
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (this.#state === 'stopping' || this.#state === 'stopped') return
      this.#fork()
    }, delay)
    this.#timers.add(timer)
  }
}
