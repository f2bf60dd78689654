import { describe, expect, it } from 'vitest'
import { Client, type ClientOptions, isClientError } from '../../src/index.js'
import { client, server } from './helpers.ts'

function construct(url: unknown, options?: unknown): unknown {
  try {
    new Client(url as string, options as ClientOptions).close().catch(() => {})
  } catch (e) {
    return e
  }
  return undefined
}

describe('construction', () => {
  it.each([
    { name: 'a relative URL', url: '/api' },
    { name: 'garbage', url: 'not a url' },
    { name: 'an ftp URL', url: 'ftp://example.com' },
    { name: 'a ws URL', url: 'ws://example.com' },
    { name: 'credentials in the URL', url: 'http://user:pw@example.com' },
    { name: 'a query', url: 'http://example.com/?a=1' },
    { name: 'a fragment', url: 'http://example.com/#x' },
    { name: 'a number', url: 42 },
  ])('refuses $name with X_ERR_CLIENT_INVALID_URL', ({ url }) => {
    expect(isClientError(construct(url), 'X_ERR_CLIENT_INVALID_URL')).toBe(true)
  })

  it.each([
    { name: 'options that are not an object', options: 'fast', option: 'options' },
    { name: 'an unknown option', options: { retries: 3 }, option: 'retries' },
    { name: 'a negative timeout', options: { timeout: -1 }, option: 'timeout' },
    { name: 'a fractional timeout', options: { timeout: 1.5 }, option: 'timeout' },
    { name: 'a timeout past the timer range', options: { timeout: 2 ** 31 }, option: 'timeout' },
    { name: 'a NaN connectTimeout', options: { connectTimeout: Number.NaN }, option: 'connectTimeout' },
    { name: 'a zero connectTimeout', options: { connectTimeout: 0 }, option: 'connectTimeout' },
    { name: 'a string headersTimeout', options: { headersTimeout: '5s' }, option: 'headersTimeout' },
    { name: 'httpVersion 3', options: { httpVersion: '3' }, option: 'httpVersion' },
    { name: 'an unknown keepAlive', options: { keepAlive: 'YES' }, option: 'keepAlive' },
    { name: 'an unknown chunking', options: { chunking: 'SOMETIMES' }, option: 'chunking' },
    { name: 'an unknown compression', options: { compression: 'GZIP' }, option: 'compression' },
    { name: 'a zero maxDecodedSize', options: { maxDecodedSize: 0 }, option: 'maxDecodedSize' },
    { name: 'an unknown forwarded', options: { forwarded: 'on' }, option: 'forwarded' },
    { name: 'poolConfig as a number', options: { poolConfig: 5 }, option: 'poolConfig' },
    { name: 'an unknown pool option', options: { poolConfig: { max: 5 } }, option: 'poolConfig.max' },
    {
      name: 'a negative pool cap',
      options: { poolConfig: { maxActiveConnections: -1 } },
      option: 'poolConfig.maxActiveConnections',
    },
    {
      name: 'an absurd waitTime',
      options: { poolConfig: { waitTime: 1e15 } },
      option: 'poolConfig.waitTime',
    },
    {
      name: 'a zero idleTimeout',
      options: { poolConfig: { idleTimeout: 0 } },
      option: 'poolConfig.idleTimeout',
    },
    {
      name: 'followRedirects.enabled as a string',
      options: { followRedirects: { enabled: 'yes' } },
      option: 'followRedirects.enabled',
    },
    {
      name: 'a zero maxCount',
      options: { followRedirects: { maxCount: 0 } },
      option: 'followRedirects.maxCount',
    },
    {
      name: 'an absurd maxCount',
      options: { followRedirects: { maxCount: 1e6 } },
      option: 'followRedirects.maxCount',
    },
    { name: 'a negative retry count', options: { retryConfig: { count: -1 } }, option: 'retryConfig.count' },
    { name: 'an absurd retry count', options: { retryConfig: { count: 1e9 } }, option: 'retryConfig.count' },
    {
      name: 'a backOffFactor below 1',
      options: { retryConfig: { backOffFactor: 0.5 } },
      option: 'retryConfig.backOffFactor',
    },
    {
      name: 'an infinite backOffFactor',
      options: { retryConfig: { backOffFactor: Number.POSITIVE_INFINITY } },
      option: 'retryConfig.backOffFactor',
    },
    {
      name: 'retrying 200',
      options: { retryConfig: { statusCodes: [200] } },
      option: 'retryConfig.statusCodes',
    },
    {
      name: 'a status of 999',
      options: { retryConfig: { statusCodes: [999] } },
      option: 'retryConfig.statusCodes',
    },
    {
      name: 'statusCodes as a number',
      options: { retryConfig: { statusCodes: 503 } },
      option: 'retryConfig.statusCodes',
    },
    {
      name: 'a method with a space',
      options: { retryConfig: { methods: ['GE T'] } },
      option: 'retryConfig.methods',
    },
    {
      name: 'maxWaitInterval below interval',
      options: { retryConfig: { interval: 500, maxWaitInterval: 100 } },
      option: 'retryConfig.maxWaitInterval',
    },
    { name: 'an unknown jitter', options: { retryConfig: { jitter: 'some' } }, option: 'retryConfig.jitter' },
    {
      name: 'a zero maxHeaderSize',
      options: { responseLimits: { maxHeaderSize: 0 } },
      option: 'responseLimits.maxHeaderSize',
    },
    {
      name: 'a negative maxBodySize',
      options: { responseLimits: { maxBodySize: -1 } },
      option: 'responseLimits.maxBodySize',
    },
    {
      name: 'a header value with CR/LF',
      options: { headers: { 'x-a': 'ok\r\nX-Evil: 1' } },
      option: 'headers.x-a',
    },
    { name: 'a header value with NUL', options: { headers: { 'x-a': 'a\u0000b' } }, option: 'headers.x-a' },
    { name: 'a header name with a space', options: { headers: { 'x a': 'v' } }, option: 'headers.x a' },
    { name: 'a non-string header value', options: { headers: { 'x-a': 5 } }, option: 'headers.x-a' },
    {
      name: 'a managed default header',
      options: { headers: { 'transfer-encoding': 'chunked' } },
      option: 'headers.transfer-encoding',
    },
    { name: 'a proxy without port', options: { proxy: { host: 'proxy' } }, option: 'proxy.port' },
    {
      name: 'a proxy password with CR/LF',
      options: { proxy: { host: 'p', port: 1, userName: 'u', password: 'x\r\ny' } },
      option: 'proxy.password',
    },
    { name: 'secureSocket as a string', options: { secureSocket: 'tls' }, option: 'secureSocket' },
    { name: 'a retry budget that is a number', options: { retryBudget: 1 }, option: 'retryBudget' },
    {
      name: 'a retry budget ratio above 1',
      options: { retryBudget: { ratio: 2 } },
      option: 'retryBudget.ratio',
    },
    {
      name: 'an unknown retry budget option',
      options: { retryBudget: { max: 1 } },
      option: 'retryBudget.max',
    },
    { name: 'a circuit breaker that is an array', options: { circuitBreaker: [] }, option: 'circuitBreaker' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION naming $option', ({ options, option }) => {
    const err = construct('http://127.0.0.1:1', options)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((err as { option?: string }).option).toBe(option)
  })

  it('applies the documented defaults', () => {
    const c = client('http://127.0.0.1:1/base/')
    expect(c.url).toBe('http://127.0.0.1:1/base')
    expect(c.config).toMatchObject({
      timeout: 60_000,
      connectTimeout: 10_000,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
      httpVersion: '1.1',
      keepAlive: 'AUTO',
      chunking: 'AUTO',
      compression: 'AUTO',
      maxDecodedSize: 32 * 1024 * 1024,
      forwarded: 'disable',
      followRedirects: {
        enabled: false,
        maxCount: 5,
        allowAuthHeaders: false,
        maxReplayBodySize: 1024 * 1024,
      },
      maxHeaderSize: 16_384,
      maxBodySize: Number.POSITIVE_INFINITY,
    })
    expect(c.config.retryConfig.count).toBe(0)
  })
})

describe('bad requests', () => {
  it.each([
    { name: 'CR/LF in a header value', headers: { 'x-a': 'v\r\nX-Injected: 1' } },
    { name: 'LF alone in a header value', headers: { 'x-a': 'v\nx' } },
    { name: 'NUL in a header value', headers: { 'x-a': 'v\u0000' } },
    { name: 'a non-Latin-1 header value', headers: { 'x-a': '日本' } },
    { name: 'a header name with a colon', headers: { 'x:a': 'v' } },
    { name: 'an empty header name', headers: { '': 'v' } },
    { name: 'Transfer-Encoding', headers: { 'transfer-encoding': 'chunked' } },
    { name: 'Expect', headers: { expect: '100-continue' } },
    { name: 'CR/LF in one of several values', headers: { 'x-a': ['ok', 'bad\r\n'] } },
  ])('refuses $name with X_ERR_CLIENT_INVALID_HEADER and sends nothing', async ({ headers }) => {
    const s = await server((_req, res) => res.end())
    const c = client(s.url)
    const err = await c.get('/', { headers }).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_HEADER')).toBe(true)
    expect(s.sockets.length).toBe(0)
  })

  it.each([
    { name: 'a path without a leading slash', path: 'users' },
    { name: 'an absolute URL as path', path: 'http://evil.example/x' },
    { name: 'a protocol-relative path', path: '//evil.example/x' },
    { name: 'CR/LF in the path', path: '/a\r\nHost: evil' },
    { name: 'a space in the path', path: '/a b' },
    { name: 'a fragment', path: '/a#b' },
    { name: 'a lone surrogate', path: '/\ud800' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_URL and sends nothing', async ({ path }) => {
    const s = await server((_req, res) => res.end())
    const c = client(s.url)
    const err = await c.get(path).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_URL')).toBe(true)
    expect(s.sockets.length).toBe(0)
  })

  it.each([
    { name: 'a method with a space', method: 'GE T' },
    { name: 'an empty method', method: '' },
    { name: 'CONNECT', method: 'CONNECT' },
    { name: 'a method with CR/LF', method: 'GET\r\n' },
  ])('refuses $name with X_ERR_CLIENT_INVALID_REQUEST', async ({ method }) => {
    const c = client('http://127.0.0.1:1')
    expect(
      isClientError(await c.execute(method, '/').catch((e: unknown) => e), 'X_ERR_CLIENT_INVALID_REQUEST'),
    ).toBe(true)
  })

  it.each([
    { name: 'a negative timeout', options: { timeout: -5 } },
    { name: 'a signal that is not one', options: { signal: {} } },
    { name: 'options that are not an object', options: 7 },
  ])('refuses request options with $name', async ({ options }) => {
    const c = client('http://127.0.0.1:1')
    const err = await c.get('/', options as never).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_REQUEST')).toBe(true)
  })
})

describe('resilience options', () => {
  it('keeps a retry budget by default, none with false, and no breaker unless asked', () => {
    const c = client('http://127.0.0.1:1')
    expect(c.config.retryBudget).toEqual({})
    expect(c.config.circuitBreaker).toBeUndefined()
    expect(client('http://127.0.0.1:1', { retryBudget: false }).config.retryBudget).toBe(false)
    expect(client('http://127.0.0.1:1', { circuitBreaker: { resetTime: 5 } }).config.circuitBreaker).toEqual({
      resetTime: 5,
    })
  })
})
