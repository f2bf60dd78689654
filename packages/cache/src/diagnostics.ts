// The cache's diagnostics_channel channels (`x:cache:<event>`). Channels are looked up by
// name, so every copy of this module (ESM and CJS) publishes on the same ones.

import * as diagnostics from 'node:diagnostics_channel'

/** Published on `x:cache:hit`: a response served from the store without contacting the origin. */
export interface CacheHitMessage {
  origin: string
  path: string
  method: string
  /** Current age in seconds. */
  age: number
  /** Why a stale response was served, if it was: `max-stale`, `stale-while-revalidate`, `stale-if-error`. */
  stale?: 'max-stale' | 'stale-while-revalidate' | 'stale-if-error'
}

/** Published on `x:cache:miss`. */
export interface CacheMissMessage {
  origin: string
  path: string
  method: string
}

/** Published on `x:cache:store`: a response is being written to the store. */
export interface CacheStoreMessage {
  origin: string
  path: string
  statusCode: number
}

/** Published on `x:cache:revalidate`: the outcome of a conditional request for a stale entry. */
export interface CacheRevalidateMessage {
  origin: string
  path: string
  result: 'not-modified' | 'modified' | 'error'
  background: boolean
}

/** Published on `x:cache:invalidate`: an unsafe method invalidated a URL (RFC 9111 §4.4). */
export interface CacheInvalidateMessage {
  origin: string
  path: string
}

/** Published on `x:cache:error`: a store failed; the request went on without it. */
export interface CacheErrorMessage {
  operation: 'get' | 'write' | 'delete'
  error: unknown
}

export const channels = {
  hit: diagnostics.channel('x:cache:hit'),
  miss: diagnostics.channel('x:cache:miss'),
  store: diagnostics.channel('x:cache:store'),
  revalidate: diagnostics.channel('x:cache:revalidate'),
  invalidate: diagnostics.channel('x:cache:invalidate'),
  collapse: diagnostics.channel('x:cache:collapse'),
  error: diagnostics.channel('x:cache:error'),
} as const

/** Publishes a store failure. */
export function storeError(operation: CacheErrorMessage['operation'], error: unknown): void {
  if (channels.error.hasSubscribers) channels.error.publish({ operation, error } satisfies CacheErrorMessage)
}
