// Where log lines go: stdout or a file through sonic-boom (pino's asynchronous writer), a
// caller's stream, or a TCP socket. Every sink is bounded: when it cannot keep up it drops
// lines and counts them, never blocks the event loop, never grows without limit.
import { channel } from 'node:diagnostics_channel'
import { constants } from 'node:os'
// sonic-boom is CommonJS: its module object carries the class as `.SonicBoom` in ESM and CJS alike.
import sonic, { type SonicBoom } from 'sonic-boom'
import { invalidOption, LoggingError } from './errors.js'
import { type SocketDestination, SocketSink, validateSocketDestination } from './socket-destination.js'

/** A file written asynchronously, reopened on a signal so logrotate can move it away. */
export interface FileDestination {
  /** Path of the log file; it is appended to. */
  readonly file: string
  /** Create missing parent directories. @defaultValue true */
  readonly mkdir?: boolean
  /**
   * Write each line before returning. Blocks the event loop on every line: only for
   * short-lived scripts that must not lose a line. @defaultValue false
   */
  readonly sync?: boolean
  /** Lines waiting for the disk beyond this many bytes are dropped and counted. @defaultValue 16 MiB */
  readonly maxBufferBytes?: number
  /** Signal on which the file is reopened (logrotate's `postrotate`), or `false`. @defaultValue 'SIGHUP' */
  readonly reopenOnSignal?: NodeJS.Signals | false
  /**
   * How long lines may wait in memory to be written together, in ms (nginx's `flush=`); 0
   * writes once per event-loop turn. Each write costs a thread-pool round trip, so batching
   * is what keeps a busy server's logging cheap. @defaultValue 100
   */
  readonly flushIntervalMs?: number
}

/** Any object with a `write(line)` method (a pino destination, a Writable): lines are handed over as they come. */
export interface StreamDestination {
  readonly stream: { write(line: string): unknown }
}

/** Where access-log lines go: stdout (asynchronously), a file, or a stream. */
export type AccessLogDestination = 'console' | FileDestination | StreamDestination

/** Where trace-log lines go: those of an access log, or a TCP socket. */
export type TraceLogDestination = AccessLogDestination | SocketDestination

export type { SocketDestination }

/** Counters of one destination. */
export interface DestinationStats {
  /** Lines accepted (written or waiting to be written). */
  readonly written: number
  /** Lines dropped: destination down, buffer full, or closed. */
  readonly dropped: number
  /** For a socket destination: whether it is connected now. */
  readonly connected?: boolean
}

/** The internal face of every destination. `line` ends with `\n`. */
export interface Sink {
  write(line: string): void
  reopen(): void
  flush(): Promise<void>
  close(): Promise<void>
  ready(): Promise<void>
  stats(): DestinationStats
}

const dropChannel = channel('x:logging:drop')
const reopenChannel = channel('x:logging:reopen')
const errorChannel = channel('x:logging:destination-error')

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024
const DEFAULT_FLUSH_MS = 100
/** A batch this large is written at once, whatever the interval. */
const BATCH_BYTES = 64 * 1024

function positiveInt(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw invalidOption(option, 'expected a positive integer')
  return value
}

// Fields sonic-boom has at run time that its type declarations leave out.
type Boom = SonicBoom & { readonly fd: number; readonly destroyed: boolean; readonly file: string | null }

/** stdout or a file, through sonic-boom. */
class BoomSink implements Sink {
  private readonly boom: Boom
  private readonly label: string
  private readonly signal: NodeJS.Signals | false
  private readonly opened: Promise<void>
  private closed = false
  private failed = false
  private written = 0
  private dropped = 0
  /** Lines waiting to be handed to sonic-boom as one write, encoded as they come (see write()). */
  private batch: Buffer | null = null
  private used = 0
  private batchLines = 0
  private scheduled = false
  private timer: NodeJS.Timeout | undefined = undefined

  private readonly sync: boolean

  constructor(
    target: { fd: 1 } | { file: string; mkdir: boolean; sync: boolean },
    maxBuffer: number,
    signal: NodeJS.Signals | false,
    private readonly flushMs: number,
  ) {
    this.label = 'fd' in target ? 'console' : target.file
    this.sync = 'fd' in target ? false : target.sync
    this.signal = signal
    // Buffers, not strings: sonic-boom measures a pending string (Buffer.byteLength) on every
    // write while one is in flight, flattening it each time; a Buffer's length is just read.
    this.boom = (
      'fd' in target
        ? new sonic.SonicBoom({ fd: 1, sync: false, maxLength: maxBuffer, contentMode: 'buffer' })
        : new sonic.SonicBoom({
            dest: target.file,
            mkdir: target.mkdir,
            sync: target.sync,
            append: true,
            maxLength: maxBuffer,
            contentMode: 'buffer',
          })
    ) as Boom
    this.boom.on('drop', this.onDrop)
    this.boom.on('error', this.onError)
    this.opened =
      'fd' in target
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            if (this.boom.fd >= 0) return resolve()
            const onReady = () => {
              this.boom.off('error', onFail)
              resolve()
            }
            const onFail = (err: Error) => {
              this.boom.off('ready', onReady)
              reject(
                new LoggingError('X_ERR_LOGGING_DESTINATION_FAILED', `cannot open ${this.label}`, {
                  option: 'destination.file',
                  cause: err,
                }),
              )
            }
            this.boom.once('ready', onReady)
            this.boom.once('error', onFail)
          })
    // Reported through ready(); a rejection nobody awaits must not crash the process.
    this.opened.catch(() => {
      this.failed = true
    })
    if (signal !== false) process.on(signal, this.onSignal)
    process.on('exit', this.onExit)
  }

  private readonly onDrop = () => {
    // What sonic-boom drops is one batch: all its lines are lost.
    this.dropped += this.handing
    this.written -= this.handing
    if (dropChannel.hasSubscribers)
      dropChannel.publish({ destination: this.label, reason: 'buffer-full', dropped: this.dropped })
  }

  private readonly onError = (error: Error) => {
    if (errorChannel.hasSubscribers) errorChannel.publish({ destination: this.label, error })
  }

  private readonly onSignal = () => {
    this.reopen()
  }

  private readonly onExit = () => {
    // Last chance for lines still in memory when the process exits on purpose.
    try {
      this.handOver()
      if (!this.boom.destroyed && this.boom.fd >= 0) this.boom.flushSync()
    } catch {
      // Nothing more can be done at exit.
    }
  }

  write(line: string): void {
    if (this.closed || this.boom.destroyed) {
      this.dropped++
      if (dropChannel.hasSubscribers)
        dropChannel.publish({ destination: this.label, reason: 'closed', dropped: this.dropped })
      return
    }
    if (this.sync) {
      this.handing = 1
      this.written++
      this.boom.write(Buffer.from(line) as never)
      return
    }
    // One sonic-boom write per batch instead of one per line: each file write (a thread-pool
    // round trip, tens of µs of CPU) is shared by every line of `flushMs`. Each line is encoded
    // into the batch buffer at once: joining lines into one string instead builds a tree of
    // string pieces that costs more to flatten and collect than the encoding itself.
    let batch = this.batch
    if (batch === null) {
      batch = Buffer.allocUnsafe(BATCH_BYTES)
      this.batch = batch
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a line that may not fit is measured.
    if (line.length * 3 > BATCH_BYTES - this.used) {
      const bytes = Buffer.byteLength(line)
      if (bytes > BATCH_BYTES - this.used) {
        this.handOver()
        if (bytes > BATCH_BYTES) {
          // Longer than a whole batch: handed over alone.
          this.handing = 1
          this.written++
          this.boom.write(Buffer.from(line) as never)
          return
        }
      }
    }
    this.used += batch.write(line, this.used)
    this.batchLines++
    this.written++
    if (this.flushMs === 0) {
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.handOver)
      }
    } else if (this.timer === undefined) {
      this.timer = setTimeout(this.handOver, this.flushMs)
      // Lines waiting must not keep the process alive: 'exit' writes them (onExit).
      this.timer.unref()
    }
  }

  private handing = 0

  private readonly handOver = () => {
    this.scheduled = false
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.batchLines === 0) return
    // A copy: sonic-boom keeps what it is given until written, and the batch buffer is reused.
    const data = Buffer.from(this.batch!.subarray(0, this.used))
    this.handing = this.batchLines
    this.used = 0
    this.batchLines = 0
    if (this.boom.destroyed) {
      this.written -= this.handing
      this.dropped += this.handing
      return
    }
    this.boom.write(data as never)
  }

  reopen(): void {
    if (this.closed || this.boom.destroyed || this.boom.file === null) return
    // Lines logged before the signal belong to the file being rotated away, as nginx flushes
    // its buffers before reopening: hand them over first (sonic-boom reopens once they are written).
    this.handOver()
    try {
      this.boom.reopen()
      if (reopenChannel.hasSubscribers) reopenChannel.publish({ destination: this.label })
    } catch (error) {
      this.onError(error as Error)
    }
  }

  private idle(): boolean {
    // sonic-boom has no "all written" event for minLength 0; these are the fields its own flushSync reads.
    const b = this.boom as unknown as { _writing: boolean; _len: number }
    return this.boom.destroyed || this.failed || (!b._writing && b._len === 0)
  }

  flush(): Promise<void> {
    this.handOver()
    if (this.idle()) return Promise.resolve()
    return new Promise((resolve) => {
      // sonic-boom emits 'drain' each time its buffer is empty and no write is in flight.
      const check = () => {
        if (!this.idle()) return
        this.boom.off('drain', check)
        this.boom.off('error', check)
        this.boom.off('close', check)
        resolve()
      }
      this.boom.on('drain', check)
      this.boom.on('error', check)
      this.boom.on('close', check)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.handOver()
    this.closed = true
    if (this.signal !== false) process.off(this.signal, this.onSignal)
    process.off('exit', this.onExit)
    if (this.boom.destroyed) return
    const opened = await this.opened.then(
      () => true,
      () => false,
    )
    if (!opened || this.boom.destroyed) {
      if (!this.boom.destroyed) this.boom.destroy()
      return
    }
    await new Promise<void>((resolve) => {
      this.boom.once('close', () => resolve())
      this.boom.end()
    })
  }

  ready(): Promise<void> {
    return this.opened
  }

  stats(): DestinationStats {
    return { written: this.written, dropped: this.dropped }
  }
}

/** A caller's stream: every line is handed over at once. */
class StreamSink implements Sink {
  private written = 0
  private dropped = 0
  private closed = false
  constructor(private readonly stream: { write(line: string): unknown }) {}
  write(line: string): void {
    if (this.closed) {
      this.dropped++
      return
    }
    this.stream.write(line)
    this.written++
  }
  reopen(): void {}
  flush(): Promise<void> {
    return Promise.resolve()
  }
  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }
  ready(): Promise<void> {
    return Promise.resolve()
  }
  stats(): DestinationStats {
    return { written: this.written, dropped: this.dropped }
  }
}

/** Validates a destination option and opens it. */
export function openDestination(value: unknown, option: string, allowSocket: boolean): Sink {
  if (value === undefined || value === 'console')
    return new BoomSink({ fd: 1 }, DEFAULT_MAX_BUFFER, false, DEFAULT_FLUSH_MS)
  if (typeof value !== 'object' || value === null)
    throw invalidOption(
      option,
      `expected 'console', { file }${allowSocket ? ', { host, port }' : ''} or { stream }`,
    )
  const v = value as Record<string, unknown>
  if ('stream' in v) {
    const stream = v.stream as { write?: unknown } | null
    if (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function')
      throw invalidOption(`${option}.stream`, 'expected an object with a write(line) method')
    return new StreamSink(stream as { write(line: string): unknown })
  }
  if ('file' in v) {
    if (typeof v.file !== 'string' || v.file.length === 0 || v.file.includes('\0'))
      throw invalidOption(`${option}.file`, 'expected a non-empty path')
    for (const key of ['mkdir', 'sync'] as const)
      if (v[key] !== undefined && typeof v[key] !== 'boolean')
        throw invalidOption(`${option}.${key}`, 'expected a boolean')
    const signal = v.reopenOnSignal ?? 'SIGHUP'
    if (
      signal !== false &&
      (typeof signal !== 'string' ||
        !Object.hasOwn(constants.signals, signal) ||
        signal === 'SIGKILL' ||
        signal === 'SIGSTOP')
    )
      throw invalidOption(
        `${option}.reopenOnSignal`,
        "expected a catchable signal name such as 'SIGHUP', or false",
      )
    const maxBuffer = positiveInt(v.maxBufferBytes, `${option}.maxBufferBytes`, DEFAULT_MAX_BUFFER)
    const flushMs = v.flushIntervalMs ?? DEFAULT_FLUSH_MS
    if (typeof flushMs !== 'number' || !Number.isInteger(flushMs) || flushMs < 0 || flushMs > 60_000)
      throw invalidOption(`${option}.flushIntervalMs`, 'expected an integer from 0 to 60000')
    return new BoomSink(
      {
        file: v.file,
        mkdir: (v.mkdir as boolean | undefined) ?? true,
        sync: (v.sync as boolean | undefined) ?? false,
      },
      maxBuffer,
      signal as NodeJS.Signals | false,
      flushMs,
    )
  }
  if (allowSocket && ('host' in v || 'port' in v)) {
    return new SocketSink(validateSocketDestination(v, option))
  }
  throw invalidOption(
    option,
    `expected 'console', { file }${allowSocket ? ', { host, port }' : ''} or { stream }`,
  )
}
