/** The function a breaker guards in the benchmark: resolves (async) or returns (sync) a number. */
export type Action = () => number | Promise<number>

/** One breaker under test, closed, guarding `action`. */
export interface BreakerPeer {
  /** Runs the action once through the breaker. */
  call(): Promise<unknown>
  /** Releases timers the breaker holds. */
  close(): void
}

/** Builds a closed breaker of one library around `action`, configured like the others. */
export interface PeerAdapter {
  readonly name: string
  make(action: Action): BreakerPeer
}

/** The configuration every peer gets: 10 s window in 5 buckets, 20 % threshold, 10 calls minimum, 10 s reset. */
export const SETTINGS = {
  timeWindow: 10_000,
  buckets: 5,
  failureThreshold: 0.2,
  requestVolumeThreshold: 10,
  resetTime: 10_000,
} as const
