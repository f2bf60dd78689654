// Reads certificates, keys and PKCS#12 bundles from PEM text, bytes or files, once, at
// configuration time, and fails with a coded error naming the option at fault.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { TlsError } from './errors.js'

/** PEM text, raw bytes (PEM or DER), or a file to read them from. A bare string must be PEM: pass `{ path }` for a file. */
export type PemSource = string | Uint8Array | { readonly path: string }

/** A certificate (chain) and its private key. */
export interface CertKeyPair {
  /** The certificate, optionally followed by its intermediates (PEM or one DER certificate). */
  readonly cert: PemSource
  /** The private key, PEM (PKCS#8, SEC1 or PKCS#1; encrypted when `passphrase` is given). */
  readonly key: PemSource
  readonly passphrase?: string
  /** Extra intermediates to send after `cert`. */
  readonly chain?: PemSource | readonly PemSource[]
}

/** A PKCS#12 (`.p12`/`.pfx`) bundle holding the certificate, its key and optionally its chain. */
export interface Pkcs12Bundle {
  readonly pkcs12: Uint8Array | { readonly path: string }
  readonly passphrase?: string
}

/** Where a certificate and its key come from. */
export type KeyMaterial = CertKeyPair | Pkcs12Bundle

/** What node:tls takes, plus the parsed certificates when they are known (not for PKCS#12). */
export interface LoadedKey {
  readonly tls: { cert: string; key: Buffer; passphrase?: string } | { pfx: Buffer; passphrase?: string }
  /** Leaf first, then the chain; empty for PKCS#12 (Node hands the certificate over at handshake time). */
  readonly certs: readonly X509Certificate[]
}

function isPathSource(source: unknown): source is { readonly path: string } {
  return typeof source === 'object' && source !== null && !(source instanceof Uint8Array) && 'path' in source
}

/** The bytes of `source`; `option` names it in errors. */
export function readSource(source: PemSource, option: string): Buffer {
  if (typeof source === 'string') {
    if (!source.includes('-----BEGIN ')) {
      throw new TlsError(
        'X_ERR_TLS_INVALID_OPTION',
        `${option}: a string must be PEM text; pass { path } for a file`,
        {
          option,
        },
      )
    }
    return Buffer.from(source, 'utf8')
  }
  if (source instanceof Uint8Array) {
    if (source.byteLength === 0)
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} is empty`, { option })
    return Buffer.from(source.buffer, source.byteOffset, source.byteLength)
  }
  if (isPathSource(source) && typeof source.path === 'string' && source.path !== '') {
    try {
      return readFileSync(source.path)
    } catch (cause) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option}: cannot read ${source.path}`, {
        option,
        cause,
      })
    }
  }
  throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} must be PEM text, bytes or { path }`, { option })
}

const PEM_BEGIN = '-----BEGIN '
const PEM_END = '-----END '

/** The PEM blocks of `text` whose label is one of `labels`, each with its header and footer. */
export function pemBlocks(text: string, labels: readonly string[]): string[] {
  const out: string[] = []
  let from = 0
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, from)
    if (begin === -1) break
    const labelEnd = text.indexOf('-----', begin + PEM_BEGIN.length)
    if (labelEnd === -1) break
    const label = text.slice(begin + PEM_BEGIN.length, labelEnd)
    const footer = `${PEM_END}${label}-----`
    const end = text.indexOf(footer, labelEnd)
    if (end === -1) break
    if (labels.includes(label)) out.push(text.slice(begin, end + footer.length))
    from = end + footer.length
  }
  return out
}

function looksLikePem(bytes: Buffer): boolean {
  return bytes.includes(PEM_BEGIN, 0, 'latin1')
}

/** Every certificate in `sources` (PEM bundles or single DER certificates), parsed. */
export function loadCertificates(
  sources: PemSource | readonly PemSource[],
  option: string,
): X509Certificate[] {
  const list: readonly PemSource[] = Array.isArray(sources) ? sources : [sources as PemSource]
  if (list.length === 0) throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} is empty`, { option })
  const out: X509Certificate[] = []
  for (const source of list) {
    const bytes = readSource(source, option)
    if (looksLikePem(bytes)) {
      const blocks = pemBlocks(bytes.toString('latin1'), ['CERTIFICATE', 'TRUSTED CERTIFICATE'])
      if (blocks.length === 0) {
        throw new TlsError('X_ERR_TLS_INVALID_CERTIFICATE', `${option} holds no PEM certificate`, { option })
      }
      for (const block of blocks) out.push(parseCertificate(block, option))
    } else {
      out.push(parseCertificate(bytes, option))
    }
  }
  return out
}

function parseCertificate(data: string | Buffer, option: string): X509Certificate {
  try {
    return new X509Certificate(data)
  } catch (cause) {
    throw new TlsError(
      'X_ERR_TLS_INVALID_CERTIFICATE',
      `${option} holds a certificate that cannot be parsed`,
      {
        option,
        cause,
      },
    )
  }
}

function checkPassphrase(passphrase: unknown, option: string): void {
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option}.passphrase must be a string`, {
      option: `${option}.passphrase`,
    })
  }
}

/** Loads a certificate/key pair or a PKCS#12 bundle; `option` names it in errors. */
export function loadKeyMaterial(material: KeyMaterial, option: string): LoadedKey {
  if (typeof material !== 'object' || material === null) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} must be { cert, key } or { pkcs12 }`, {
      option,
    })
  }
  checkPassphrase(material.passphrase, option)
  if ('pkcs12' in material) {
    const pfx =
      material.pkcs12 instanceof Uint8Array
        ? readSource(material.pkcs12, `${option}.pkcs12`)
        : readSource(material.pkcs12 as { path: string }, `${option}.pkcs12`)
    return {
      tls: material.passphrase === undefined ? { pfx } : { pfx, passphrase: material.passphrase },
      certs: [],
    }
  }
  if (!('cert' in material) || !('key' in material)) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} must be { cert, key } or { pkcs12 }`, {
      option,
    })
  }
  const certs = loadCertificates(material.cert, `${option}.cert`)
  if (material.chain !== undefined) certs.push(...loadCertificates(material.chain, `${option}.chain`))
  const key = readSource(material.key, `${option}.key`)
  if (!looksLikePem(key)) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option}.key must be PEM`, { option: `${option}.key` })
  }
  const cert = certs.map((c) => c.toString()).join('\n')
  return {
    tls: material.passphrase === undefined ? { cert, key } : { cert, key, passphrase: material.passphrase },
    certs,
  }
}

/** Finds the certificate among `candidates` that issued `cert` (name match and a valid signature). */
export function findIssuer(
  cert: X509Certificate,
  candidates: Iterable<X509Certificate>,
): X509Certificate | undefined {
  for (const candidate of candidates) {
    if (candidate === cert || candidate.raw.equals(cert.raw)) continue
    if (cert.checkIssued(candidate) && cert.verify(candidate.publicKey)) return candidate
  }
  return undefined
}
