import { describe, expect, it } from 'vitest'
import { ClientPool, type ClientPoolOptions, isClientPoolError } from '../src/index.js'

describe('options', () => {
  it('applies the documented defaults', () => {
    const p = new ClientPool()
    expect(p.options).toMatchObject({
      maxActiveConnections: Number.POSITIVE_INFINITY,
      waitTime: 30_000,
      idleTimeout: 30_000,
      keepAlive: 'AUTO',
      httpVersion: '1.1',
      maxActiveStreamsPerConnection: 100,
      connectTimeout: 10_000,
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
      maxHeaderSize: 16_384,
      maxResponseSize: Number.POSITIVE_INFINITY,
    })
  })

  it.each([
    { name: 'a non-object', options: 5, option: 'options' },
    { name: 'an unknown option', options: { maxConnections: 5 }, option: 'maxConnections' },
    { name: 'a negative cap', options: { maxActiveConnections: -1 }, option: 'maxActiveConnections' },
    { name: 'a zero cap', options: { maxActiveConnections: 0 }, option: 'maxActiveConnections' },
    { name: 'a fractional cap', options: { maxActiveConnections: 2.5 }, option: 'maxActiveConnections' },
    { name: 'a NaN cap', options: { maxActiveConnections: Number.NaN }, option: 'maxActiveConnections' },
    { name: 'a string cap', options: { maxActiveConnections: '5' }, option: 'maxActiveConnections' },
    { name: 'a negative waitTime', options: { waitTime: -1 }, option: 'waitTime' },
    { name: 'a waitTime past the timer range', options: { waitTime: 2 ** 31 }, option: 'waitTime' },
    { name: 'a zero idleTimeout', options: { idleTimeout: 0 }, option: 'idleTimeout' },
    {
      name: 'an infinite idleTimeout',
      options: { idleTimeout: Number.POSITIVE_INFINITY },
      option: 'idleTimeout',
    },
    { name: 'an absurd connectTimeout', options: { connectTimeout: 1e12 }, option: 'connectTimeout' },
    { name: 'a negative headersTimeout', options: { headersTimeout: -5 }, option: 'headersTimeout' },
    { name: 'an unknown keepAlive', options: { keepAlive: 'SOMETIMES' }, option: 'keepAlive' },
    { name: 'a lower-case keepAlive', options: { keepAlive: 'auto' }, option: 'keepAlive' },
    { name: 'httpVersion 3', options: { httpVersion: '3' }, option: 'httpVersion' },
    { name: 'httpVersion as a number', options: { httpVersion: 2 }, option: 'httpVersion' },
    {
      name: 'zero streams',
      options: { maxActiveStreamsPerConnection: 0 },
      option: 'maxActiveStreamsPerConnection',
    },
    { name: 'a zero maxHeaderSize', options: { maxHeaderSize: 0 }, option: 'maxHeaderSize' },
    { name: 'tls as a string', options: { tls: 'yes' }, option: 'tls' },
    { name: 'a connector that is not a function', options: { connector: {} }, option: 'connector' },
    { name: 'proxy as a string', options: { proxy: 'http://proxy:8080' }, option: 'proxy' },
    { name: 'a proxy without host', options: { proxy: { port: 8080 } }, option: 'proxy.host' },
    {
      name: 'a proxy host with CR/LF',
      options: { proxy: { host: 'a\r\nb', port: 1 } },
      option: 'proxy.host',
    },
    { name: 'a proxy host with a path', options: { proxy: { host: 'a/b', port: 1 } }, option: 'proxy.host' },
    { name: 'a proxy port of 0', options: { proxy: { host: 'a', port: 0 } }, option: 'proxy.port' },
    { name: 'a proxy port past 65535', options: { proxy: { host: 'a', port: 70000 } }, option: 'proxy.port' },
    {
      name: 'a proxy user with a colon',
      options: { proxy: { host: 'a', port: 1, userName: 'a:b' } },
      option: 'proxy.userName',
    },
    {
      name: 'a proxy password with CR/LF',
      options: { proxy: { host: 'a', port: 1, userName: 'u', password: 'p\r\nX-Evil: 1' } },
      option: 'proxy.password',
    },
    {
      name: 'a proxy password without user',
      options: { proxy: { host: 'a', port: 1, password: 'p' } },
      option: 'proxy.password',
    },
    {
      name: 'an unknown proxy option',
      options: { proxy: { host: 'a', port: 1, user: 'u' } },
      option: 'proxy.user',
    },
  ])('refuses $name with X_ERR_POOL_INVALID_OPTION naming $option', ({ options, option }) => {
    let err: unknown
    try {
      new ClientPool(options as ClientPoolOptions)
    } catch (e) {
      err = e
    }
    expect(isClientPoolError(err, 'X_ERR_POOL_INVALID_OPTION')).toBe(true)
    expect((err as { option?: string }).option).toBe(option)
  })

  it('accepts Infinity where it means "no limit"', () => {
    const p = new ClientPool({
      maxActiveConnections: Number.POSITIVE_INFINITY,
      waitTime: Number.POSITIVE_INFINITY,
    })
    expect(p.options.waitTime).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('errors', () => {
  it('brands ClientPoolError so instanceof holds across copies', async () => {
    const { ClientPoolError } = await import('../src/errors.js')
    const foreign = Object.create(null) as Record<symbol, unknown>
    Object.defineProperty(foreign, Symbol.for('x.error.client-pool'), { get: () => true })
    expect(foreign instanceof ClientPoolError).toBe(true)
    expect({} instanceof ClientPoolError).toBe(false)
    expect(isClientPoolError(new ClientPoolError('X_ERR_POOL_CLOSED', 'x'), 'X_ERR_POOL_WAIT_TIMEOUT')).toBe(
      false,
    )
  })
})
