// Both factories validate eagerly: every wrong option fails at construction with a coded
// error naming it, and good material in any accepted form is taken.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPki, type Pki } from '../../../test-support/pki.ts'
import { type ClientTlsConfig, createClientTlsConnector } from '../src/client.js'
import { isTlsError, type TlsError } from '../src/errors.js'
import { createServerTlsOptions, type ServerTlsConfig } from '../src/server.js'

let pki: Pki

beforeAll(async () => {
  pki = await createPki()
})

afterAll(() => pki?.dispose())

function thrown(fn: () => unknown): TlsError {
  try {
    fn()
  } catch (error) {
    if (isTlsError(error)) return error
    throw error
  }
  throw new Error('expected a TlsError')
}

const key = () => ({ cert: pki.server.chain, key: pki.server.key })

describe('createServerTlsOptions', () => {
  it.each([
    { name: 'no config', config: () => null, code: 'X_ERR_TLS_INVALID_OPTION', option: 'config' },
    { name: 'no key', config: () => ({}), code: 'X_ERR_TLS_INVALID_OPTION', option: 'key' },
    {
      name: 'a path passed as a bare string',
      config: () => ({ key: { cert: pki.server.certFile, key: pki.server.key } }),
      code: 'X_ERR_TLS_INVALID_OPTION',
      option: 'key.cert',
    },
    {
      name: 'a file that does not exist',
      config: () => ({ key: { cert: { path: '/nonexistent/cert.pem' }, key: pki.server.key } }),
      code: 'X_ERR_TLS_INVALID_OPTION',
      option: 'key.cert',
    },
    {
      name: 'PEM that holds no certificate',
      config: () => ({ key: { cert: pki.server.key, key: pki.server.key } }),
      code: 'X_ERR_TLS_INVALID_CERTIFICATE',
      option: 'key.cert',
    },
    {
      name: 'a corrupted certificate',
      config: () => ({
        // Overwrite the DER header (the outer SEQUENCE's tag and length): always unparseable,
        // whatever random key the PKI was made with.
        key: {
          cert: pki.server.cert.replace(/-----\n[A-Za-z0-9+/]{8}/, '-----\nAAAAAAAA'),
          key: pki.server.key,
        },
      }),
      code: 'X_ERR_TLS_INVALID_CERTIFICATE',
      option: 'key.cert',
    },
    {
      name: 'a key that does not match the certificate',
      config: () => ({ key: { cert: pki.server.chain, key: pki.client.key } }),
      code: 'X_ERR_TLS_INVALID_CERTIFICATE',
      option: 'key',
    },
    {
      name: 'a PKCS#12 bundle that is not one',
      config: () => ({ key: { pkcs12: Buffer.from('not a pfx'), passphrase: 'x' } }),
      code: 'X_ERR_TLS_INVALID_CERTIFICATE',
      option: 'key',
    },
    {
      name: 'a non-string passphrase',
      config: () => ({ key: { ...key(), passphrase: 42 } }),
      code: 'X_ERR_TLS_INVALID_OPTION',
      option: 'key.passphrase',
    },
    {
      name: 'an unknown minVersion',
      config: () => ({ key: key(), minVersion: 'SSLv3' }),
      option: 'minVersion',
    },
    {
      name: 'minVersion above maxVersion',
      config: () => ({ key: key(), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }),
      option: 'minVersion',
    },
    {
      name: 'ciphers OpenSSL does not know',
      config: () => ({ key: key(), ciphers: 'NOPE-CIPHER' }),
      option: 'ciphers',
    },
    { name: 'an empty cipher list', config: () => ({ key: key(), ciphers: [] }), option: 'ciphers' },
    {
      name: 'a zero handshake timeout',
      config: () => ({ key: key(), handshakeTimeoutMs: 0 }),
      option: 'handshakeTimeoutMs',
    },
    {
      name: 'a fractional handshake timeout',
      config: () => ({ key: key(), handshakeTimeoutMs: 1.5 }),
      option: 'handshakeTimeoutMs',
    },
    { name: 'an unknown ALPN protocol', config: () => ({ key: key(), alpn: ['spdy/3'] }), option: 'alpn' },
    { name: 'a repeated ALPN protocol', config: () => ({ key: key(), alpn: ['h2', 'h2'] }), option: 'alpn' },
    {
      name: 'ticket keys of the wrong length',
      config: () => ({ key: key(), sessionResumption: { ticketKeys: Buffer.alloc(32) } }),
      option: 'sessionResumption.ticketKeys',
    },
    {
      name: 'a negative session cache',
      config: () => ({ key: key(), sessionResumption: { cacheSize: -1 } }),
      option: 'sessionResumption.cacheSize',
    },
    {
      name: 'an unknown verifyClient',
      config: () => ({ key: key(), mutualSsl: { verifyClient: 'sometimes', cert: pki.root.cert } }),
      option: 'mutualSsl.verifyClient',
    },
    {
      name: 'mutual TLS without a CA',
      config: () => ({ key: key(), mutualSsl: { verifyClient: 'require' } }),
      option: 'mutualSsl.cert',
    },
    {
      name: 'an SNI name with a space',
      config: () => ({ key: key(), sni: { 'a b.test': key() } }),
      option: 'sni["a b.test"]',
    },
    {
      name: 'an SNI wildcard in the middle',
      config: () => ({ key: key(), sni: { 'a.*.test': key() } }),
      option: 'sni["a.*.test"]',
    },
    {
      name: 'an over-long SNI name',
      config: () => ({ key: key(), sni: { [`${'a'.repeat(64)}.test`]: key() } }),
      option: `sni["${'a'.repeat(64)}.test"]`,
    },
    {
      name: 'a stapling responder that is not http(s)',
      config: () => ({ key: key(), ocspStapling: { responderUrl: 'ldap://ca.test' } }),
      option: 'ocspStapling.responderUrl',
    },
    {
      name: 'a refresh ratio of 1',
      config: () => ({ key: key(), ocspStapling: { refreshRatio: 1 } }),
      option: 'ocspStapling.refreshRatio',
    },
    {
      name: 'a stapling option of the wrong type',
      config: () => ({ key: key(), ocspStapling: 'yes' }),
      option: 'ocspStapling',
    },
    { name: 'a clock that is not a function', config: () => ({ key: key(), now: 5 }), option: 'now' },
  ])('refuses $name', ({ config, option, ...rest }) => {
    const error = thrown(() => createServerTlsOptions(config() as unknown as ServerTlsConfig))
    expect(error.code).toBe('code' in rest ? rest.code : 'X_ERR_TLS_INVALID_OPTION')
    expect(error.option).toBe(option)
  })

  it('takes PEM strings, buffers and files alike', () => {
    const certFile = join(pki.dir, 'chain.pem')
    writeFileSync(certFile, pki.server.chain)
    for (const material of [
      key(),
      { cert: Buffer.from(pki.server.chain), key: Buffer.from(pki.server.key) },
      { cert: { path: certFile }, key: { path: pki.server.keyFile } },
      { cert: pki.server.cert, chain: [pki.intermediate.cert], key: pki.server.key },
    ]) {
      const options = createServerTlsOptions({ key: material }).options
      expect(String(options.cert).match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
    }
  })

  it('sets what Node needs for mutual TLS and the handshake timeout', () => {
    const options = createServerTlsOptions({
      key: key(),
      mutualSsl: { verifyClient: 'optional', cert: pki.root.cert },
      handshakeTimeoutMs: 1234,
      minVersion: 'TLSv1.3',
    }).options as Record<string, unknown>
    expect(options).toMatchObject({
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: 1234,
      minVersion: 'TLSv1.3',
    })
  })

  it('refuses to attach to something that is not a server', () => {
    const tls = createServerTlsOptions({ key: key() })
    expect(thrown(() => tls.attach({} as never)).code).toBe('X_ERR_TLS_INVALID_OPTION')
  })
})

describe('createClientTlsConnector', () => {
  it.each([
    {
      name: 'a non-boolean verifyHostName',
      config: () => ({ verifyHostName: 'yes' }),
      option: 'verifyHostName',
    },
    {
      name: 'a serverName that is no host name',
      config: () => ({ serverName: 'a_b..c' }),
      option: 'serverName',
    },
    {
      name: 'an unknown validation type',
      config: () => ({ certValidation: { type: 'crl+ocsp' } }),
      option: 'certValidation.type',
    },
    {
      name: 'a validation that is not an object',
      config: () => ({ certValidation: 'ocsp' }),
      option: 'certValidation',
    },
    {
      name: 'a responder URL that is not a URL',
      config: () => ({ certValidation: { type: 'ocsp', responderUrl: 'not a url' } }),
      option: 'certValidation.responderUrl',
    },
    {
      name: 'a zero responder timeout',
      config: () => ({ certValidation: { type: 'ocsp', timeoutMs: 0 } }),
      option: 'certValidation.timeoutMs',
    },
    {
      name: 'an unknown OCSP method',
      config: () => ({ certValidation: { type: 'ocsp', method: 'put' } }),
      option: 'certValidation.method',
    },
    {
      name: 'a non-boolean failOpen',
      config: () => ({ certValidation: { type: 'ocsp', failOpen: 1 } }),
      option: 'certValidation.failOpen',
    },
    {
      name: 'CRL text that is not a CRL',
      config: () => ({ crl: pki.root.cert }),
      code: 'X_ERR_TLS_INVALID_CRL',
      option: 'crl',
    },
    {
      name: 'CRL bytes that are garbage',
      config: () => ({ crl: Buffer.from([0x30, 0x03, 0x02, 0x01]) }),
      code: 'X_ERR_TLS_INVALID_CRL',
      option: 'crl',
    },
    { name: 'an empty CRL list', config: () => ({ crl: [] }), option: 'crl' },
    { name: 'an empty CA list', config: () => ({ ca: [] }), option: 'ca' },
    {
      name: 'an unusable client key',
      config: () => ({ key: { cert: pki.client.chain, key: pki.server.key } }),
      code: 'X_ERR_TLS_INVALID_CERTIFICATE',
      option: 'key',
    },
    { name: 'a non-object config', config: () => 'tls', option: 'config' },
  ])('refuses $name', ({ config, option, ...rest }) => {
    const error = thrown(() => createClientTlsConnector(config() as unknown as ClientTlsConfig))
    expect(error.code).toBe('code' in rest ? rest.code : 'X_ERR_TLS_INVALID_OPTION')
    expect(error.option).toBe(option)
  })

  it('exposes node:tls options with trust, client certificate, SNI name and OCSP request', () => {
    const connector = createClientTlsConnector({
      ca: pki.root.cert,
      key: { cert: pki.client.chain, key: pki.client.key },
      serverName: 'Api.Example.TEST.',
      certValidation: { type: 'ocsp-stapling' },
    })
    expect(connector.tlsOptions).toMatchObject({ servername: 'api.example.test', requestOCSP: true })
    expect(connector.tlsOptions.ca).toHaveLength(1)
    expect(String(connector.tlsOptions.cert)).toContain('BEGIN CERTIFICATE')
    expect(Object.isFrozen(connector.tlsOptions)).toBe(true)
  })
})
