import type { Dispatcher } from 'undici'

/** One way of answering GET requests: a dispatcher with (or without) a cache in front of the origin. */
export interface Peer {
  readonly name: string
  /** The path this peer requests, so the origin can count its trips separately. */
  readonly path: string
  /** Whether every request after the first should be answered without the origin. */
  readonly caches: boolean
  readonly dispatcher: Dispatcher
  close(): Promise<void>
}
