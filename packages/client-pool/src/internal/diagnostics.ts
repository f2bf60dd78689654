// The pool's diagnostics_channel events. Channels are looked up by name in one process-wide
// registry, so these constants are shared by every copy of the package.
import { channel } from 'node:diagnostics_channel'

const connect = channel('x:client-pool:connect')
const disconnect = channel('x:client-pool:disconnect')
const evict = channel('x:client-pool:evict')
const waitTimeout = channel('x:client-pool:wait-timeout')

/** A connection opened; `protocol` is what ALPN chose (`'h1'` without TLS). */
export function publishConnect(origin: string, protocol: string): void {
  if (connect.hasSubscribers) connect.publish({ origin, protocol })
}

/** A connection's socket closed (the pool may reconnect it). */
export function publishDisconnect(origin: string, error: Error | undefined): void {
  if (disconnect.hasSubscribers) disconnect.publish({ origin, error })
}

/** An idle connection was closed after `idleMs`. */
export function publishEvict(origin: string, idleMs: number): void {
  if (evict.hasSubscribers) evict.publish({ origin, idleMs })
}

/** A request gave up waiting for a connection. */
export function publishWaitTimeout(origin: string, waitTime: number): void {
  if (waitTimeout.hasSubscribers) waitTimeout.publish({ origin, waitTime })
}
