// RFC 6960 OCSP: builds a request for one certificate, fetches it over HTTP (POST, or GET
// per RFC 5019), and verifies a response: signer, signature, CertID, nonce and validity
// window. No caching and no policy here: the client checker and the stapler own those.
import { randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import {
  BasicOCSPResponse,
  CertID,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, CRLReasons, Extension } from '@peculiar/asn1-x509'
import { TlsError } from './errors.js'
import { type CertFacts, certFacts, digest, HASH_BY_OID, serialHex, signatureDigest } from './x509.js'

const SHA1 = '1.3.14.3.2.26'

/** A built OCSP request for one certificate. */
export interface BuiltOcspRequest {
  readonly der: Buffer
  /** The nonce sent, when one was. */
  readonly nonce: Buffer | undefined
}

/** Builds a DER OCSPRequest for `cert` issued by `issuer` (SHA-1 CertID, as RFC 5019 asks). */
export function buildOcspRequest(cert: CertFacts, issuer: CertFacts, withNonce: boolean): BuiltOcspRequest {
  const reqCert = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(digest('sha1', issuer.subjectDer)),
    issuerKeyHash: new OctetString(digest('sha1', issuer.publicKeyBits)),
    serialNumber: toArrayBuffer(cert.serialBytes),
  })
  const tbsRequest = new TBSRequest({ requestList: [new Request({ reqCert })] })
  let nonce: Buffer | undefined
  if (withNonce) {
    // RFC 8954: 1 to 32 octets; 16 random ones, wrapped in an OCTET STRING as RFC 6960 encodes it.
    nonce = randomBytes(16)
    tbsRequest.requestExtensions = [
      new Extension({
        extnID: id_pkix_ocsp_nonce,
        critical: false,
        extnValue: new OctetString(AsnConvert.serialize(new OctetString(nonce))),
      }),
    ]
  }
  const der = Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest })))
  return { der, nonce }
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

/** How to reach a responder. */
export interface OcspFetchOptions {
  /** @defaultValue `'post'` */
  readonly method: 'post' | 'get'
  readonly timeoutMs: number
  readonly maxResponseBytes: number
}

/**
 * Sends `der` to `url` and resolves with the response body. Rejects with
 * X_ERR_TLS_OCSP_UNREACHABLE (network, timeout), X_ERR_TLS_OCSP_RESPONDER_ERROR (HTTP status)
 * or X_ERR_TLS_OCSP_MALFORMED (body over the size limit).
 */
export function fetchOcsp(url: string, der: Buffer, options: OcspFetchOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let target: URL
    try {
      target = new URL(url)
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('not http(s)')
    } catch (cause) {
      reject(new TlsError('X_ERR_TLS_OCSP_UNREACHABLE', `OCSP responder URL ${url} is not usable`, { cause }))
      return
    }
    const get = options.method === 'get'
    if (get) {
      // RFC 5019 §5: base64 of the DER request, URL-encoded, appended to the responder's path.
      const base = target.pathname.endsWith('/') ? target.pathname : `${target.pathname}/`
      target.pathname = base + encodeURIComponent(der.toString('base64'))
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    let settled = false
    const fail = (error: TlsError) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      reject(error)
    }
    const req = send(
      target,
      {
        method: get ? 'GET' : 'POST',
        agent: false,
        headers: get
          ? { accept: 'application/ocsp-response', connection: 'close' }
          : {
              accept: 'application/ocsp-response',
              'content-type': 'application/ocsp-request',
              'content-length': der.length,
              connection: 'close',
            },
      },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume()
          fail(
            new TlsError('X_ERR_TLS_OCSP_RESPONDER_ERROR', `OCSP responder answered HTTP ${res.statusCode}`, {
              nodeCode: String(res.statusCode),
            }),
          )
          return
        }
        const declared = Number(res.headers['content-length'])
        if (declared > options.maxResponseBytes) {
          fail(new TlsError('X_ERR_TLS_OCSP_MALFORMED', 'OCSP response is larger than maxResponseBytes'))
          return
        }
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > options.maxResponseBytes) {
            fail(new TlsError('X_ERR_TLS_OCSP_MALFORMED', 'OCSP response is larger than maxResponseBytes'))
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve(Buffer.concat(chunks, size))
        })
        res.on('error', (cause) =>
          fail(new TlsError('X_ERR_TLS_OCSP_UNREACHABLE', 'OCSP response was cut off', { cause })),
        )
        res.on('aborted', () => fail(new TlsError('X_ERR_TLS_OCSP_UNREACHABLE', 'OCSP response was cut off')))
      },
    )
    const timer = setTimeout(
      () =>
        fail(
          new TlsError(
            'X_ERR_TLS_OCSP_UNREACHABLE',
            `OCSP responder did not answer in ${options.timeoutMs} ms`,
          ),
        ),
      options.timeoutMs,
    )
    timer.unref()
    req.on('error', (cause) =>
      fail(
        new TlsError('X_ERR_TLS_OCSP_UNREACHABLE', `OCSP responder ${target.host} is unreachable`, { cause }),
      ),
    )
    if (get) req.end()
    else req.end(der)
  })
}

/** A verified certificate status. */
export interface OcspStatus {
  readonly kind: 'good' | 'revoked' | 'unknown'
  readonly thisUpdate: Date
  readonly nextUpdate: Date | undefined
  /** Until when (ms since epoch) this answer may be used. */
  readonly validUntil: number
  readonly revokedAt?: Date
  readonly revocationReason?: string
}

/** What a response is checked against. */
export interface OcspVerifyOptions {
  readonly cert: CertFacts
  readonly issuer: CertFacts
  /** The nonce sent; a response that echoes a different one is refused. */
  readonly nonce?: Buffer | undefined
  readonly now: number
  /** Tolerated clock difference with the responder. */
  readonly clockSkewMs: number
  /** How long a response without nextUpdate is used after its thisUpdate. */
  readonly maxAgeMs: number
}

function malformed(message: string, cause?: unknown): TlsError {
  return new TlsError('X_ERR_TLS_OCSP_MALFORMED', message, cause === undefined ? {} : { cause })
}

/**
 * Parses and verifies a DER OCSPResponse for `options.cert`. Returns its status, or throws a
 * TlsError saying why the response cannot be trusted (X_ERR_TLS_OCSP_*).
 */
export function verifyOcspResponse(der: Uint8Array, options: OcspVerifyOptions): OcspStatus {
  let basic: BasicOCSPResponse
  try {
    const response = AsnConvert.parse(der, OCSPResponse)
    if (response.responseStatus !== OCSPResponseStatus.successful) {
      throw new TlsError(
        'X_ERR_TLS_OCSP_RESPONDER_ERROR',
        `OCSP responder answered ${OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`,
      )
    }
    const bytes = response.responseBytes
    if (bytes === undefined || bytes.responseType !== id_pkix_ocsp_basic) {
      throw malformed('OCSP response is not a basic response')
    }
    basic = AsnConvert.parse(bytes.response, BasicOCSPResponse)
  } catch (error) {
    if (error instanceof TlsError) throw error
    throw malformed('OCSP response cannot be parsed', error)
  }
  const tbsRaw = basic.tbsResponseDataRaw
  if (tbsRaw === undefined) throw malformed('OCSP response has no response data')
  const data = basic.tbsResponseData

  const single = data.responses.find((r) => certIdMatches(r.certID, options.cert, options.issuer))
  if (single === undefined) {
    throw new TlsError('X_ERR_TLS_OCSP_CERT_MISMATCH', 'OCSP response does not cover the certificate', {
      serialNumber: options.cert.serial,
    })
  }

  checkSigner(basic, Buffer.from(tbsRaw), options)

  if (options.nonce !== undefined) {
    const echoed = data.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce)
    // A responder may leave the nonce out (RFC 8954 §2.1, pre-produced responses); one that
    // echoes a different nonce is answering someone else's request.
    if (echoed !== undefined) {
      const got = Buffer.from(echoed.extnValue.buffer)
      const sent = Buffer.from(AsnConvert.serialize(new OctetString(options.nonce)))
      if (!got.equals(sent) && !got.equals(options.nonce)) {
        throw new TlsError('X_ERR_TLS_OCSP_NONCE_MISMATCH', 'OCSP response echoes another nonce')
      }
    }
  }

  const thisUpdate = single.thisUpdate
  const nextUpdate = single.nextUpdate
  if (thisUpdate.getTime() > options.now + options.clockSkewMs) {
    throw new TlsError('X_ERR_TLS_OCSP_STALE', 'OCSP response thisUpdate is in the future')
  }
  const validUntil = nextUpdate !== undefined ? nextUpdate.getTime() : thisUpdate.getTime() + options.maxAgeMs
  if (validUntil < options.now - options.clockSkewMs) {
    throw new TlsError('X_ERR_TLS_OCSP_STALE', 'OCSP response is past its nextUpdate')
  }
  if (nextUpdate !== undefined && nextUpdate.getTime() < thisUpdate.getTime()) {
    throw malformed('OCSP response nextUpdate is before thisUpdate')
  }

  const status = single.certStatus
  if (status.revoked !== undefined) {
    const reason = status.revoked.revocationReason?.reason
    return {
      kind: 'revoked',
      thisUpdate,
      nextUpdate,
      validUntil,
      revokedAt: status.revoked.revocationTime,
      ...(reason === undefined ? {} : { revocationReason: CRLReasons[reason] ?? String(reason) }),
    }
  }
  return { kind: status.good !== undefined ? 'good' : 'unknown', thisUpdate, nextUpdate, validUntil }
}

function certIdMatches(id: CertID, cert: CertFacts, issuer: CertFacts): boolean {
  if (serialHex(id.serialNumber) !== cert.serial) return false
  const hash = HASH_BY_OID[id.hashAlgorithm.algorithm]
  if (hash === undefined) return false
  return (
    Buffer.from(id.issuerNameHash.buffer).equals(digest(hash, issuer.subjectDer)) &&
    Buffer.from(id.issuerKeyHash.buffer).equals(digest(hash, issuer.publicKeyBits))
  )
}

/**
 * RFC 6960 §4.2.2.2: the response is signed by the issuing CA itself, or by a responder
 * certificate the CA issued with the id-kp-OCSPSigning extended key usage, valid now.
 */
function checkSigner(basic: BasicOCSPResponse, tbs: Buffer, options: OcspVerifyOptions): void {
  const hash = signatureDigest(basic.signatureAlgorithm.algorithm)
  if (hash === undefined) {
    throw new TlsError(
      'X_ERR_TLS_OCSP_BAD_SIGNATURE',
      `OCSP signature algorithm ${basic.signatureAlgorithm.algorithm} is not supported`,
    )
  }
  const signature = Buffer.from(basic.signature)
  const issuer = options.issuer.x509
  if (verifies(hash, tbs, issuer, signature)) return
  let signedByUnauthorised = false
  for (const embedded of basic.certs ?? []) {
    let candidate: X509Certificate
    try {
      candidate = new X509Certificate(Buffer.from(AsnConvert.serialize(embedded)))
    } catch {
      continue
    }
    if (!verifies(hash, tbs, candidate, signature)) continue
    if (isDelegatedResponder(candidate, issuer, options.now)) return
    signedByUnauthorised = true
  }
  if (signedByUnauthorised) {
    throw new TlsError(
      'X_ERR_TLS_OCSP_UNTRUSTED_SIGNER',
      'OCSP response is signed by a certificate the issuer did not authorise for OCSP',
    )
  }
  throw new TlsError('X_ERR_TLS_OCSP_BAD_SIGNATURE', 'OCSP response signature does not verify')
}

function verifies(hash: string | null, data: Buffer, signer: X509Certificate, signature: Buffer): boolean {
  try {
    return verifySignature(hash, data, signer.publicKey, signature)
  } catch {
    return false
  }
}

function isDelegatedResponder(candidate: X509Certificate, issuer: X509Certificate, now: number): boolean {
  if (!candidate.checkIssued(issuer) || !candidate.verify(issuer.publicKey)) return false
  const usages = candidate.keyUsage
  if (usages === undefined || !usages.includes(id_kp_OCSPSigning)) return false
  return Date.parse(candidate.validFrom) <= now && now <= Date.parse(candidate.validTo)
}

/** Parses a certificate for OCSP use; a coded error when it cannot be. */
export function factsOf(x509: X509Certificate): CertFacts {
  try {
    return certFacts(x509)
  } catch (cause) {
    throw new TlsError(
      'X_ERR_TLS_INVALID_CERTIFICATE',
      'certificate cannot be parsed for revocation checking',
      {
        subject: x509.subject,
        cause,
      },
    )
  }
}
