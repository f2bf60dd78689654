// The peer certificate of a TLS connection in the form request filters read: subject,
// issuer, serial, validity, SANs and whether Node's verification passed.
import { X509Certificate } from 'node:crypto'
import type { Socket } from 'node:net'
import type { PeerCertificate } from 'node:tls'

/** A TLS socket as node:tls, node:https and node:http2 (`session.socket`) expose it. */
export interface PeerCertificateSource {
  readonly authorized?: boolean
  readonly authorizationError?: Error | string | null
  getPeerX509Certificate?(): X509Certificate | undefined
  getPeerCertificate?(detailed?: boolean): PeerCertificate | Record<string, never>
}

/** What a filter or resource may read about the client (or server) certificate. */
export interface PeerCertificateInfo {
  /** True when the certificate chained to a trusted CA (Node's `socket.authorized`). */
  readonly authorized: boolean
  /** Node's verification error code when `authorized` is false. */
  readonly authorizationError: string | undefined
  /** Subject attributes (`CN`, `O`, `OU`, …), as Node parses them. */
  readonly subject: Readonly<Record<string, string | string[]>>
  /** The subject as one string, one attribute per line (`CN=client one`). */
  readonly subjectName: string
  readonly issuer: Readonly<Record<string, string | string[]>>
  readonly issuerName: string
  readonly commonName: string | undefined
  /** Upper-case hex. */
  readonly serialNumber: string
  readonly fingerprint256: string
  /** Node's `subjectAltName` string (`DNS:a.example, IP Address:127.0.0.1`), when present. */
  readonly subjectAltName: string | undefined
  readonly validFrom: Date
  readonly validTo: Date
  /** DER bytes. */
  readonly raw: Buffer
  readonly x509: X509Certificate
}

/** The certificate the peer presented, or `undefined` when it presented none. */
export function peerCertificate(socket: PeerCertificateSource | Socket): PeerCertificateInfo | undefined {
  // node:https types req.socket as a plain net.Socket; at run time it is the TLSSocket.
  const source = socket as PeerCertificateSource
  // getPeerCertificate first: on Node 20 a client's getPeerX509Certificate() consumes the
  // peer chain, after which getPeerCertificate() comes back empty.
  const parsed = (
    typeof source.getPeerCertificate === 'function' ? source.getPeerCertificate(false) : {}
  ) as Partial<PeerCertificate>
  const x509 =
    parsed.raw !== undefined
      ? new X509Certificate(parsed.raw)
      : typeof source.getPeerX509Certificate === 'function'
        ? source.getPeerX509Certificate()
        : undefined
  if (x509 === undefined) return undefined
  const subject = (parsed.subject ?? {}) as unknown as Record<string, string | string[]>
  const cn = subject.CN
  const error = source.authorizationError
  return {
    authorized: source.authorized === true,
    authorizationError:
      error === null || error === undefined
        ? undefined
        : typeof error === 'string'
          ? error
          : ((error as { code?: string }).code ?? error.message),
    subject,
    subjectName: x509.subject,
    issuer: (parsed.issuer ?? {}) as unknown as Record<string, string | string[]>,
    issuerName: x509.issuer,
    commonName: Array.isArray(cn) ? cn[0] : cn,
    serialNumber: x509.serialNumber,
    fingerprint256: x509.fingerprint256,
    subjectAltName: x509.subjectAltName,
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    raw: x509.raw,
    x509,
  }
}
