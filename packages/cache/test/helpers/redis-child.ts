// A second process using the cache through Redis: GETs a URL with @x/cache on a
// RedisStore and prints the answer as one JSON line.
import { Agent, request } from 'undici'
import { cache } from '../../src/index.ts'
import { RedisStore } from '../../src/redis.ts'

const [redisUrl, url] = process.argv.slice(2) as [string, string]
const store = new RedisStore({ url: redisUrl })
await new Promise<void>((resolve) => store.client.once('ready', () => resolve()))
const agent = new Agent()
const res = await request(url, { dispatcher: agent.compose(cache({ store, shared: true })) })
const body = await res.body.text()
process.stdout.write(`${JSON.stringify({ status: res.statusCode, age: res.headers.age ?? null, body })}\n`)
await agent.close()
await store.close()
