// The embedded default store: variants per URL, one LRU order over all of them, bounded
// by entries and by bytes. When full it drops `evictionFactor` of its entries, oldest use
// first, as Ballerina's cache does. Bodies stream in and are dropped past `maxEntryBytes`.

import { Writable } from 'node:stream'
import { CacheError, checkInteger } from './errors.js'
import {
  type CacheGetResult,
  type CacheKey,
  type CacheStore,
  type CacheValue,
  isCacheKey,
  isCacheValue,
  varyMatches,
} from './store.js'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most responses (variants) kept; Ballerina's `capacity`. @defaultValue 1024 */
  maxEntries?: number
  /** Most bytes kept (bodies plus headers). @defaultValue 64 MiB */
  maxBytes?: number
  /** A response larger than this is not stored. @defaultValue 5 MiB */
  maxEntryBytes?: number
  /** Share of `maxEntries` dropped, least recently used first, when the store is full; Ballerina's `evictionFactor`. @defaultValue 0.2 */
  evictionFactor?: number
  /** The clock, for tests. @defaultValue Date.now */
  now?: () => number
}

interface Entry extends CacheGetResult {
  readonly url: string
  readonly method: string
  body: Buffer[]
  bytes: number
}

// Rough fixed cost of an entry's bookkeeping, so many tiny entries still count.
const ENTRY_OVERHEAD = 256

function headerBytes(headers: Record<string, string | string[]>): number {
  let n = 0
  for (const name in headers) {
    const v = headers[name]!
    n += name.length + 4
    if (typeof v === 'string') n += v.length
    else for (const s of v) n += s.length + 2
  }
  return n
}

/** An in-memory LRU cache store; plugs into `cache()` and into `undici.interceptors.cache`. */
export class MemoryStore implements CacheStore {
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #maxEntryBytes: number
  readonly #evictCount: number
  readonly #now: () => number
  readonly #urls = new Map<string, Entry[]>()
  // Insertion order of a Set is the LRU order: delete + add moves an entry to the end.
  readonly #lru = new Set<Entry>()
  #bytes = 0

  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'MemoryStore options must be an object', {
        option: 'options',
      })
    }
    checkInteger('maxEntries', options.maxEntries, 1)
    checkInteger('maxBytes', options.maxBytes, 1)
    checkInteger('maxEntryBytes', options.maxEntryBytes, 0)
    const f = options.evictionFactor
    if (f !== undefined && (typeof f !== 'number' || !(f > 0 && f <= 1))) {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'evictionFactor must be a number in (0, 1]', {
        option: 'evictionFactor',
      })
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new CacheError('X_ERR_CACHE_INVALID_OPTION', 'now must be a function', { option: 'now' })
    }
    this.#maxEntries = options.maxEntries ?? 1024
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    this.#maxEntryBytes = Math.min(options.maxEntryBytes ?? 5 * 1024 * 1024, this.#maxBytes)
    this.#evictCount = Math.max(1, Math.ceil((f ?? 0.2) * this.#maxEntries))
    this.#now = options.now ?? Date.now
  }

  /** Entries (variants) held. */
  get size(): number {
    return this.#lru.size
  }

  /** Bytes held, bodies plus headers. */
  get bytes(): number {
    return this.#bytes
  }

  get(key: CacheKey): CacheGetResult | undefined {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    const entries = this.#urls.get(`${key.origin} ${key.path}`)
    if (entries === undefined) return undefined
    const now = this.#now()
    // RFC 9111 §4: of several suitable responses, the most recent one is used.
    let best: Entry | undefined
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (e.method !== key.method || !varyMatches(e.vary, key.headers)) continue
      if (e.deleteAt <= now) {
        this.#remove(e)
        i--
        continue
      }
      if (best === undefined || e.cachedAt > best.cachedAt) best = e
    }
    if (best === undefined) return undefined
    this.#lru.delete(best)
    this.#lru.add(best)
    return best
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    if (!isCacheValue(value)) throw new TypeError('invalid cache value')
    const url = `${key.origin} ${key.path}`
    const headers = value.headers
    const entry: Entry = {
      url,
      method: key.method,
      statusCode: value.statusCode,
      statusMessage: value.statusMessage,
      headers,
      cacheControlDirectives: value.cacheControlDirectives ?? {},
      cachedAt: value.cachedAt,
      staleAt: value.staleAt,
      deleteAt: value.deleteAt,
      body: [],
      bytes: ENTRY_OVERHEAD + headerBytes(headers),
    }
    if (value.vary !== undefined) entry.vary = value.vary
    if (value.etag !== undefined) entry.etag = value.etag
    const limit = this.#maxEntryBytes
    if (entry.bytes > limit) return undefined
    return new Writable({
      write: (chunk: Buffer | string, encoding, callback) => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk
        entry.bytes += buf.byteLength
        // Too large to keep: stop buffering, keep accepting, and store nothing at the end.
        if (entry.bytes > limit) entry.body = []
        else entry.body.push(buf)
        callback()
      },
      final: (callback) => {
        if (entry.bytes > limit) this.#drop(key, entry)
        else this.#insert(key, entry)
        callback()
      },
    })
  }

  delete(key: CacheKey): void {
    if (!isCacheKey(key)) throw new TypeError('invalid cache key')
    const entries = this.#urls.get(`${key.origin} ${key.path}`)
    if (entries === undefined) return
    for (const e of entries.slice()) this.#remove(e)
  }

  /** Drops every entry. */
  clear(): void {
    this.#urls.clear()
    this.#lru.clear()
    this.#bytes = 0
  }

  // The new response supersedes whatever this request would have been served.
  #drop(key: CacheKey, entry: Entry): void {
    const entries = this.#urls.get(entry.url)
    if (entries === undefined) return
    for (const old of entries.slice()) {
      if (old.method === entry.method && varyMatches(old.vary, key.headers)) this.#remove(old)
    }
  }

  #insert(key: CacheKey, entry: Entry): void {
    this.#drop(key, entry)
    let entries = this.#urls.get(entry.url)
    if (this.#lru.size >= this.#maxEntries || this.#bytes + entry.bytes > this.#maxBytes)
      this.#evict(entry.bytes)
    if (entries === undefined) {
      entries = []
      this.#urls.set(entry.url, entries)
    }
    entries.push(entry)
    this.#lru.add(entry)
    this.#bytes += entry.bytes
  }

  #evict(incoming: number): void {
    let dropped = 0
    for (const e of this.#lru) {
      if (dropped >= this.#evictCount && this.#bytes + incoming <= this.#maxBytes) break
      this.#remove(e)
      dropped++
    }
  }

  #remove(e: Entry): void {
    if (!this.#lru.delete(e)) return
    this.#bytes -= e.bytes
    const entries = this.#urls.get(e.url)
    if (entries === undefined) return
    const i = entries.indexOf(e)
    if (i !== -1) entries.splice(i, 1)
    if (entries.length === 0) this.#urls.delete(e.url)
  }
}
