// Client-side trace logging: undici's diagnostics channels are process-wide, so the Client
// tells its own requests apart by the sockets its connector opened (and the connect errors it
// produced), and asks the trace log for those alone.
import type { OutboundRequestInfo, TraceLog } from '@x/logging'
import type { buildConnector } from 'undici'
import type { UsedLog } from '../log-options.js'

/** The Client's trace log and the connector that marks its connections. */
export class ClientTrace {
  readonly connector: buildConnector.connector
  readonly #sockets = new WeakSet<object>()
  readonly #errors = new WeakSet<object>()
  readonly #used: UsedLog<TraceLog>
  readonly #stop: () => void

  constructor(used: UsedLog<TraceLog>, base: buildConnector.connector) {
    this.#used = used
    this.connector = (opts, callback) => {
      base(opts, (err, socket) => {
        if (err !== null) {
          // undici fails the requests waiting for this connection with this very error.
          if (typeof err === 'object') this.#errors.add(err)
          callback(err, null)
        } else {
          this.#sockets.add(socket)
          callback(null, socket)
        }
      })
    }
    this.#stop = used.log.traceRequests(this.#accepts)
  }

  readonly #accepts = (info: OutboundRequestInfo): boolean => {
    if (info.socket !== undefined) return this.#sockets.has(info.socket)
    const e = info.error
    return typeof e === 'object' && e !== null && this.#errors.has(e)
  }

  /** Stops tracing this Client's requests; closes the log when the Client built it. */
  async close(): Promise<void> {
    this.#stop()
    if (this.#used.owned) await this.#used.log.close()
  }
}
