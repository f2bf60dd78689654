// Keyed breakers (per origin, per target, per route) under one set of options, bounded by
// `maxBreakers`: past it, the breaker that loses least is dropped (closed with an expired
// window first, then closed, then the least recently used of any state).
import { evictChannel } from './channels.js'
import { CircuitBreaker, evictionTierOf, lastUsedOf } from './circuit-breaker.js'
import { CircuitBreakerError, type CircuitState, invalidOption } from './errors.js'
import {
  type BreakerConfig,
  type CircuitBreakerOptions,
  integer,
  isPlainObject,
  PresetConfig,
  resolveBreakerOptions,
  type StateChangeEvent,
} from './options.js'

/** Options of {@link createCircuitBreakers}: every breaker option but `name` (breakers are named by key). */
export interface CircuitBreakerGroupOptions extends Omit<CircuitBreakerOptions, 'name'> {
  /**
   * The most breakers kept at once; making one more drops the one that loses least.
   * @defaultValue 1000
   */
  maxBreakers?: number
}

/** A set of breakers, one per key, made on first use. */
export interface CircuitBreakerGroup {
  /** The breaker for `key`, made on first use. */
  get(key: string): CircuitBreaker
  /** The breaker for `key` if one exists; never makes one. */
  peek(key: string): CircuitBreaker | undefined
  /** Whether a call for `key` would be let through now; true when `key` has no breaker yet. Takes no probe slot. */
  isAvailable(key: string): boolean
  /** The state of `key`'s breaker; `closed` when it has none. */
  state(key: string): CircuitState
  /** Runs `fn` through `key`'s breaker. */
  execute<T>(key: string, fn: () => T | PromiseLike<T>): Promise<Awaited<T>>
  /** Drops `key`'s breaker; true when there was one. */
  delete(key: string): boolean
  /** Drops every breaker. */
  clear(): void
  /** How many breakers exist. */
  readonly size: number
  /** The keys that have a breaker, oldest first. */
  keys(): IterableIterator<string>
  /** The status codes that count as failures (read by the interceptor). */
  readonly statusCodes: ReadonlySet<number>
  /** Adds a listener for state changes of every breaker in the group (`event.name` is the key). */
  on(event: 'stateChange', listener: (event: StateChangeEvent) => void): this
  /** Removes a listener added with `on()`. */
  off(event: 'stateChange', listener: (event: StateChangeEvent) => void): this
}

const GROUP_KEYS: ReadonlySet<string> = new Set(['maxBreakers'])
const MAX_KEY_LENGTH = 4096

/** @internal Validates group options; the interceptor passes its own extra keys and status-code default. */
export function resolveGroupOptions(
  options: unknown,
  defaultStatusCodes: readonly number[],
  extraKeys: ReadonlySet<string> = GROUP_KEYS,
): { config: BreakerConfig; maxBreakers: number } {
  if (options === undefined) options = {}
  if (!isPlainObject(options)) throw invalidOption('options', 'must be a plain object')
  if (options['name'] !== undefined) throw invalidOption('name', 'breakers of a group are named by their key')
  const config = resolveBreakerOptions(options, defaultStatusCodes, extraKeys)
  const maxBreakers = integer(options['maxBreakers'], 'maxBreakers', 1000, 1, 1_000_000)
  return { config, maxBreakers }
}

let readConfig: (group: BreakerGroup) => BreakerConfig

class BreakerGroup implements CircuitBreakerGroup {
  static {
    readConfig = (group) => group.#config
  }

  readonly #config: BreakerConfig
  readonly #max: number
  readonly #breakers = new Map<string, CircuitBreaker>()
  #listeners: Array<(event: StateChangeEvent) => void> = []
  readonly #hook: ((event: StateChangeEvent) => void) | null

  constructor(config: BreakerConfig, maxBreakers: number) {
    this.#config = config
    this.#max = maxBreakers
    this.#hook = config.onStateChange
  }

  get size(): number {
    return this.#breakers.size
  }

  get statusCodes(): ReadonlySet<number> {
    return this.#config.statusCodes ?? new Set()
  }

  get(key: string): CircuitBreaker {
    const found = this.#breakers.get(key)
    if (found !== undefined) return found
    checkKey(key)
    if (this.#breakers.size >= this.#max) this.#evictOne()
    const breaker = new CircuitBreaker(
      new PresetConfig({ ...this.#config, name: key, onStateChange: this.#emit }) as CircuitBreakerOptions,
    )
    this.#breakers.set(key, breaker)
    return breaker
  }

  peek(key: string): CircuitBreaker | undefined {
    return this.#breakers.get(key)
  }

  isAvailable(key: string): boolean {
    const breaker = this.#breakers.get(key)
    return breaker === undefined || breaker.isAvailable()
  }

  state(key: string): CircuitState {
    return this.#breakers.get(key)?.state ?? 'closed'
  }

  execute<T>(key: string, fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    let breaker: CircuitBreaker
    try {
      breaker = this.get(key)
    } catch (error) {
      return Promise.reject(error)
    }
    return breaker.execute(fn)
  }

  delete(key: string): boolean {
    return this.#breakers.delete(key)
  }

  clear(): void {
    this.#breakers.clear()
  }

  keys(): IterableIterator<string> {
    return this.#breakers.keys()
  }

  on(event: 'stateChange', listener: (event: StateChangeEvent) => void): this {
    if (event !== 'stateChange' || typeof listener !== 'function') {
      throw new CircuitBreakerError(
        'X_ERR_CIRCUIT_INVALID_ARGUMENT',
        'on() takes "stateChange" and a function',
      )
    }
    this.#listeners = [...this.#listeners, listener]
    return this
  }

  off(event: 'stateChange', listener: (event: StateChangeEvent) => void): this {
    if (event === 'stateChange') this.#listeners = this.#listeners.filter((l) => l !== listener)
    return this
  }

  // Listener errors are rethrown by the breaker's own dispatch (next tick), so one bad
  // listener cannot stop the others.
  readonly #emit = (event: StateChangeEvent): void => {
    const listeners = this.#hook === null ? this.#listeners : [this.#hook, ...this.#listeners]
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (error) {
        process.nextTick(() => {
          throw error
        })
      }
    }
  }

  /** Drops the breaker whose loss costs least, oldest use first within a tier. */
  #evictOne(): void {
    const now = this.#config.now()
    let victim: string | undefined
    let bestTier = 3
    let bestUsed = Number.POSITIVE_INFINITY
    for (const [key, breaker] of this.#breakers) {
      const tier = evictionTierOf(breaker, now)
      const used = lastUsedOf(breaker)
      if (tier < bestTier || (tier === bestTier && used < bestUsed)) {
        victim = key
        bestTier = tier
        bestUsed = used
        // Nothing beats an expired closed breaker that was used before every other one.
        if (tier === 0 && used === -1) break
      }
    }
    if (victim === undefined) return
    const breaker = this.#breakers.get(victim)!
    this.#breakers.delete(victim)
    if (evictChannel.hasSubscribers) evictChannel.publish({ key: victim, state: breaker.state })
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) {
    throw new CircuitBreakerError(
      'X_ERR_CIRCUIT_INVALID_ARGUMENT',
      `a breaker key must be a string of at most ${MAX_KEY_LENGTH} characters`,
    )
  }
}

/** Makes a group of keyed breakers that share one set of options; throws `X_ERR_CIRCUIT_INVALID_OPTION` for a bad option. */
export function createCircuitBreakers(options?: CircuitBreakerGroupOptions): CircuitBreakerGroup {
  const { config, maxBreakers } = resolveGroupOptions(options, [])
  return new BreakerGroup(config, maxBreakers)
}

/** @internal For the interceptor, which validates its own options first. */
export function groupFromConfig(config: BreakerConfig, maxBreakers: number): CircuitBreakerGroup {
  return new BreakerGroup(config, maxBreakers)
}

/** @internal The validated options of a group made by this copy of the package, or undefined. */
export function configOfGroup(group: unknown): BreakerConfig | undefined {
  return group instanceof BreakerGroup ? readConfig(group) : undefined
}
