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

const eject = channel('x:client-pool:eject')
const uneject = channel('x:client-pool:uneject')
const panic = channel('x:client-pool:panic')
const failover = channel('x:client-pool:failover')
const budgetExhausted = channel('x:client-pool:budget-exhausted')

/** A balancer target was ejected after `consecutiveFailures` failures in a row. */
export function publishEject(details: {
  target: string
  consecutiveFailures: number
  ejections: number
  ejectionTime: number
}): void {
  if (eject.hasSubscribers) eject.publish(details)
}

/** An ejected target came back after `ejectedFor` ms. */
export function publishUneject(target: string, ejectedFor: number): void {
  if (uneject.hasSubscribers) uneject.publish({ target, ejectedFor })
}

/** The balancer entered (or left) panic: too few healthy targets, ejection is ignored. */
export function publishPanic(panicking: boolean, healthy: number, total: number): void {
  if (panic.hasSubscribers) panic.publish({ panicking, healthy, total })
}

/** A request moves on from the target that failed it. */
export function publishFailover(details: {
  from: string
  attempt: number
  method: string
  path: string
  error: Error | undefined
  statusCode: number | undefined
}): void {
  if (failover.hasSubscribers) failover.publish(details)
}

/** A failover was refused because the retry budget is spent. */
export function publishBudgetExhausted(target: string, method: string, path: string): void {
  if (budgetExhausted.hasSubscribers) budgetExhausted.publish({ target, method, path })
}
