import { describe, expect, it } from 'vitest'
import { CircuitBreaker, circuitBreaker, createCircuitBreakers, isCircuitBreakerError } from '../src/index.ts'

type Case = { name: string; options: unknown; option: string }

const cases: Case[] = [
  { name: 'null options', options: null, option: 'options' },
  { name: 'an array as options', options: [], option: 'options' },
  { name: 'a class instance as options', options: new Date(), option: 'options' },
  { name: 'an unknown option (a typo)', options: { failureTreshold: 0.5 }, option: 'failureTreshold' },
  { name: 'an own __proto__ key', options: JSON.parse('{"__proto__": {"x": 1}}'), option: '__proto__' },
  { name: 'rollingWindow not an object', options: { rollingWindow: 5 }, option: 'rollingWindow' },
  { name: 'shared not an object', options: { shared: true }, option: 'shared' },
  { name: 'shared without a store', options: { shared: {} }, option: 'shared.store' },
  {
    name: 'a shared store without trip()',
    options: { shared: { store: { add: async () => ({}) } } },
    option: 'shared.store',
  },
  {
    name: 'an unknown shared key',
    options: { shared: { store: { add() {}, trip() {} }, ttl: 5 } },
    option: 'shared.ttl',
  },
  {
    name: 'a zero shared timeout',
    options: { shared: { store: { add() {}, trip() {} }, timeout: 0 } },
    option: 'shared.timeout',
  },
  {
    name: 'unknown rollingWindow key',
    options: { rollingWindow: { size: 1 } },
    option: 'rollingWindow.size',
  },
  { name: 'timeWindow 0', options: { rollingWindow: { timeWindow: 0 } }, option: 'rollingWindow.timeWindow' },
  {
    name: 'timeWindow NaN',
    options: { rollingWindow: { timeWindow: Number.NaN } },
    option: 'rollingWindow.timeWindow',
  },
  {
    name: 'timeWindow Infinity',
    options: { rollingWindow: { timeWindow: Number.POSITIVE_INFINITY } },
    option: 'rollingWindow.timeWindow',
  },
  {
    name: 'timeWindow as a string',
    options: { rollingWindow: { timeWindow: '10000' } },
    option: 'rollingWindow.timeWindow',
  },
  {
    name: 'fractional bucketSize',
    options: { rollingWindow: { timeWindow: 1_000, bucketSize: 2.5 } },
    option: 'rollingWindow.bucketSize',
  },
  {
    name: 'bucketSize above timeWindow',
    options: { rollingWindow: { timeWindow: 1_000, bucketSize: 2_000 } },
    option: 'rollingWindow.bucketSize',
  },
  {
    name: 'bucketSize that does not divide timeWindow',
    options: { rollingWindow: { timeWindow: 10_000, bucketSize: 3_000 } },
    option: 'rollingWindow.bucketSize',
  },
  {
    name: 'more than 1000 buckets',
    options: { rollingWindow: { timeWindow: 10_000, bucketSize: 1 } },
    option: 'rollingWindow.bucketSize',
  },
  {
    name: 'requestVolumeThreshold 0',
    options: { rollingWindow: { requestVolumeThreshold: 0 } },
    option: 'rollingWindow.requestVolumeThreshold',
  },
  {
    name: 'requestVolumeThreshold negative',
    options: { rollingWindow: { requestVolumeThreshold: -1 } },
    option: 'rollingWindow.requestVolumeThreshold',
  },
  { name: 'failureThreshold 0', options: { failureThreshold: 0 }, option: 'failureThreshold' },
  {
    name: 'failureThreshold above 1 (a percentage)',
    options: { failureThreshold: 50 },
    option: 'failureThreshold',
  },
  { name: 'failureThreshold NaN', options: { failureThreshold: Number.NaN }, option: 'failureThreshold' },
  { name: 'resetTime negative', options: { resetTime: -5 }, option: 'resetTime' },
  { name: 'resetTime beyond 2^31 ms', options: { resetTime: 2 ** 31 }, option: 'resetTime' },
  { name: 'halfOpenRequests 0', options: { halfOpenRequests: 0 }, option: 'halfOpenRequests' },
  { name: 'halfOpenRequests fractional', options: { halfOpenRequests: 1.5 }, option: 'halfOpenRequests' },
  { name: 'halfOpenRequests huge', options: { halfOpenRequests: 1e9 }, option: 'halfOpenRequests' },
  { name: 'halfOpenTimeout 0', options: { halfOpenTimeout: 0 }, option: 'halfOpenTimeout' },
  { name: 'slowCallThreshold negative', options: { slowCallThreshold: -1 }, option: 'slowCallThreshold' },
  {
    name: 'backoff without maxResetTime',
    options: { backoff: { factor: 2 } },
    option: 'backoff.maxResetTime',
  },
  {
    name: 'backoff maxResetTime below resetTime',
    options: { resetTime: 1_000, backoff: { maxResetTime: 500 } },
    option: 'backoff.maxResetTime',
  },
  {
    name: 'backoff factor below 1',
    options: { backoff: { factor: 0.5, maxResetTime: 60_000 } },
    option: 'backoff.factor',
  },
  {
    name: 'backoff unknown key',
    options: { backoff: { maxResetTime: 60_000, jitter: 1 } },
    option: 'backoff.jitter',
  },
  { name: 'statusCodes as a string', options: { statusCodes: '500' }, option: 'statusCodes' },
  { name: 'statusCodes below 100', options: { statusCodes: [99] }, option: 'statusCodes' },
  { name: 'statusCodes above 599', options: { statusCodes: [600] }, option: 'statusCodes' },
  { name: 'statusCodes fractional', options: { statusCodes: [500.5] }, option: 'statusCodes' },
  {
    name: 'an endless iterable of statusCodes',
    options: {
      statusCodes: {
        *[Symbol.iterator]() {
          for (;;) yield 503
        },
      },
    },
    option: 'statusCodes',
  },
  { name: 'now not a function', options: { now: 5 }, option: 'now' },
  { name: 'ignoreError not a function', options: { ignoreError: true }, option: 'ignoreError' },
  { name: 'onStateChange not a function', options: { onStateChange: 'log' }, option: 'onStateChange' },
  { name: 'name not a string', options: { name: 42 }, option: 'name' },
  { name: 'name over 1024 characters', options: { name: 'x'.repeat(1025) }, option: 'name' },
]

function codeOf(make: () => unknown): { code: string | undefined; option: string | undefined } {
  try {
    make()
  } catch (error) {
    if (isCircuitBreakerError(error)) return { code: error.code, option: error.option }
    throw error
  }
  return { code: undefined, option: undefined }
}

describe('options are validated at construction', () => {
  it.each(cases)('CircuitBreaker rejects $name', ({ options, option }) => {
    expect(codeOf(() => new CircuitBreaker(options as never))).toEqual({
      code: 'X_ERR_CIRCUIT_INVALID_OPTION',
      option,
    })
  })

  it.each(cases.filter((c) => c.option !== 'name'))(
    'circuitBreaker() rejects $name',
    ({ options, option }) => {
      expect(codeOf(() => circuitBreaker(options as never))).toEqual({
        code: 'X_ERR_CIRCUIT_INVALID_OPTION',
        option,
      })
    },
  )

  it.each([
    { name: 'maxBreakers 0', options: { maxBreakers: 0 }, option: 'maxBreakers' },
    { name: 'maxBreakers fractional', options: { maxBreakers: 2.5 }, option: 'maxBreakers' },
    { name: 'a name (breakers are named by key)', options: { name: 'x' }, option: 'name' },
  ])('createCircuitBreakers() rejects $name', ({ options, option }) => {
    expect(codeOf(() => createCircuitBreakers(options as never))).toEqual({
      code: 'X_ERR_CIRCUIT_INVALID_OPTION',
      option,
    })
  })

  it.each([
    { name: 'a key that is not a function', options: { key: 'origin' }, option: 'key' },
    { name: 'breakers that are not a group', options: { breakers: new Map() }, option: 'breakers' },
    {
      name: 'breaker options beside a shared group',
      options: { breakers: createCircuitBreakers(), resetTime: 1_000 },
      option: 'resetTime',
    },
  ])('circuitBreaker() rejects $name', ({ options, option }) => {
    expect(codeOf(() => circuitBreaker(options as never))).toEqual({
      code: 'X_ERR_CIRCUIT_INVALID_OPTION',
      option,
    })
  })

  it('accepts no options at all, and timeWindow alone with ten buckets', () => {
    expect(new CircuitBreaker().state).toBe('closed')
    expect(() => new CircuitBreaker({ rollingWindow: { timeWindow: 5_000 } })).not.toThrow()
    expect(() => new CircuitBreaker({ rollingWindow: { timeWindow: 7 } })).not.toThrow()
    expect(typeof circuitBreaker()).toBe('function')
  })
})

describe('shared counting needs a name', () => {
  it('rejects a breaker with a shared store but no name with X_ERR_CIRCUIT_INVALID_OPTION', () => {
    const store = { add: async () => ({ calls: 0, failures: 0, trip: null }), trip: async () => {} }
    expect(() => new CircuitBreaker({ shared: { store } })).toThrow(
      expect.objectContaining({ code: 'X_ERR_CIRCUIT_INVALID_OPTION', option: 'shared' }),
    )
  })
})
