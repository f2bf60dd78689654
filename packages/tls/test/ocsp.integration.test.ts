// OCSP response verification and fetching against responses openssl signs, good and bad:
// wrong signers, broken signatures, other certificates, nonces, stale windows, hostile
// bytes and hostile HTTP responders. Every failure is a coded TlsError, never a crash.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp'
import { AsnConvert } from '@peculiar/asn1-schema'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { createPki, freePort, type Issued, type Pki } from '../../../test-support/pki.ts'
import { isTlsError, type TlsError } from '../src/errors.js'
import {
  buildOcspRequest,
  factsOf,
  fetchOcsp,
  type OcspVerifyOptions,
  verifyOcspResponse,
} from '../src/ocsp.js'
import type { CertFacts } from '../src/x509.js'

let pki: Pki
let issuer: CertFacts
let server: CertFacts
let revoked: CertFacts

beforeAll(async () => {
  pki = await createPki()
  issuer = factsOf(new X509Certificate(pki.intermediate.cert))
  server = factsOf(new X509Certificate(pki.server.cert))
  revoked = factsOf(new X509Certificate(pki.revoked.cert))
})

afterAll(() => pki?.dispose())

let counter = 0
/** Has openssl answer a request for `cert` offline, signed by `signer`. */
function respond(cert: Issued, signer: Issued, extra: { nonce?: boolean; noCerts?: boolean } = {}): Buffer {
  const n = counter++
  const req = join(pki.dir, `req-${n}.der`)
  const resp = join(pki.dir, `resp-${n}.der`)
  execFileSync('openssl', [
    'ocsp',
    '-issuer',
    pki.intermediate.certFile,
    '-cert',
    cert.certFile,
    extra.nonce ? '-nonce' : '-no_nonce',
    '-reqout',
    req,
  ])
  const args = ['ocsp', '-index', join(pki.dir, 'int-ca', 'index.txt'), '-CA', pki.intermediate.certFile]
  args.push(
    '-rsigner',
    signer.certFile,
    '-rkey',
    signer.keyFile,
    '-reqin',
    req,
    '-respout',
    resp,
    '-nmin',
    '60',
  )
  if (extra.noCerts) args.push('-resp_no_certs')
  execFileSync('openssl', args)
  return readFileSync(resp)
}

function options(cert: CertFacts, overrides: Partial<OcspVerifyOptions> = {}): OcspVerifyOptions {
  return { cert, issuer, now: Date.now(), clockSkewMs: 60_000, maxAgeMs: 300_000, ...overrides }
}

function failure(fn: () => unknown): TlsError {
  try {
    fn()
  } catch (error) {
    if (isTlsError(error)) return error
    throw error
  }
  throw new Error('expected a TlsError')
}

describe('verifyOcspResponse', () => {
  it('accepts a good status signed by a delegated responder', () => {
    const status = verifyOcspResponse(respond(pki.server, pki.ocspSigner), options(server))
    expect(status.kind).toBe('good')
    expect(status.nextUpdate!.getTime() - status.thisUpdate.getTime()).toBe(60 * 60 * 1000)
    expect(status.validUntil).toBe(status.nextUpdate!.getTime())
  })

  it('accepts a status signed by the issuing CA itself', () => {
    expect(verifyOcspResponse(respond(pki.server, pki.intermediate), options(server)).kind).toBe('good')
  })

  it('reports a revoked status with its time', () => {
    const status = verifyOcspResponse(respond(pki.revoked, pki.ocspSigner), options(revoked))
    expect(status.kind).toBe('revoked')
    expect(status.revokedAt).toBeInstanceOf(Date)
  })

  it.each([
    {
      name: 'a certificate the CA issued without the OCSP signing usage',
      signer: () => pki.server,
      code: 'X_ERR_TLS_OCSP_UNTRUSTED_SIGNER',
    },
    {
      name: 'a certificate from another CA',
      signer: () => pki.rogueRoot,
      code: 'X_ERR_TLS_OCSP_UNTRUSTED_SIGNER',
    },
    {
      name: 'a key whose certificate the response leaves out',
      signer: () => pki.rogueRoot,
      noCerts: true,
      code: 'X_ERR_TLS_OCSP_BAD_SIGNATURE',
    },
  ])('refuses a response signed by $name', ({ signer, code, ...rest }) => {
    const der = respond(pki.server, signer(), { noCerts: 'noCerts' in rest })
    expect(failure(() => verifyOcspResponse(der, options(server))).code).toBe(code)
  })

  it('refuses a response whose signature was tampered with', () => {
    const der = Buffer.from(respond(pki.server, pki.ocspSigner, { noCerts: true }))
    der[der.length - 5]! ^= 0x01 // inside the ECDSA signature, the last field
    expect(failure(() => verifyOcspResponse(der, options(server))).code).toBe('X_ERR_TLS_OCSP_BAD_SIGNATURE')
  })

  it('refuses a response about another certificate', () => {
    const der = respond(pki.revoked, pki.ocspSigner)
    expect(failure(() => verifyOcspResponse(der, options(server))).code).toBe('X_ERR_TLS_OCSP_CERT_MISMATCH')
  })

  it('refuses a response that echoes another nonce, and accepts one without any', () => {
    const withNonce = respond(pki.server, pki.ocspSigner, { nonce: true })
    const ours = buildOcspRequest(server, issuer, true).nonce
    expect(failure(() => verifyOcspResponse(withNonce, options(server, { nonce: ours }))).code).toBe(
      'X_ERR_TLS_OCSP_NONCE_MISMATCH',
    )
    expect(
      verifyOcspResponse(respond(pki.server, pki.ocspSigner), options(server, { nonce: ours })).kind,
    ).toBe('good')
  })

  it.each([
    { name: 'past its nextUpdate', shiftMs: 2 * 60 * 60 * 1000 },
    { name: 'with a thisUpdate in the future', shiftMs: -60 * 60 * 1000 },
  ])('refuses a response $name', ({ shiftMs }) => {
    // Signed by the CA itself: a delegated signer issued a moment ago would fail its own
    // validity check first when the clock is set back.
    const der = respond(pki.server, pki.intermediate)
    expect(failure(() => verifyOcspResponse(der, options(server, { now: Date.now() + shiftMs }))).code).toBe(
      'X_ERR_TLS_OCSP_STALE',
    )
  })

  it.each([
    { name: 'tryLater', status: OCSPResponseStatus.tryLater },
    { name: 'unauthorized', status: OCSPResponseStatus.unauthorized },
    { name: 'internalError', status: OCSPResponseStatus.internalError },
  ])('reports a responder answering $name', ({ status }) => {
    const der = Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })))
    expect(failure(() => verifyOcspResponse(der, options(server))).code).toBe(
      'X_ERR_TLS_OCSP_RESPONDER_ERROR',
    )
  })

  describe('hostile bytes', () => {
    const good = () => respond(pki.server, pki.ocspSigner)
    const cut = (der: Buffer, length: (n: number) => number) => der.subarray(0, length(der.length))
    it.each([
      { name: 'nothing', der: () => Buffer.alloc(0) },
      { name: 'random bytes', der: () => Buffer.from('not an OCSP response at all, just text') },
      { name: 'the first half of a response', der: () => cut(good(), (n) => n >> 1) },
      { name: 'a response cut one byte short', der: () => cut(good(), (n) => n - 1) },
      { name: 'a length claiming 4 GiB', der: () => Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x0a]) },
      {
        name: '10 000 nested indefinite-length sequences',
        der: () => Buffer.alloc(20_000, Buffer.from([0x30, 0x80])),
      },
      {
        name: 'an OCSP request instead of a response',
        der: () => buildOcspRequest(server, issuer, false).der,
      },
      {
        name: 'a successful status with no body',
        der: () =>
          Buffer.from(
            AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus.successful })),
          ),
      },
    ])('answers X_ERR_TLS_OCSP_MALFORMED for $name', ({ der }) => {
      expect(failure(() => verifyOcspResponse(der(), options(server))).code).toBe('X_ERR_TLS_OCSP_MALFORMED')
    })
  })
})

describe('fetchOcsp', () => {
  const fetchOptions = { method: 'post', timeoutMs: 5_000, maxResponseBytes: 1024 } as const

  async function withServer(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    body: (url: string) => Promise<void>,
  ): Promise<void> {
    const http = createServer(handler)
    const target = await listen(http)
    try {
      await body(target.url)
      await target.drained()
    } finally {
      await target.close()
    }
  }

  async function fetchFailure(url: string, method: 'post' | 'get' = 'post'): Promise<TlsError> {
    try {
      await fetchOcsp(url, buildOcspRequest(server, issuer, false).der, { ...fetchOptions, method })
    } catch (error) {
      if (isTlsError(error)) return error
      throw error
    }
    throw new Error('expected a TlsError')
  }

  it.each([
    {
      name: 'an HTTP error status',
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        res.statusCode = 503
        res.end('busy')
      },
      code: 'X_ERR_TLS_OCSP_RESPONDER_ERROR',
    },
    {
      name: 'a declared body over maxResponseBytes',
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        res.setHeader('content-length', 4096)
        res.end(Buffer.alloc(4096))
      },
      code: 'X_ERR_TLS_OCSP_MALFORMED',
    },
    {
      name: 'a chunked body over maxResponseBytes',
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        for (let i = 0; i < 8; i++) res.write(Buffer.alloc(512))
        res.end()
      },
      code: 'X_ERR_TLS_OCSP_MALFORMED',
    },
    {
      name: 'a body cut off mid-way',
      handler: (_req: IncomingMessage, res: ServerResponse) => {
        res.setHeader('content-length', 800)
        res.write(Buffer.alloc(100), () => res.socket?.destroy())
      },
      code: 'X_ERR_TLS_OCSP_UNREACHABLE',
    },
  ])('answers $code for $name', async ({ handler, code }) => {
    await withServer(handler, async (url) => {
      expect((await fetchFailure(url)).code).toBe(code)
    })
  })

  it('answers X_ERR_TLS_OCSP_UNREACHABLE when nothing listens', async () => {
    expect((await fetchFailure(`http://127.0.0.1:${await freePort()}`)).code).toBe(
      'X_ERR_TLS_OCSP_UNREACHABLE',
    )
  })

  it('posts the DER request with the OCSP media type', async () => {
    const request = buildOcspRequest(server, issuer, true)
    let seen: { method?: string | undefined; type?: string | undefined; body?: Buffer } = {}
    await withServer(
      (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          seen = { method: req.method, type: req.headers['content-type'], body: Buffer.concat(chunks) }
          res.end(Buffer.from('resp'))
        })
      },
      async (url) => {
        const body = await fetchOcsp(url, request.der, fetchOptions)
        expect(body.toString()).toBe('resp')
      },
    )
    expect(seen).toEqual({ method: 'POST', type: 'application/ocsp-request', body: request.der })
  })

  it('sends GET requests as URL-encoded base64 under the responder path (RFC 5019)', async () => {
    const request = buildOcspRequest(server, issuer, false)
    let path = ''
    await withServer(
      (req, res) => {
        path = req.url ?? ''
        res.end('resp')
      },
      async (url) => {
        await fetchOcsp(`${url}/ocsp`, request.der, { ...fetchOptions, method: 'get' })
      },
    )
    expect(path.startsWith('/ocsp/')).toBe(true)
    expect(Buffer.from(decodeURIComponent(path.slice('/ocsp/'.length)), 'base64')).toEqual(request.der)
  })

  it('refuses a responder URL that is not http(s)', async () => {
    expect((await fetchFailure('ldap://127.0.0.1/ocsp')).code).toBe('X_ERR_TLS_OCSP_UNREACHABLE')
  })
})
