// A TCP destination for newline-delimited log lines (Ballerina publishes trace logs to a
// socket). It reconnects with capped exponential back-off; while down, or while the peer
// reads too slowly, it drops lines and counts them rather than block or buffer without end.
import { channel } from 'node:diagnostics_channel'
import { connect, type Socket } from 'node:net'
import type { DestinationStats, Sink } from './destination.js'
import { invalidOption } from './errors.js'

/** A TCP peer that receives one line per entry. */
export interface SocketDestination {
  readonly host: string
  readonly port: number
  /** Bytes waiting on the socket beyond which new lines are dropped. @defaultValue 1 MiB */
  readonly maxBufferBytes?: number
  /** Wait before the first reconnection attempt and the cap it doubles up to. @defaultValue { min: 100, max: 5000 } */
  readonly reconnectDelayMs?: { readonly min: number; readonly max: number }
}

interface SocketOptions {
  host: string
  port: number
  maxBuffer: number
  minDelay: number
  maxDelay: number
}

const GRACE_MS = 2000

const dropChannel = channel('x:logging:drop')
const connectChannel = channel('x:logging:socket-connect')
const disconnectChannel = channel('x:logging:socket-disconnect')

function int(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw invalidOption(option, `expected an integer from ${min} to ${max}`)
  return value
}

/** Checks a `{ host, port }` destination eagerly. */
export function validateSocketDestination(v: Record<string, unknown>, option: string): SocketOptions {
  if (typeof v.host !== 'string' || v.host.length === 0 || v.host.length > 255)
    throw invalidOption(`${option}.host`, 'expected a host name or address')
  const port = int(v.port, `${option}.port`, Number.NaN, 1, 65535)
  if (Number.isNaN(port)) throw invalidOption(`${option}.port`, 'expected a port from 1 to 65535')
  const maxBuffer = int(v.maxBufferBytes, `${option}.maxBufferBytes`, 1024 * 1024, 1, 2 ** 31)
  let minDelay = 100
  let maxDelay = 5000
  if (v.reconnectDelayMs !== undefined) {
    const d = v.reconnectDelayMs as Record<string, unknown> | null
    if (typeof d !== 'object' || d === null)
      throw invalidOption(`${option}.reconnectDelayMs`, 'expected { min, max }')
    minDelay = int(d.min, `${option}.reconnectDelayMs.min`, minDelay, 1, 3_600_000)
    maxDelay = int(d.max, `${option}.reconnectDelayMs.max`, maxDelay, 1, 3_600_000)
    if (maxDelay < minDelay) throw invalidOption(`${option}.reconnectDelayMs.max`, 'must not be below min')
  }
  return { host: v.host, port, maxBuffer, minDelay, maxDelay }
}

/** The TCP sink: connected or waiting to reconnect, never blocking. */
export class SocketSink implements Sink {
  private socket: Socket | null = null
  private connected = false
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private delay: number
  private written = 0
  private dropped = 0
  private readonly label: string

  constructor(private readonly options: SocketOptions) {
    this.delay = options.minDelay
    this.label = `${options.host}:${options.port}`
    this.open()
  }

  private open(): void {
    this.timer = null
    const socket = connect({ host: this.options.host, port: this.options.port })
    this.socket = socket
    // A log shipper must never keep the process alive on its own.
    socket.unref()
    socket.on('connect', () => {
      this.connected = true
      this.delay = this.options.minDelay
      if (connectChannel.hasSubscribers) connectChannel.publish({ destination: this.label })
    })
    // Whatever the peer sends is not ours to read; discard it so it cannot pile up.
    socket.resume()
    // 'close' always follows an error; the error itself only tells why.
    socket.on('error', () => {})
    socket.on('close', () => {
      const was = this.connected
      this.connected = false
      this.socket = null
      if (was && disconnectChannel.hasSubscribers) disconnectChannel.publish({ destination: this.label })
      if (!this.closed) this.schedule()
    })
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.open(), this.delay)
    this.timer.unref()
    this.delay = Math.min(this.delay * 2, this.options.maxDelay)
  }

  private drop(reason: string): void {
    this.dropped++
    if (dropChannel.hasSubscribers)
      dropChannel.publish({ destination: this.label, reason, dropped: this.dropped })
  }

  write(line: string): void {
    const socket = this.socket
    if (this.closed) this.drop('closed')
    else if (!this.connected || socket === null) this.drop('down')
    else if (socket.writableLength > this.options.maxBuffer) this.drop('buffer-full')
    else {
      socket.write(line)
      this.written++
    }
  }

  reopen(): void {}

  flush(): Promise<void> {
    const socket = this.socket
    if (socket === null || !this.connected || socket.writableLength === 0) return Promise.resolve()
    // A peer that stopped reading must not hold flush() forever.
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        socket.off('drain', done)
        socket.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, GRACE_MS)
      socket.once('drain', done)
      socket.once('close', done)
    })
  }

  close(): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const socket = this.socket
    if (socket === null) return Promise.resolve()
    return new Promise((resolve) => {
      socket.once('close', () => resolve())
      if (!this.connected) {
        socket.destroy()
        return
      }
      // end() flushes what is queued; destroying once it is flushed does not wait on the peer,
      // and a peer that stopped reading gets GRACE_MS before the rest is given up.
      const timer = setTimeout(() => socket.destroy(), GRACE_MS)
      timer.unref()
      socket.end(() => {
        clearTimeout(timer)
        socket.destroy()
      })
    })
  }

  ready(): Promise<void> {
    // A socket may be down at start: lines are dropped and counted until it comes up.
    return Promise.resolve()
  }

  stats(): DestinationStats {
    return { written: this.written, dropped: this.dropped, connected: this.connected }
  }
}
