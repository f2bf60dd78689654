// RedisStore: a cache store shared by every process that points at one Redis (ioredis 5).
// One hash per URL, one field per variant, expiring by TTL. Every failure is a miss or a
// skipped write, reported on `x:cache:error`: Redis being down never fails a request.

import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { storeError } from './diagnostics.js'
import { CacheError, checkInteger } from './errors.js'
import { normaliseVaryValue } from './headers.js'
import {
  type CacheGetResult,
  type CacheKey,
  type CacheStore,
  type CacheValue,
  isCacheKey,
  isCacheValue,
  varyMatches,
} from './store.js'

/** Options of {@link RedisStore}: give `client` (yours, left open) or `url` (the store's, closed by `close()`). */
export interface RedisStoreOptions {
  /** An ioredis client; the store never closes it. */
  client?: Redis | Cluster
  /** A redis:// URL; the store connects with no offline queue, so an outage is a fast miss. */
  url?: string
  /** Extra ioredis options for a client made from `url`. */
  redisOptions?: RedisOptions
  /** Key prefix, so several caches can share one Redis. @defaultValue 'x:cache:' */
  prefix?: string
  /** A response larger than this is not stored. @defaultValue 5 MiB */
  maxEntryBytes?: number
  /** Longest a lookup may take before it counts as a miss, ms. @defaultValue 200 */
  timeout?: number
  /** The clock, for tests. @defaultValue Date.now */
  now?: () => number
}

// Stores one variant and stretches the hash's TTL to cover it, atomically, so processes
// writing variants of one URL at once never shorten each other's lifetime.
const PUT = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`

interface Meta extends CacheValue {
  method: string
}

function variantId(method: string, vary: Record<string, string | string[] | null> | undefined): string {
  if (vary === undefined) return method
  const names = Object.keys(vary).sort()
  const h = createHash('sha1')
  for (const n of names) h.update(`${n}\n${normaliseVaryValue(n, vary[n]) ?? '\u0000'}\n`)
  return `${method} ${h.digest('base64url')}`
}

function encode(meta: Meta, body: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(meta))
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(json.byteLength, 0)
  return Buffer.concat([head, json, ...body])
}

function decode(buf: Buffer): { meta: Meta; body: Buffer } | undefined {
  if (buf.byteLength < 4) return undefined
  const n = buf.readUInt32BE(0)
  if (4 + n > buf.byteLength) return undefined
  try {
    const meta = JSON.parse(buf.subarray(4, 4 + n).toString()) as Meta
    if (typeof meta !== 'object' || meta === null || typeof meta.deleteAt !== 'number') return undefined
    return { meta, body: buf.subarray(4 + n) }
  } catch {
    return undefined
  }
}

/** A Redis-backed cache store; plugs into `cache()` and into `undici.interceptors.cache`. */
export class RedisStore implements CacheStore {
  readonly #client: Redis | Cluster
  readonly #owned: boolean
  readonly #prefix: string
  readonly #maxEntryBytes: number
  readonly #timeout: number
  readonly #now: () => number

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'RedisStore options must be an object', {
        option: 'options',
      })
    }
    const { client, url } = options
    if ((client === undefined) === (url === undefined)) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'give exactly one of client and url', {
        option: 'client',
      })
    }
    if (
      client !== undefined &&
      (typeof client !== 'object' || typeof (client as Redis).hgetallBuffer !== 'function')
    ) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'client must be an ioredis client', {
        option: 'client',
      })
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'url must be a redis:// or rediss:// URL', {
        option: 'url',
      })
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'prefix must be a string', { option: 'prefix' })
    }
    checkInteger('maxEntryBytes', options.maxEntryBytes, 0, 512 * 1024 * 1024)
    checkInteger('timeout', options.timeout, 1, 2_147_483_647)
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'now must be a function', { option: 'now' })
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
      this.#client.on('error', (err) => storeError('get', err))
      this.#owned = true
    }
    this.#prefix = options.prefix ?? 'x:cache:'
    this.#maxEntryBytes = options.maxEntryBytes ?? 5 * 1024 * 1024
    this.#timeout = options.timeout ?? 200
    this.#now = options.now ?? Date.now
  }

  /** The ioredis client in use. */
  get client(): Redis | Cluster {
    return this.#client
  }

  #key(key: CacheKey): string {
    return `${this.#prefix}${key.origin} ${key.path}`
  }

  async get(key: CacheKey): Promise<CacheGetResult | undefined> {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    if (this.#client.status !== 'ready') return undefined
    const redisKey = this.#key(key)
    let timer: ReturnType<typeof setTimeout> | undefined
    let fields: Record<string, Buffer> | undefined
    try {
      fields = await Promise.race([
        this.#client.hgetallBuffer(redisKey),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), this.#timeout)
        }),
      ])
    } catch (err) {
      storeError('get', err)
      return undefined
    } finally {
      clearTimeout(timer)
    }
    if (fields === undefined) return undefined
    const now = this.#now()
    let best: { meta: Meta; body: Buffer } | undefined
    const expired: string[] = []
    for (const field in fields) {
      const entry = decode(fields[field]!)
      if (entry === undefined || entry.meta.deleteAt <= now) {
        expired.push(field)
        continue
      }
      if (entry.meta.method !== key.method || !varyMatches(entry.meta.vary, key.headers)) continue
      if (best === undefined || entry.meta.cachedAt > best.meta.cachedAt) best = entry
    }
    if (expired.length > 0)
      this.#client.hdel(redisKey, ...expired).catch((err: unknown) => storeError('delete', err))
    if (best === undefined) return undefined
    const { meta, body } = best
    const result: CacheGetResult = {
      statusCode: meta.statusCode,
      statusMessage: meta.statusMessage,
      headers: meta.headers,
      cacheControlDirectives: meta.cacheControlDirectives ?? {},
      cachedAt: meta.cachedAt,
      staleAt: meta.staleAt,
      deleteAt: meta.deleteAt,
      body,
    }
    if (meta.vary != null) result.vary = meta.vary
    if (meta.etag !== undefined) result.etag = meta.etag
    return result
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    if (!isCacheValue(value)) throw new TypeError('invalid cache value')
    if (this.#client.status !== 'ready') return undefined
    const meta: Meta = {
      method: key.method,
      statusCode: value.statusCode,
      statusMessage: value.statusMessage,
      headers: value.headers,
      cachedAt: value.cachedAt,
      staleAt: value.staleAt,
      deleteAt: value.deleteAt,
    }
    if (value.vary !== undefined) meta.vary = value.vary
    if (value.etag !== undefined) meta.etag = value.etag
    if (value.cacheControlDirectives !== undefined) meta.cacheControlDirectives = value.cacheControlDirectives
    const redisKey = this.#key(key)
    const field = variantId(key.method, value.vary)
    const limit = this.#maxEntryBytes
    const body: Buffer[] = []
    let bytes = 0
    return new Writable({
      write(chunk: Buffer | string, encoding, callback) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk
        bytes += buf.byteLength
        if (bytes > limit) body.length = 0
        else body.push(buf)
        callback()
      },
      final: (callback) => {
        const ttl = Math.ceil(value.deleteAt - this.#now())
        if (bytes > limit || ttl <= 0 || this.#client.status !== 'ready') {
          callback()
          return
        }
        this.#client.eval(PUT, 1, redisKey, field, encode(meta, body), ttl).then(
          () => callback(),
          (err: unknown) => {
            storeError('write', err)
            callback()
          },
        )
      },
    })
  }

  async delete(key: CacheKey): Promise<void> {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    if (this.#client.status !== 'ready') return
    try {
      await this.#client.del(this.#key(key))
    } catch (err) {
      storeError('delete', err)
    }
  }

  /** Closes the client when the store made it from `url`; a client you gave stays open. */
  async close(): Promise<void> {
    if (!this.#owned) return
    try {
      await this.#client.quit()
    } catch {
      this.#client.disconnect()
    }
  }
}
