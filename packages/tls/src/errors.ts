// The package's one error class and the table that turns Node's and OpenSSL's TLS error
// codes into ours. Revocation and OCSP failures are created here too, never strings.

/** Every code a {@link TlsError} can carry. */
export type TlsErrorCode =
  // configuration, thrown by the factories
  | 'X_ERR_TLS_INVALID_OPTION'
  | 'X_ERR_TLS_INVALID_CERTIFICATE'
  | 'X_ERR_TLS_INVALID_CRL'
  // the peer's certificate, as a connection failure
  | 'X_ERR_TLS_CERT_REVOKED'
  | 'X_ERR_TLS_CERT_EXPIRED'
  | 'X_ERR_TLS_CERT_NOT_YET_VALID'
  | 'X_ERR_TLS_HOSTNAME_MISMATCH'
  | 'X_ERR_TLS_UNKNOWN_CA'
  | 'X_ERR_TLS_CERT_INVALID'
  | 'X_ERR_TLS_NO_REVOCATION_STATUS'
  // the handshake itself
  | 'X_ERR_TLS_PEER_CERT_REQUIRED'
  | 'X_ERR_TLS_PEER_REJECTED_CERT'
  | 'X_ERR_TLS_HANDSHAKE_FAILED'
  | 'X_ERR_TLS_HANDSHAKE_TIMEOUT'
  // why no revocation status could be had (the cause of X_ERR_TLS_NO_REVOCATION_STATUS)
  | 'X_ERR_TLS_OCSP_NO_RESPONDER'
  | 'X_ERR_TLS_OCSP_UNREACHABLE'
  | 'X_ERR_TLS_OCSP_RESPONDER_ERROR'
  | 'X_ERR_TLS_OCSP_MALFORMED'
  | 'X_ERR_TLS_OCSP_BAD_SIGNATURE'
  | 'X_ERR_TLS_OCSP_UNTRUSTED_SIGNER'
  | 'X_ERR_TLS_OCSP_STALE'
  | 'X_ERR_TLS_OCSP_NONCE_MISMATCH'
  | 'X_ERR_TLS_OCSP_CERT_MISMATCH'
  | 'X_ERR_TLS_OCSP_STATUS_UNKNOWN'
  | 'X_ERR_TLS_NO_ISSUER'
  | 'X_ERR_TLS_CRL_NOT_FOUND'
  | 'X_ERR_TLS_CRL_STALE'
  | 'X_ERR_TLS_CRL_BAD_SIGNATURE'

/** Details a {@link TlsError} may carry. */
export interface TlsErrorDetails {
  /** The host name the connection was for (its SNI name). */
  host?: string | undefined
  /** Subject of the certificate concerned, as Node prints it (`CN=localhost`). */
  subject?: string | undefined
  /** Serial number of the certificate concerned, upper-case hex. */
  serialNumber?: string | undefined
  /** When the certificate was revoked (X_ERR_TLS_CERT_REVOKED). */
  revokedAt?: Date | undefined
  /** RFC 5280 reason name (`keyCompromise`, …), when the CRL or OCSP response gave one. */
  revocationReason?: string | undefined
  /** Where the revocation status came from. */
  source?: 'crl' | 'ocsp' | 'ocsp-staple' | undefined
  /** The option at fault (X_ERR_TLS_INVALID_OPTION and friends). */
  option?: string | undefined
  /** Node's or OpenSSL's own code, when the error was classified from one. */
  nodeCode?: string | undefined
  cause?: unknown
}

const brand = Symbol.for('x.error.tls')

/** A TLS configuration, handshake, certificate or revocation failure, with a stable `code`. */
export class TlsError extends Error {
  override readonly name = 'TlsError'
  readonly code: TlsErrorCode
  readonly host: string | undefined
  readonly subject: string | undefined
  readonly serialNumber: string | undefined
  readonly revokedAt: Date | undefined
  readonly revocationReason: string | undefined
  readonly source: 'crl' | 'ocsp' | 'ocsp-staple' | undefined
  readonly option: string | undefined
  readonly nodeCode: string | undefined

  constructor(code: TlsErrorCode, message: string, details: TlsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.host = details.host
    this.subject = details.subject
    this.serialNumber = details.serialNumber
    this.revokedAt = details.revokedAt
    this.revocationReason = details.revocationReason
    this.source = details.source
    this.option = details.option
    this.nodeCode = details.nodeCode
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link TlsError} (from any copy of this package), optionally with the given code. */
export function isTlsError(value: unknown, code?: TlsErrorCode): value is TlsError {
  return value instanceof TlsError && (code === undefined || value.code === code)
}

// OpenSSL verify results (X509_V_ERR_* as Node names them) and Node's own TLS codes.
const NODE_CODES: Readonly<Record<string, TlsErrorCode>> = {
  CERT_REVOKED: 'X_ERR_TLS_CERT_REVOKED',
  CERT_HAS_EXPIRED: 'X_ERR_TLS_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'X_ERR_TLS_CERT_NOT_YET_VALID',
  ERR_TLS_CERT_ALTNAME_INVALID: 'X_ERR_TLS_HOSTNAME_MISMATCH',
  HOSTNAME_MISMATCH: 'X_ERR_TLS_HOSTNAME_MISMATCH',
  UNABLE_TO_GET_ISSUER_CERT: 'X_ERR_TLS_UNKNOWN_CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'X_ERR_TLS_UNKNOWN_CA',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'X_ERR_TLS_UNKNOWN_CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'X_ERR_TLS_UNKNOWN_CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'X_ERR_TLS_UNKNOWN_CA',
  CERT_UNTRUSTED: 'X_ERR_TLS_UNKNOWN_CA',
  CERT_SIGNATURE_FAILURE: 'X_ERR_TLS_CERT_INVALID',
  CERT_REJECTED: 'X_ERR_TLS_CERT_INVALID',
  INVALID_CA: 'X_ERR_TLS_CERT_INVALID',
  INVALID_PURPOSE: 'X_ERR_TLS_CERT_INVALID',
  PATH_LENGTH_EXCEEDED: 'X_ERR_TLS_CERT_INVALID',
  CERT_CHAIN_TOO_LONG: 'X_ERR_TLS_CERT_INVALID',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'X_ERR_TLS_CERT_INVALID',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'X_ERR_TLS_CERT_INVALID',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'X_ERR_TLS_CERT_INVALID',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'X_ERR_TLS_CERT_INVALID',
  UNABLE_TO_GET_CRL: 'X_ERR_TLS_NO_REVOCATION_STATUS',
  CRL_HAS_EXPIRED: 'X_ERR_TLS_NO_REVOCATION_STATUS',
  CRL_NOT_YET_VALID: 'X_ERR_TLS_NO_REVOCATION_STATUS',
  CRL_SIGNATURE_FAILURE: 'X_ERR_TLS_NO_REVOCATION_STATUS',
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 'X_ERR_TLS_NO_REVOCATION_STATUS',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'X_ERR_TLS_HANDSHAKE_TIMEOUT',
  // Alerts the peer sent us about our own certificate (mutual TLS).
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'X_ERR_TLS_PEER_CERT_REQUIRED',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'X_ERR_TLS_PEER_CERT_REQUIRED',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'X_ERR_TLS_PEER_REJECTED_CERT',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'X_ERR_TLS_PEER_REJECTED_CERT',
}

function fromNodeCode(code: string): TlsErrorCode | undefined {
  const mapped = NODE_CODES[code]
  if (mapped !== undefined) return mapped
  // Any other OpenSSL failure during a handshake (protocol version, cipher, alert).
  if (code.startsWith('ERR_SSL_') || code === 'ERR_TLS_INVALID_PROTOCOL_VERSION')
    return 'X_ERR_TLS_HANDSHAKE_FAILED'
  return undefined
}

/**
 * Finds the TLS failure behind `error`, walking its `cause` chain (as `fetch` wraps it in a
 * `TypeError` and undici in its own errors): our own {@link TlsError} is returned as is, a
 * Node/OpenSSL TLS code is classified into one, anything else answers `undefined`.
 */
export function toTlsError(error: unknown, host?: string): TlsError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 16 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof TlsError) return current
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') {
      const mapped = fromNodeCode(code)
      if (mapped !== undefined) {
        const message = (current as { message?: unknown }).message
        return new TlsError(mapped, typeof message === 'string' ? message : code, {
          host,
          nodeCode: code,
          cause: current,
        })
      }
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
