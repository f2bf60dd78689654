// `@x/http/cache/redis`: `@x/cache/redis` (RedisStore), unchanged. Needs ioredis, an optional peer.
// A re-export entry is the one place `export *` is right: it must follow the leaf's surface exactly.
export * from '@x/cache/redis'
