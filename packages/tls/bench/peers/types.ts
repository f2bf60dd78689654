// One adapter type for every peer of the handshake benchmark: the server half runs in the
// benchmark process, the client half in the load-generator process.
import type { buildConnector } from 'undici'

/** Paths and URLs of the benchmark PKI, passed to the load process. */
export interface BenchPki {
  readonly caFile: string
  readonly serverCertFile: string
  readonly serverChainFile: string
  readonly serverKeyFile: string
}

export interface BenchServer {
  readonly port: number
  close(): Promise<void>
}

/** A pairing measured as one row: a server set-up and a client set-up. */
export interface HandshakePeer {
  readonly name: string
  /** Starts the server half (benchmark process). */
  startServer(pki: BenchPki): Promise<BenchServer>
  /** Builds the client half (load process): an undici connector with session reuse off. */
  connector(pki: BenchPki): buildConnector.connector
}
