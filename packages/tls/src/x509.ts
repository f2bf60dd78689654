// What OCSP and CRL checking need from a certificate beyond node:crypto's X509Certificate:
// exact DER of its subject, its public-key bits, its serial and its AIA responder URLs.
import type { X509Certificate } from 'node:crypto'
import { createHash } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import {
  AuthorityInfoAccessSyntax,
  Certificate,
  id_ad_ocsp,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'

/** The parts of a certificate that revocation checking compares and hashes. */
export interface CertFacts {
  readonly x509: X509Certificate
  /** DER of the subject Name, exactly as encoded in the certificate. */
  readonly subjectDer: Buffer
  /** DER of the issuer Name, exactly as encoded in the certificate. */
  readonly issuerDer: Buffer
  /** The subjectPublicKey BIT STRING's content (what OCSP key hashes cover). */
  readonly publicKeyBits: Buffer
  /** Serial number, upper-case hex without leading zeros. */
  readonly serial: string
  /** The INTEGER content bytes of the serial number, as encoded. */
  readonly serialBytes: Buffer
  /** OCSP responder URLs from the Authority Information Access extension (http/https only). */
  readonly ocspUrls: readonly string[]
}

function view(bytes: ArrayBuffer | Uint8Array): Buffer {
  return bytes instanceof Uint8Array
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : Buffer.from(bytes)
}

/** Upper-case hex of an INTEGER's content bytes, leading zeros dropped ("0" for zero). */
export function serialHex(bytes: ArrayBuffer | Uint8Array): string {
  const hex = view(bytes).toString('hex').toUpperCase()
  let i = 0
  while (i < hex.length - 1 && hex.charCodeAt(i) === 48) i++
  return hex.slice(i)
}

/** Parses `x509` once for revocation checking; throws when its DER is not a certificate. */
export function certFacts(x509: X509Certificate): CertFacts {
  const raw = x509.raw
  const cert = AsnConvert.parse(raw, Certificate)
  // asn1-schema re-encodes Names when asked to serialise them; hashing needs the original
  // bytes, so read the subject and issuer blocks with asn1js, which keeps them.
  const decoded = asn1js.fromBER(raw)
  if (decoded.offset === -1) throw new Error('certificate is not DER')
  const tbs = (decoded.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence
  const fields = tbs.valueBlock.value
  const base = fields[0]?.idBlock.tagClass === 3 ? 1 : 0 // [0] EXPLICIT version present
  const issuerBlock = fields[base + 2]
  const subjectBlock = fields[base + 4]
  if (issuerBlock === undefined || subjectBlock === undefined) throw new Error('certificate lacks names')
  const ocspUrls: string[] = []
  for (const ext of cert.tbsCertificate.extensions ?? []) {
    if (ext.extnID !== id_pe_authorityInfoAccess) continue
    const aia = AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax)
    for (const access of aia) {
      const uri = access.accessLocation.uniformResourceIdentifier
      if (access.accessMethod === id_ad_ocsp && uri !== undefined && /^https?:\/\//i.test(uri))
        ocspUrls.push(uri)
    }
  }
  const serialBytes = view(cert.tbsCertificate.serialNumber)
  return {
    x509,
    subjectDer: Buffer.from(subjectBlock.valueBeforeDecodeView),
    issuerDer: Buffer.from(issuerBlock.valueBeforeDecodeView),
    publicKeyBits: view(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
    serial: serialHex(serialBytes),
    serialBytes,
    ocspUrls,
  }
}

/** OIDs of the hash functions a CertID may use, with node:crypto's names. */
export const HASH_BY_OID: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}

export function digest(algorithm: string, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest()
}

/** Signature algorithm OIDs → the digest node:crypto.verify takes (null: the key type decides). */
const SIGNATURE_DIGEST: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
}

/** The digest for a signature algorithm OID; `undefined` when it is not supported (RSASSA-PSS, DSA). */
export function signatureDigest(oid: string): string | null | undefined {
  return Object.hasOwn(SIGNATURE_DIGEST, oid) ? SIGNATURE_DIGEST[oid] : undefined
}
