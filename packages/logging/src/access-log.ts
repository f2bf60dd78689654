// HTTP access logs: one line per exchange, written after the response finished or the client
// went away, with the status actually sent and the body bytes the connection accepted.
// A server calls attach(req, res) per request, or log(record) from a path of its own.
import {
  type AccessLogFormat,
  type AccessRecord,
  compileFormat,
  formatUsesTime,
  type LineFormatter,
} from './access-format.js'
import {
  type AccessLogDestination,
  type DestinationStats,
  openDestination,
  type Sink,
} from './destination.js'
import { invalidOption } from './errors.js'
import {
  type Exchange,
  type ExchangeObserver,
  observe,
  type ServerRequest,
  type ServerResponseLike,
} from './exchange.js'
import { SecondClock } from './internal/nginx.js'

/** Options of {@link accessLog}. */
export interface AccessLogOptions {
  /** Line format. @defaultValue 'combined' */
  readonly format?: AccessLogFormat
  /** Where lines go. @defaultValue 'console' (stdout, asynchronously) */
  readonly destination?: AccessLogDestination
}

/** An access log: a server hands it each exchange; it writes one line per exchange. */
export interface AccessLog {
  /**
   * Logs this node:http or node:http2 (compatibility API) exchange once it ends. Call it
   * synchronously in the request handler, before the body is read.
   */
  attach(req: ServerRequest, res: ServerResponseLike, requestId?: string): void
  /** Writes the line for an exchange the caller observed itself (for example a raw HTTP/2 stream). */
  log(record: AccessRecord): void
  /** The line `record` would produce, without the newline. */
  format(record: AccessRecord): string
  /** Reopens a file destination now (what the reopen signal does). */
  reopen(): void
  /** Resolves when every line so far has been handed to the destination's OS call. */
  flush(): Promise<void>
  /** Flushes, closes the destination and stops listening for the reopen signal. Later lines are dropped. */
  close(): Promise<void>
  /** Resolves once a file destination is open; rejects with `X_ERR_LOGGING_DESTINATION_FAILED` when it cannot be. */
  ready(): Promise<void>
  /** Lines written and dropped so far. */
  stats(): DestinationStats
  /**
   * Whether the format reads `durationMs` or `startTime` (`json`, `request_time`, `date_time`):
   * a server that fills records itself may skip timing exchanges when it is false.
   */
  readonly timed: boolean
}

const KNOWN = new Set(['format', 'destination'])

class AccessLogImpl implements AccessLog, ExchangeObserver {
  readonly capture = 0
  private readonly clock = new SecondClock()
  /** The wall clock, read once per event-loop turn (see now()). */
  private turnMs = 0
  private turnRead = false
  private readonly endTurn = () => {
    this.turnRead = false
  }

  constructor(
    private readonly formatter: LineFormatter,
    private readonly sink: Sink,
    readonly timed: boolean,
  ) {}

  /**
   * The time lines are stamped with, read once per event-loop turn and shared by every line of
   * the turn, as nginx caches its time per event-loop iteration: on a VM a clock read can cost
   * 100 ns, a busy turn writes many lines, and the stamp has a resolution of one second anyway
   * (of one turn in JSON).
   */
  private now(): number {
    if (!this.turnRead) {
      this.turnRead = true
      this.turnMs = Date.now()
      setImmediate(this.endTurn)
    }
    return this.turnMs
  }

  attach(req: ServerRequest, res: ServerResponseLike, requestId?: string): void {
    observe(req, res, this, requestId)
  }

  exchangeEnded(ex: Exchange): void {
    this.sink.write(`${this.formatter(ex, this.now(), this.clock)}\n`)
  }

  log(record: AccessRecord): void {
    this.sink.write(`${this.formatter(record, this.now(), this.clock)}\n`)
  }

  format(record: AccessRecord): string {
    return this.formatter(record, this.now(), this.clock)
  }

  reopen(): void {
    this.sink.reopen()
  }

  flush(): Promise<void> {
    return this.sink.flush()
  }

  async close(): Promise<void> {
    // Each sink's close() writes what it holds first.
    await this.sink.close()
  }

  ready(): Promise<void> {
    return this.sink.ready()
  }

  stats(): DestinationStats {
    return this.sink.stats()
  }
}

/**
 * Creates an access log. `combined` (the default) and `common` are nginx's formats byte for
 * byte; `json` adds duration, protocol and request id; an attribute list is Ballerina's
 * custom format. Options are checked here: a bad one throws `X_ERR_LOGGING_INVALID_OPTION`.
 */
export function accessLog(options: AccessLogOptions = {}): AccessLog {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'expected an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw invalidOption(key, 'unknown option')
  const format = options.format ?? 'combined'
  const formatter = compileFormat(format)
  const sink = openDestination(options.destination, 'destination', false)
  return new AccessLogImpl(formatter, sink, formatUsesTime(format))
}
