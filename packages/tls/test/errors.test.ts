// Classification of Node's and OpenSSL's TLS error codes into ours, through cause chains.
import { describe, expect, it } from 'vitest'
import { isTlsError, TlsError, toTlsError } from '../src/errors.js'

function nodeError(code: string): Error {
  return Object.assign(new Error(`node says ${code}`), { code })
}

describe('toTlsError', () => {
  it.each([
    { name: 'expired', code: 'CERT_HAS_EXPIRED', ours: 'X_ERR_TLS_CERT_EXPIRED' },
    { name: 'not yet valid', code: 'CERT_NOT_YET_VALID', ours: 'X_ERR_TLS_CERT_NOT_YET_VALID' },
    { name: 'revoked (CRL given to node:tls)', code: 'CERT_REVOKED', ours: 'X_ERR_TLS_CERT_REVOKED' },
    { name: 'host name', code: 'ERR_TLS_CERT_ALTNAME_INVALID', ours: 'X_ERR_TLS_HOSTNAME_MISMATCH' },
    { name: 'missing intermediate', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', ours: 'X_ERR_TLS_UNKNOWN_CA' },
    { name: 'unknown root', code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', ours: 'X_ERR_TLS_UNKNOWN_CA' },
    { name: 'self-signed leaf', code: 'DEPTH_ZERO_SELF_SIGNED_CERT', ours: 'X_ERR_TLS_UNKNOWN_CA' },
    { name: 'self-signed in chain', code: 'SELF_SIGNED_CERT_IN_CHAIN', ours: 'X_ERR_TLS_UNKNOWN_CA' },
    { name: 'bad signature', code: 'CERT_SIGNATURE_FAILURE', ours: 'X_ERR_TLS_CERT_INVALID' },
    { name: 'wrong purpose', code: 'INVALID_PURPOSE', ours: 'X_ERR_TLS_CERT_INVALID' },
    { name: 'CRL missing in node:tls', code: 'UNABLE_TO_GET_CRL', ours: 'X_ERR_TLS_NO_REVOCATION_STATUS' },
    { name: 'handshake timeout', code: 'ERR_TLS_HANDSHAKE_TIMEOUT', ours: 'X_ERR_TLS_HANDSHAKE_TIMEOUT' },
    {
      name: 'TLS 1.3 certificate required alert',
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      ours: 'X_ERR_TLS_PEER_CERT_REQUIRED',
    },
    {
      name: 'unknown CA alert',
      code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      ours: 'X_ERR_TLS_PEER_REJECTED_CERT',
    },
    {
      name: 'bad certificate alert',
      code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      ours: 'X_ERR_TLS_PEER_REJECTED_CERT',
    },
    {
      name: 'protocol version',
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      ours: 'X_ERR_TLS_HANDSHAKE_FAILED',
    },
    {
      name: 'any other OpenSSL failure',
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      ours: 'X_ERR_TLS_HANDSHAKE_FAILED',
    },
  ])('classifies $name ($code) as $ours', ({ code, ours }) => {
    const error = toTlsError(nodeError(code), 'example.test')
    expect(error?.code).toBe(ours)
    expect(error?.nodeCode).toBe(code)
    expect(error?.host).toBe('example.test')
    expect((error?.cause as Error | undefined)?.message).toBe(`node says ${code}`)
  })

  it('walks the cause chain, as fetch wraps connection errors', () => {
    const wrapped = new TypeError('fetch failed', {
      cause: new Error('outer', { cause: nodeError('CERT_HAS_EXPIRED') }),
    })
    expect(toTlsError(wrapped)?.code).toBe('X_ERR_TLS_CERT_EXPIRED')
  })

  it('returns our own error as it is', () => {
    const ours = new TlsError('X_ERR_TLS_CERT_REVOKED', 'revoked')
    expect(toTlsError(new TypeError('fetch failed', { cause: ours }))).toBe(ours)
  })

  it.each([
    { name: 'a connection refusal', value: nodeError('ECONNREFUSED') },
    { name: 'an undici socket error', value: nodeError('UND_ERR_SOCKET') },
    { name: 'a string', value: 'CERT_HAS_EXPIRED' },
    { name: 'null', value: null },
    { name: 'a number code', value: { code: 42 } },
  ])('answers undefined for $name', ({ value }) => {
    expect(toTlsError(value)).toBeUndefined()
  })

  it('stops on a cyclic cause chain', () => {
    const a: { code: string; cause?: unknown } = { code: 'X' }
    a.cause = a
    expect(toTlsError(a)).toBeUndefined()
  })
})

describe('isTlsError', () => {
  it('recognises errors by brand, across copies of the package', () => {
    const foreign = Object.assign(Object.create(null) as object, {
      [Symbol.for('x.error.tls')]: true,
      code: 'X',
    })
    expect(isTlsError(foreign)).toBe(true)
    expect(isTlsError(new Error('x'))).toBe(false)
    expect(isTlsError(new TlsError('X_ERR_TLS_CERT_EXPIRED', 'x'), 'X_ERR_TLS_CERT_EXPIRED')).toBe(true)
    expect(isTlsError(new TlsError('X_ERR_TLS_CERT_EXPIRED', 'x'), 'X_ERR_TLS_CERT_REVOKED')).toBe(false)
  })
})
