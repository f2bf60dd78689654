// CRL parsing and lookup against CRLs openssl issued: matched by issuer, signature checked,
// freshness checked, revoked serials found; hostile CRL bytes refused with a code.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPki, type Pki } from '../../../test-support/pki.ts'
import { CrlStore, loadCrls, parseCrl } from '../src/crl.js'
import { isTlsError } from '../src/errors.js'
import { factsOf } from '../src/ocsp.js'
import type { CertFacts } from '../src/x509.js'

let pki: Pki
let intermediate: CertFacts
let root: CertFacts
let server: CertFacts
let revoked: CertFacts

beforeAll(async () => {
  pki = await createPki()
  intermediate = factsOf(new X509Certificate(pki.intermediate.cert))
  root = factsOf(new X509Certificate(pki.root.cert))
  server = factsOf(new X509Certificate(pki.server.cert))
  revoked = factsOf(new X509Certificate(pki.revoked.cert))
})

afterAll(() => pki?.dispose())

const SKEW = 60_000

describe('CrlStore', () => {
  it('finds a revoked serial and passes the others', () => {
    const store = new CrlStore(loadCrls([pki.crlPem, pki.rootCrlPem], 'crl'))
    expect(store.check(server, intermediate, Date.now(), SKEW).kind).toBe('good')
    const result = store.check(revoked, intermediate, Date.now(), SKEW)
    expect(result).toMatchObject({ kind: 'revoked', revokedAt: expect.any(Date) })
    expect(store.check(intermediate, root, Date.now(), SKEW).kind).toBe('good')
  })

  it('is good until the CRL nextUpdate', () => {
    const store = new CrlStore(loadCrls(pki.crlPem, 'crl'))
    const result = store.check(server, intermediate, Date.now(), SKEW)
    const nextUpdate = execFileSync('openssl', [
      'crl',
      '-in',
      pki.crlFile,
      '-noout',
      '-nextupdate',
    ]).toString()
    expect(result.kind === 'good' && result.validUntil).toBe(Date.parse(nextUpdate.split('=')[1]!.trim()))
  })

  it('answers X_ERR_TLS_CRL_NOT_FOUND when no CRL comes from the issuer', () => {
    const store = new CrlStore(loadCrls(pki.rootCrlPem, 'crl'))
    const result = store.check(server, intermediate, Date.now(), SKEW)
    expect(result.kind === 'none' && result.error.code).toBe('X_ERR_TLS_CRL_NOT_FOUND')
  })

  it('answers X_ERR_TLS_CRL_STALE past nextUpdate', () => {
    const store = new CrlStore(loadCrls(pki.crlPem, 'crl'))
    const result = store.check(server, intermediate, Date.now() + 30 * 24 * 3600 * 1000, SKEW)
    expect(result.kind === 'none' && result.error.code).toBe('X_ERR_TLS_CRL_STALE')
  })

  it('answers X_ERR_TLS_CRL_BAD_SIGNATURE for a CRL the issuer did not sign', () => {
    const der = Buffer.from(pki.crlDer)
    der[der.length - 3]! ^= 0x01 // inside the signature
    const store = new CrlStore([parseCrl(der, 'crl')])
    const result = store.check(revoked, intermediate, Date.now(), SKEW)
    expect(result.kind === 'none' && result.error.code).toBe('X_ERR_TLS_CRL_BAD_SIGNATURE')
  })

  it('prefers the newest CRL of an issuer', () => {
    // A second CRL, issued after the revocation was lifted from the database, lists nothing.
    const older = loadCrls(pki.crlPem, 'crl')
    const index = join(pki.dir, 'int-ca', 'index.txt')
    const saved = readFileSync(index, 'utf8')
    try {
      execFileSync('sh', ['-c', `sed -i 's/^R\\t\\([^\\t]*\\)\\t[^\\t]*\\t/V\\t\\1\\t\\t/' '${index}'`])
      // Dated a minute ahead, so it is the newer one whatever the clock's resolution.
      const lastUpdate = `${new Date(Date.now() + 60_000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`
      const out = join(pki.dir, 'newer.crl.pem')
      execFileSync('openssl', [
        'ca',
        '-gencrl',
        '-config',
        join(pki.dir, 'int-ca', 'ca.cnf'),
        '-cert',
        pki.intermediate.certFile,
        '-keyfile',
        pki.intermediate.keyFile,
        '-crl_lastupdate',
        lastUpdate,
        '-out',
        out,
      ])
      const newer = loadCrls({ path: out }, 'crl')
      const store = new CrlStore([...older, ...newer])
      expect(store.check(revoked, intermediate, Date.now(), SKEW).kind).toBe('good')
    } finally {
      execFileSync('sh', ['-c', `cat > '${index}'`], { input: saved })
    }
  })
})

describe('hostile CRL input', () => {
  it.each([
    { name: 'empty bytes', source: () => Buffer.alloc(0), code: 'X_ERR_TLS_INVALID_OPTION' },
    { name: 'random bytes', source: () => Buffer.from('definitely not DER'), code: 'X_ERR_TLS_INVALID_CRL' },
    { name: 'a truncated CRL', source: () => pki.crlDer.subarray(0, 40), code: 'X_ERR_TLS_INVALID_CRL' },
    {
      name: 'a certificate',
      source: () => new X509Certificate(pki.root.cert).raw,
      code: 'X_ERR_TLS_INVALID_CRL',
    },
    { name: 'PEM without a CRL block', source: () => pki.root.cert, code: 'X_ERR_TLS_INVALID_CRL' },
    {
      name: 'a CRL block with broken base64',
      source: () => '-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n',
      code: 'X_ERR_TLS_INVALID_CRL',
    },
    {
      name: 'deeply nested sequences',
      source: () => Buffer.alloc(20_000, Buffer.from([0x30, 0x80])),
      code: 'X_ERR_TLS_INVALID_CRL',
    },
  ])('refuses $name with $code', ({ source, code }) => {
    try {
      loadCrls(source(), 'crl')
      expect.unreachable('loadCrls accepted it')
    } catch (error) {
      expect(isTlsError(error) && error.code).toBe(code)
    }
  })
})
