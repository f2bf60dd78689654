// Starts the caching reverse proxy: `ORIGIN=http://127.0.0.1:8000 PORT=8030 pnpm start`.
// HOST (127.0.0.1) picks the address, REDIS_URL shares the cache between proxies through
// Redis, CACHE_CAPACITY sizes the in-memory store, FORWARDED sets the Forwarded policy.
import { RedisStore } from '@x/cache/redis'
import { type ForwardedPolicy, isClientError, isHttpError } from '@x/http'
import { type CachingProxyOptions, createCachingProxy } from './proxy.ts'

const env = process.env
if (env.ORIGIN === undefined || env.ORIGIN === '') {
  console.error('ORIGIN is required, such as ORIGIN=http://127.0.0.1:8000 PORT=8030 pnpm start')
  process.exit(2)
}
const options: CachingProxyOptions = {
  origin: env.ORIGIN,
  port: Number(env.PORT ?? 8030),
  host: env.HOST ?? '127.0.0.1',
}
if (env.CACHE_CAPACITY !== undefined) options.capacity = Number(env.CACHE_CAPACITY)
if (env.FORWARDED !== undefined) options.forwarded = env.FORWARDED as ForwardedPolicy
const store = env.REDIS_URL === undefined ? undefined : new RedisStore({ url: env.REDIS_URL })
if (store !== undefined) options.store = store

let proxy: ReturnType<typeof createCachingProxy>
try {
  proxy = createCachingProxy(options)
  await proxy.start()
} catch (err) {
  const code = isClientError(err) || isHttpError(err) ? ` (${err.code})` : ''
  console.error(`cannot start: ${(err as Error).message}${code}`)
  await store?.close()
  process.exit(2)
}
const shared = store === undefined ? 'in memory' : `in Redis at ${env.REDIS_URL}`
console.log(
  `caching proxy on http://${options.host}:${proxy.port} for ${options.origin} (shared cache ${shared})`,
)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    proxy
      .stop()
      .then(() => store?.close())
      .then(
        () => {
          console.log('stopped')
          process.exit(0)
        },
        (err: unknown) => {
          console.error(`stop failed: ${(err as Error).message}`)
          process.exit(1)
        },
      )
  })
}
