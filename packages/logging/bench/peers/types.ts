// One load-test peer: a server program started in its own process. It receives the log file
// path in argv[2] and prints `port <n>` once it listens. Adding a peer (the Listener with its
// access log, Fastify with its pino request logging) is one more file and one more entry.
export interface ServerPeer {
  readonly name: string
  /** Path of the server program (run with tsx and the @x/source condition). */
  readonly script: string
  /** Whether the peer writes a log file (checked for one line per request after the run). */
  readonly logs: boolean
}
