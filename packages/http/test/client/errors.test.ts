import { ClientPoolError } from '@x/client-pool'
import { errors } from 'undici'
import { describe, expect, it } from 'vitest'
import { ClientError, isClientError, toClientError } from '../../src/client/errors.js'

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

describe('toClientError', () => {
  it.each([
    {
      name: 'undici connect timeout',
      err: new errors.ConnectTimeoutError(),
      code: 'X_ERR_CLIENT_CONNECT_TIMEOUT',
    },
    {
      name: 'undici headers timeout',
      err: new errors.HeadersTimeoutError(),
      code: 'X_ERR_CLIENT_HEADERS_TIMEOUT',
    },
    { name: 'undici body timeout', err: new errors.BodyTimeoutError(), code: 'X_ERR_CLIENT_BODY_TIMEOUT' },
    {
      name: 'undici headers overflow',
      err: new errors.HeadersOverflowError(),
      code: 'X_ERR_CLIENT_HEADERS_TOO_LARGE',
    },
    {
      name: 'undici socket error',
      err: new errors.SocketError('closed'),
      code: 'X_ERR_CLIENT_CONNECTION_RESET',
    },
    { name: 'undici aborted', err: new errors.RequestAbortedError(), code: 'X_ERR_CLIENT_ABORTED' },
    { name: 'a DOM AbortError', err: new DOMException('stop', 'AbortError'), code: 'X_ERR_CLIENT_ABORTED' },
    { name: 'ECONNREFUSED', err: coded('ECONNREFUSED'), code: 'X_ERR_CLIENT_CONNECT_FAILED' },
    { name: 'ENOTFOUND', err: coded('ENOTFOUND'), code: 'X_ERR_CLIENT_CONNECT_FAILED' },
    { name: 'ECONNRESET', err: coded('ECONNRESET'), code: 'X_ERR_CLIENT_CONNECTION_RESET' },
    { name: 'a TLS alt-name error', err: coded('ERR_TLS_CERT_ALTNAME_INVALID'), code: 'X_ERR_CLIENT_TLS' },
    {
      name: 'a self-signed certificate',
      err: coded('DEPTH_ZERO_SELF_SIGNED_CERT'),
      code: 'X_ERR_CLIENT_TLS',
    },
    { name: 'an expired certificate', err: coded('CERT_HAS_EXPIRED'), code: 'X_ERR_CLIENT_TLS' },
    { name: 'an llhttp error', err: coded('HPE_INVALID_CONSTANT'), code: 'X_ERR_CLIENT_PROTOCOL' },
    {
      name: 'an HTTP/2 protocol error',
      err: coded('ERR_HTTP2_INVALID_HEADER_VALUE'),
      code: 'X_ERR_CLIENT_PROTOCOL',
    },
    {
      name: 'an HTTP/2 stream reset',
      err: coded('ERR_HTTP2_STREAM_ERROR'),
      code: 'X_ERR_CLIENT_CONNECTION_RESET',
    },
    { name: 'a zlib data error', err: coded('Z_DATA_ERROR'), code: 'X_ERR_CLIENT_DECODE_FAILED' },
    {
      name: 'the pool wait timeout',
      err: new ClientPoolError('X_ERR_POOL_WAIT_TIMEOUT', 'waited'),
      code: 'X_ERR_CLIENT_WAIT_TIMEOUT',
    },
    {
      name: 'a closed pool',
      err: new ClientPoolError('X_ERR_POOL_CLOSED', 'closed'),
      code: 'X_ERR_CLIENT_CLOSED',
    },
    {
      name: 'a refused tunnel',
      err: new ClientPoolError('X_ERR_POOL_PROXY_CONNECT', 'no', { statusCode: 407 }),
      code: 'X_ERR_CLIENT_PROXY',
    },
    {
      name: 'a wrapped ECONNRESET',
      err: new TypeError('fetch failed', { cause: coded('ECONNRESET') }),
      code: 'X_ERR_CLIENT_CONNECTION_RESET',
    },
    {
      name: 'a doubly wrapped timeout',
      err: new Error('outer', { cause: new Error('middle', { cause: new errors.HeadersTimeoutError() }) }),
      code: 'X_ERR_CLIENT_HEADERS_TIMEOUT',
    },
    { name: 'an unknown error', err: new Error('odd'), code: 'X_ERR_CLIENT_REQUEST_FAILED' },
    { name: 'a thrown string', err: 'just a string', code: 'X_ERR_CLIENT_REQUEST_FAILED' },
  ])('classifies $name as $code, keeping it as cause', ({ err, code }) => {
    const e = toClientError(err, 'GET', 'http://x/y')
    expect(e.code).toBe(code)
    expect(e.cause).toBe(err)
    expect(e.method).toBe('GET')
    expect(e.url).toBe('http://x/y')
  })

  it('keeps the proxy status of a refused tunnel', () => {
    expect(
      toClientError(new ClientPoolError('X_ERR_POOL_PROXY_CONNECT', 'no', { statusCode: 407 })).statusCode,
    ).toBe(407)
  })

  it('returns a ClientError as it is', () => {
    const e = new ClientError('X_ERR_CLIENT_DEADLINE', 'late')
    expect(toClientError(e)).toBe(e)
  })

  it('does not loop on a cyclic cause chain', () => {
    const a: Error & { cause?: unknown } = new Error('a')
    a.cause = a
    expect(toClientError(a).code).toBe('X_ERR_CLIENT_REQUEST_FAILED')
  })

  it('brands ClientError so instanceof holds across copies', () => {
    const foreign = {}
    Object.defineProperty(foreign, Symbol.for('x.error.http-client'), { get: () => true })
    expect(foreign instanceof ClientError).toBe(true)
    expect(isClientError(new Error('x'))).toBe(false)
    expect(isClientError(new ClientError('X_ERR_CLIENT_CLOSED', 'c'), 'X_ERR_CLIENT_DEADLINE')).toBe(false)
  })
})
