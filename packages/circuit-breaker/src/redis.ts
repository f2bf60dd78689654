// RedisBreakerStore: lets breakers in many processes count one rolling window in Redis
// (ioredis 5, an optional peer). Buckets follow the Redis server's clock, so processes whose
// clocks differ (or use performance.now) still agree on them. Each call is one Lua script.
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { invalidOption } from './errors.js'
import type { BreakerStore, SharedCounts, WindowShape } from './shared-window.js'

/** Options of {@link RedisBreakerStore}: give `client` (yours, left open) or `url` (the store's, closed by `close()`). */
export interface RedisBreakerStoreOptions {
  /** An ioredis client; the store never closes it. */
  client?: Redis | Cluster
  /** A redis:// URL; the store connects with no offline queue, so an outage fails fast. */
  url?: string
  /** Extra ioredis options for a client made from `url`. */
  redisOptions?: RedisOptions
  /** Key prefix, so several groups of breakers can share one Redis. @defaultValue 'x:breaker:' */
  prefix?: string
}

// Adds to the current bucket (by the server's clock), drops expired buckets, sums the rest,
// and reads the trip marker, in one atomic step. Fields are c<bucket> and f<bucket>.
const ADD = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local b = math.floor(now / size)
if tonumber(ARGV[1]) > 0 then redis.call('HINCRBY', KEYS[1], 'c' .. b, ARGV[1]) end
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBY', KEYS[1], 'f' .. b, ARGV[2]) end
local all = redis.call('HGETALL', KEYS[1])
local calls, fails = 0, 0
for i = 1, #all, 2 do
  local f = all[i]
  local bucket = tonumber(string.sub(f, 2))
  if bucket == nil or bucket <= b - n then
    redis.call('HDEL', KEYS[1], f)
  elseif string.sub(f, 1, 1) == 'c' then
    calls = calls + tonumber(all[i + 1])
  else
    fails = fails + tonumber(all[i + 1])
  end
end
if #all > 0 then redis.call('PEXPIRE', KEYS[1], size * (n + 1)) end
local trip = redis.call('GET', KEYS[2])
return {calls, fails, trip or ''}`

const TRIP = `redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`

/** A {@link BreakerStore} in Redis: one hash per breaker name (a field per bucket) and a trip marker with a TTL. */
export class RedisBreakerStore implements BreakerStore {
  readonly #client: Redis | Cluster
  readonly #owned: boolean
  readonly #prefix: string

  constructor(options: RedisBreakerStoreOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object')
    const { client, url } = options
    if ((client === undefined) === (url === undefined)) {
      throw invalidOption('client', 'give exactly one of client and url')
    }
    if (
      client !== undefined &&
      (typeof client !== 'object' || typeof (client as Redis).eval !== 'function')
    ) {
      throw invalidOption('client', 'must be an ioredis client')
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw invalidOption('url', 'must be a redis:// or rediss:// URL')
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw invalidOption('prefix', 'must be a string')
    }
    if (client !== undefined) {
      this.#client = client
      this.#owned = false
    } else {
      this.#client = new Redis(url!, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        ...options.redisOptions,
      })
      // Failures reach the breakers through rejected commands (and x:circuit-breaker:store-error);
      // an 'error' event without a listener would crash the process.
      this.#client.on('error', () => {})
      this.#owned = true
    }
    this.#prefix = options.prefix ?? 'x:breaker:'
  }

  /** The ioredis client in use. */
  get client(): Redis | Cluster {
    return this.#client
  }

  // A hash tag keeps both keys of a breaker in one Redis Cluster slot, as a script needs.
  #keys(key: string): [string, string] {
    return [`${this.#prefix}{${key}}:w`, `${this.#prefix}{${key}}:trip`]
  }

  async add(key: string, calls: number, failures: number, window: WindowShape): Promise<SharedCounts> {
    const [w, trip] = this.#keys(key)
    const buckets = window.timeWindow / window.bucketSize
    const reply = (await this.#client.eval(ADD, 2, w, trip, calls, failures, window.bucketSize, buckets)) as [
      number,
      number,
      string,
    ]
    return { calls: reply[0], failures: reply[1], trip: reply[2] === '' ? null : reply[2] }
  }

  async trip(key: string, id: string, openMs: number): Promise<void> {
    const [w, trip] = this.#keys(key)
    await this.#client.eval(TRIP, 2, w, trip, id, Math.max(1, Math.ceil(openMs)))
  }

  /** Closes the client the store made from `url`; a client you gave is left open. */
  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect())
  }
}
