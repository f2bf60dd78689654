// `@x/http/circuit-breaker/redis`: `@x/circuit-breaker/redis` (RedisBreakerStore), unchanged. Needs ioredis, an optional peer.
// A re-export entry is the one place `export *` is right: it must follow the leaf's surface exactly.
export * from '@x/circuit-breaker/redis'
