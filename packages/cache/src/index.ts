// @x/cache: an RFC 9111 HTTP cache for undici, its stores, and the response-side helpers
// (Cache-Control, ETag, conditional requests) a server uses. RedisStore is in @x/cache/redis.

export { type CacheControlOptions, cacheControl } from './cache-control.js'
export {
  type ConditionalResult,
  type ConditionalTarget,
  evaluateConditionals,
  notModifiedHeaders,
} from './conditional.js'
export type {
  CacheErrorMessage,
  CacheHitMessage,
  CacheInvalidateMessage,
  CacheMissMessage,
  CacheRevalidateMessage,
  CacheStoreMessage,
} from './diagnostics.js'
export { type CacheControlDirectives, parseCacheControl } from './directives.js'
export { CacheError, type CacheErrorCode, isCacheError } from './errors.js'
export {
  type EntityTag,
  type EtagOptions,
  encodedEtag,
  etag,
  parseEtag,
  strongMatch,
  weakMatch,
} from './etag.js'
export { type CacheOptions, cache } from './interceptor.js'
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js'
export type { CachePolicy } from './policy.js'
export type { CacheGetResult, CacheKey, CacheStore, CacheValue } from './store.js'
