// Certificate revocation lists (RFC 5280 §5): parsed once at configuration, matched to a
// certificate's issuer by exact name, signature checked against that issuer, freshness
// checked against nextUpdate. Delta and indirect CRLs are not supported.
import { verify as verifySignature } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import { CertificateList, CRLReason, CRLReasons, id_ce_cRLReasons } from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'
import { TlsError } from './errors.js'
import { loadSourceBlocks } from './internal/blocks.js'
import type { PemSource } from './material.js'
import { type CertFacts, serialHex, signatureDigest } from './x509.js'

interface RevokedEntry {
  readonly revokedAt: Date
  readonly reason: string | undefined
}

interface ParsedCrl {
  readonly issuerDer: Buffer
  readonly thisUpdate: number
  readonly nextUpdate: number | undefined
  readonly revoked: ReadonlyMap<string, RevokedEntry>
  readonly tbs: Buffer
  readonly signatureAlgorithm: string
  readonly signature: Buffer
  /** Fingerprints of issuer certificates whose key verified the signature. */
  readonly verifiedBy: Set<string>
}

/** The answer of a CRL lookup. */
export type CrlResult =
  | { readonly kind: 'good'; readonly validUntil: number }
  | {
      readonly kind: 'revoked'
      readonly validUntil: number
      readonly revokedAt: Date
      readonly reason: string | undefined
    }
  | { readonly kind: 'none'; readonly error: TlsError }

/** Parses one DER CertificateList; `option` names it in errors. */
export function parseCrl(der: Buffer, option: string): ParsedCrl {
  try {
    const list = AsnConvert.parse(der, CertificateList)
    const tbsRaw = list.tbsCertListRaw
    if (tbsRaw === undefined) throw new Error('no tbsCertList')
    // The issuer Name's exact bytes, as certFacts() reads a certificate's subject.
    const decoded = asn1js.fromBER(der)
    if (decoded.offset === -1) throw new Error('not DER')
    const tbs = (decoded.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence
    const fields = tbs.valueBlock.value
    const base = fields[0] instanceof asn1js.Integer ? 1 : 0 // optional version
    const issuerBlock = fields[base + 1]
    if (issuerBlock === undefined) throw new Error('no issuer')
    const revoked = new Map<string, RevokedEntry>()
    for (const entry of list.tbsCertList.revokedCertificates ?? []) {
      const reasonExt = entry.crlEntryExtensions?.find((e) => e.extnID === id_ce_cRLReasons)
      const reason =
        reasonExt === undefined
          ? undefined
          : CRLReasons[AsnConvert.parse(reasonExt.extnValue, CRLReason).reason]
      revoked.set(serialHex(entry.userCertificate), { revokedAt: entry.revocationDate.getTime(), reason })
    }
    return {
      issuerDer: Buffer.from(issuerBlock.valueBeforeDecodeView),
      thisUpdate: list.tbsCertList.thisUpdate.getTime().getTime(),
      nextUpdate: list.tbsCertList.nextUpdate?.getTime().getTime(),
      revoked,
      tbs: Buffer.from(tbsRaw),
      signatureAlgorithm: list.signatureAlgorithm.algorithm,
      signature: Buffer.from(list.signature),
      verifiedBy: new Set(),
    }
  } catch (cause) {
    throw new TlsError('X_ERR_TLS_INVALID_CRL', `${option} holds a CRL that cannot be parsed`, {
      option,
      cause,
    })
  }
}

/** CRLs indexed by issuer, checked on demand. */
export class CrlStore {
  readonly #byIssuer = new Map<string, ParsedCrl[]>()

  constructor(crls: readonly ParsedCrl[]) {
    for (const crl of crls) {
      const key = crl.issuerDer.toString('base64')
      const list = this.#byIssuer.get(key)
      if (list === undefined) this.#byIssuer.set(key, [crl])
      else list.push(crl)
    }
    // Newest first, so the freshest list that verifies wins.
    for (const list of this.#byIssuer.values()) list.sort((a, b) => b.thisUpdate - a.thisUpdate)
  }

  get size(): number {
    return this.#byIssuer.size
  }

  /** True when a CRL from `issuer` was configured (signature not yet checked). */
  covers(issuer: CertFacts): boolean {
    return this.#byIssuer.has(issuer.subjectDer.toString('base64'))
  }

  /** Looks `cert` up in the CRL its `issuer` signed. */
  check(cert: CertFacts, issuer: CertFacts, now: number, clockSkewMs: number): CrlResult {
    const candidates = this.#byIssuer.get(issuer.subjectDer.toString('base64'))
    if (candidates === undefined) {
      return {
        kind: 'none',
        error: new TlsError('X_ERR_TLS_CRL_NOT_FOUND', 'no CRL from the certificate issuer was configured', {
          subject: cert.x509.subject,
          serialNumber: cert.serial,
          source: 'crl',
        }),
      }
    }
    let crl: ParsedCrl | undefined
    const fingerprint = issuer.x509.fingerprint256
    for (const candidate of candidates) {
      if (candidate.verifiedBy.has(fingerprint) || verifyCrl(candidate, issuer)) {
        candidate.verifiedBy.add(fingerprint)
        crl = candidate
        break
      }
    }
    if (crl === undefined) {
      return {
        kind: 'none',
        error: new TlsError(
          'X_ERR_TLS_CRL_BAD_SIGNATURE',
          'the CRL is not signed by the certificate issuer',
          {
            subject: cert.x509.subject,
            source: 'crl',
          },
        ),
      }
    }
    if (crl.nextUpdate !== undefined && crl.nextUpdate < now - clockSkewMs) {
      return {
        kind: 'none',
        error: new TlsError('X_ERR_TLS_CRL_STALE', 'the CRL is past its nextUpdate', {
          subject: cert.x509.subject,
          source: 'crl',
        }),
      }
    }
    const validUntil = crl.nextUpdate ?? Number.POSITIVE_INFINITY
    const entry = crl.revoked.get(cert.serial)
    if (entry === undefined) return { kind: 'good', validUntil }
    return { kind: 'revoked', validUntil, revokedAt: entry.revokedAt, reason: entry.reason }
  }
}

function verifyCrl(crl: ParsedCrl, issuer: CertFacts): boolean {
  const hash = signatureDigest(crl.signatureAlgorithm)
  if (hash === undefined) return false
  try {
    return verifySignature(hash, crl.tbs, issuer.x509.publicKey, crl.signature)
  } catch {
    return false
  }
}

/** Loads CRLs from PEM (`X509 CRL` blocks) or DER sources. */
export function loadCrls(sources: PemSource | readonly PemSource[], option: string): ParsedCrl[] {
  return loadSourceBlocks(sources, option, ['X509 CRL'], 'X_ERR_TLS_INVALID_CRL').map((der) =>
    parseCrl(der, option),
  )
}
