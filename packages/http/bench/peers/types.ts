// The one adapter type every benchmark peer implements. Each peer serves, on 127.0.0.1:
//   (a) GET /hello → 200 {"hello":"world"}
//   (b) POST /users/{id} with a JSON body, behind one auth filter on x-token (401 without it),
//       answering 201 {"id":<int>,"name":<body.name>,"by":<filter's user>}
// A peer runs in its own process (bench/server.ts); the load generator runs in another.

/** A running server. */
export interface PeerServer {
  readonly port: number
  close(): Promise<void>
}

/** Starts the peer's server on 127.0.0.1, port 0. */
export type StartPeer = () => Promise<PeerServer>

export const TOKEN = 'secret'
export const USER = 'ada'

/** The log file a logging peer writes to (the access-log benchmark sets X_BENCH_LOG_FILE). */
export function logFile(): string {
  const file = process.env.X_BENCH_LOG_FILE
  if (file === undefined || file === '') throw new Error('X_BENCH_LOG_FILE is not set')
  return file
}
