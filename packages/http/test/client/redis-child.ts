// Another process with its own Client sharing the cache through Redis: GETs one path and
// prints the answer as one JSON line. Run by cache-redis.integration.test.ts.
import { RedisStore } from '@x/cache/redis'
import { Client } from '../../src/index.ts'

const [redisUrl, prefix, base, path] = process.argv.slice(2) as [string, string, string, string]
const store = new RedisStore({ url: redisUrl, prefix })
await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
const client = new Client(base, { cache: { isShared: true, store } })
const res = await client.get(path)
const body = await res.text()
process.stdout.write(`${JSON.stringify({ status: res.status, age: res.headers.age ?? null, body })}\n`)
await client.close()
await store.close()
