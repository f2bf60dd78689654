import { describe, expect, it } from 'vitest'
import { type BalancerOptions, balancer, createRetryBudget, isClientPoolError } from '../src/index.js'

const ok = 'http://127.0.0.1:1'

describe('balancer options', () => {
  it('accepts targets as strings, URLs and objects, and normalises their URLs', () => {
    const b = balancer({
      targets: [
        ok,
        new URL('https://example.com:8443/api/'),
        { url: 'http://h/v1//', available: () => true },
      ],
    }).balancer
    expect(b.targets.map((t) => [t.url, t.origin, t.basePath, t.index])).toEqual([
      ['http://127.0.0.1:1', 'http://127.0.0.1:1', '', 0],
      ['https://example.com:8443/api', 'https://example.com:8443', '/api', 1],
      ['http://h/v1', 'http://h', '/v1', 2],
    ])
    expect(b.panicking).toBe(false)
  })

  it.each([
    { name: 'no options', options: undefined, option: 'options' },
    { name: 'an unknown option', options: { targets: [ok], weights: [1] }, option: 'weights' },
    { name: 'no targets', options: { targets: [] }, option: 'targets' },
    { name: 'targets that are not an array', options: { targets: ok }, option: 'targets' },
    { name: 'too many targets', options: { targets: Array(1001).fill(ok) }, option: 'targets' },
    { name: 'a target that is not a URL', options: { targets: ['nope'] }, option: 'targets[0].url' },
    { name: 'an ftp target', options: { targets: ['ftp://h/'] }, option: 'targets[0].url' },
    { name: 'a target with credentials', options: { targets: ['http://u:p@h/'] }, option: 'targets[0].url' },
    { name: 'a target with a query', options: { targets: [ok, 'http://h/?a=1'] }, option: 'targets[1].url' },
    {
      name: 'an unknown target option',
      options: { targets: [{ url: ok, weight: 2 }] },
      option: 'targets[0].weight',
    },
    {
      name: 'a non-function available',
      options: { targets: [{ url: ok, available: true }] },
      option: 'targets[0].available',
    },
    {
      name: 'a non-function interceptor',
      options: { targets: [{ url: ok, interceptor: {} }] },
      option: 'targets[0].interceptor',
    },
    { name: 'an unknown algorithm', options: { targets: [ok], algorithm: 'random' }, option: 'algorithm' },
    {
      name: 'a rule without select',
      options: { targets: [ok], algorithm: { pick() {} } },
      option: 'algorithm',
    },
    { name: 'a failover that is a number', options: { targets: [ok], failover: 1 }, option: 'failover' },
    {
      name: 'an unknown failover option',
      options: { targets: [ok], failover: { retries: 1 } },
      option: 'failover.retries',
    },
    {
      name: 'a failover status out of range',
      options: { targets: [ok], failover: { statusCodes: [600] } },
      option: 'failover.statusCodes',
    },
    {
      name: 'failover statuses that are not iterable',
      options: { targets: [ok], failover: { statusCodes: 503 } },
      option: 'failover.statusCodes',
    },
    {
      name: 'a failover method with a space',
      options: { targets: [ok], failover: { methods: ['GE T'] } },
      option: 'failover.methods',
    },
    {
      name: 'a negative interval',
      options: { targets: [ok], failover: { interval: -1 } },
      option: 'failover.interval',
    },
    {
      name: 'an interval past the timer range',
      options: { targets: [ok], failover: { interval: 2 ** 31 } },
      option: 'failover.interval',
    },
    {
      name: 'zero consecutive failures',
      options: { targets: [ok], outlierDetection: { consecutiveFailures: 0 } },
      option: 'outlierDetection.consecutiveFailures',
    },
    {
      name: 'a zero ejection time',
      options: { targets: [ok], outlierDetection: { baseEjectionTime: 0 } },
      option: 'outlierDetection.baseEjectionTime',
    },
    {
      name: 'a max ejection time below the base',
      options: { targets: [ok], outlierDetection: { baseEjectionTime: 10, maxEjectionTime: 5 } },
      option: 'outlierDetection.maxEjectionTime',
    },
    {
      name: 'an ejection percent above 100',
      options: { targets: [ok], outlierDetection: { maxEjectionPercent: 101 } },
      option: 'outlierDetection.maxEjectionPercent',
    },
    {
      name: 'a NaN ejection percent',
      options: { targets: [ok], outlierDetection: { maxEjectionPercent: Number.NaN } },
      option: 'outlierDetection.maxEjectionPercent',
    },
    {
      name: 'an unknown outlier option',
      options: { targets: [ok], outlierDetection: { interval: 1 } },
      option: 'outlierDetection.interval',
    },
    {
      name: 'a negative panic threshold',
      options: { targets: [ok], panicThreshold: -1 },
      option: 'panicThreshold',
    },
    { name: 'a budget that is not one', options: { targets: [ok], retryBudget: {} }, option: 'retryBudget' },
    {
      name: 'a non-boolean depositRequests',
      options: { targets: [ok], depositRequests: 1 },
      option: 'depositRequests',
    },
    { name: 'a bypass that is not a function', options: { targets: [ok], bypass: true }, option: 'bypass' },
    { name: 'a clock that is not a function', options: { targets: [ok], now: 5 }, option: 'now' },
    { name: 'a random that is not a function', options: { targets: [ok], random: 0.5 }, option: 'random' },
  ])('refuses $name with X_ERR_POOL_INVALID_OPTION naming it', ({ options, option }) => {
    let caught: unknown
    try {
      balancer(options as unknown as BalancerOptions)
    } catch (e) {
      caught = e
    }
    expect(isClientPoolError(caught, 'X_ERR_POOL_INVALID_OPTION')).toBe(true)
    expect((caught as { option?: string }).option).toBe(option)
  })

  it('returns a dispatch of two parameters, as undici compose() requires', () => {
    const d = balancer({ targets: [ok] })(() => true)
    expect(d.length).toBe(2)
  })

  it.each([
    { name: 'a ratio above 1', options: { ratio: 1.5 }, option: 'ratio' },
    { name: 'a negative floor', options: { minPerSecond: -1 }, option: 'minPerSecond' },
    { name: 'a window shorter than its buckets', options: { window: 5 }, option: 'window' },
    { name: 'a fractional window', options: { window: 1000.5 }, option: 'window' },
    { name: 'an unknown option', options: { percent: 20 }, option: 'percent' },
    { name: 'a clock that is not a function', options: { now: 1 }, option: 'now' },
    { name: 'a non-object', options: 'x', option: 'options' },
  ])('refuses a retry budget with $name', ({ options, option }) => {
    let caught: unknown
    try {
      createRetryBudget(options as never)
    } catch (e) {
      caught = e
    }
    expect(isClientPoolError(caught, 'X_ERR_POOL_INVALID_OPTION')).toBe(true)
    expect((caught as { option?: string }).option).toBe(option)
  })
})
