/** A running echo server of one peer, inside its own process. */
export interface RunningServer {
  readonly port: number
  /** Open WebSocket connections. */
  connections(): number
  close(): Promise<void>
}

/** One WebSocket server set-up under test: how to start its echo server, and the environment its process needs. */
export interface ServerPeer {
  readonly name: string
  /** Extra environment of the server process (ws reads WS_NO_BUFFER_UTIL / WS_NO_UTF_8_VALIDATE at load). */
  readonly env: Readonly<Record<string, string>>
  /** True when ws's native helpers must be loaded in this set-up. */
  readonly native: boolean
  start(): Promise<RunningServer>
}
