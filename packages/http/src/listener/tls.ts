// TLS for the Listener: `@x/tls`'s server configuration with ALPN set from `httpVersion`,
// and what filters and resources read about a connection's TLS (version, ALPN, SNI name,
// the client certificate), computed once per connection.

import type { TLSSocket } from 'node:tls'
import {
  createServerTlsOptions,
  isTlsError,
  type PeerCertificateInfo,
  peerCertificate,
  type ServerTls,
  type ServerTlsConfig,
} from '@x/tls'
import { configError } from '../errors.js'
import type { ListenerLogger } from './options.js'

/**
 * The Listener's `secureSocket`: `@x/tls`'s server configuration (certificate and key or
 * PKCS#12, CA chain, versions, ciphers, handshake timeout, session resumption, `mutualSsl`,
 * `sni`, `ocspStapling`), without `alpn`, which `httpVersion` decides.
 */
export type ListenerTlsOptions = Omit<ServerTlsConfig, 'alpn'>

/** What a filter or resource can read about a request's TLS connection (`ctx.tls`). */
export interface TlsInfo {
  /** The negotiated version: `'TLSv1.3'`, `'TLSv1.2'`. */
  readonly protocol: string | null
  /** The protocol ALPN chose (`'h2'`, `'http/1.1'`), or false when the client offered none. */
  readonly alpnProtocol: string | false
  /** The host name the client asked for with SNI, if it sent one. */
  readonly serverName: string | undefined
  /** The negotiated cipher suite (OpenSSL name). */
  readonly cipher: string
  /** True when the client presented a certificate that chains to `mutualSsl.cert`. */
  readonly authorized: boolean
  /** The client's certificate (mutual TLS): subject, issuer, serial, validity, SANs; undefined when none was sent. */
  readonly peerCertificate: PeerCertificateInfo | undefined
}

/** ALPN protocols offered for an HTTP version: HTTP/2 first when it is served. */
function alpnFor(httpVersion: '1.1' | '2', allowHTTP1: boolean): Array<'h2' | 'http/1.1'> {
  if (httpVersion === '1.1') return ['http/1.1']
  return allowHTTP1 ? ['h2', 'http/1.1'] : ['h2']
}

/** Builds (and so validates, files read) the TLS configuration; a bad one is `X_ERR_HTTP_INVALID_OPTION` with the `TlsError` as cause. */
export function resolveTls(
  value: unknown,
  httpVersion: '1.1' | '2',
  allowHTTP1: boolean,
  logger: ListenerLogger,
): ServerTls {
  if (typeof value !== 'object' || value === null) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'secureSocket must be an object (@x/tls server options)')
  }
  if ((value as { alpn?: unknown }).alpn !== undefined) {
    throw configError(
      'X_ERR_HTTP_INVALID_OPTION',
      'secureSocket.alpn is decided by httpVersion; leave it out',
    )
  }
  const config = value as ListenerTlsOptions
  try {
    return createServerTlsOptions({
      logger,
      ...config,
      alpn: alpnFor(httpVersion, allowHTTP1),
    })
  } catch (e) {
    if (isTlsError(e)) {
      const option = e.option === undefined ? 'secureSocket' : `secureSocket.${e.option}`
      throw configError('X_ERR_HTTP_INVALID_OPTION', `${option}: ${e.message}`, e)
    }
    throw e
  }
}

const INFO = Symbol('x.http.tlsInfo')

type InfoSocket = TLSSocket & { [INFO]?: TlsInfo | null }

/**
 * The TLS facts of the connection `socket` belongs to (node:https's TLS socket, or
 * node:http2's session socket), or undefined in cleartext. Computed on first use and kept on
 * the socket: a connection's certificate does not change between its requests.
 */
export function tlsInfo(socket: unknown): TlsInfo | undefined {
  const s = socket as InfoSocket | undefined
  if (s === undefined || s === null || s.encrypted !== true) return undefined
  const known = s[INFO]
  if (known !== undefined && known !== null) return known
  const cipher = s.getCipher()
  const info: TlsInfo = {
    protocol: s.getProtocol(),
    alpnProtocol: s.alpnProtocol ?? false,
    serverName: typeof s.servername === 'string' ? s.servername : undefined,
    cipher: cipher?.name ?? '',
    authorized: s.authorized === true,
    peerCertificate: peerCertificate(s),
  }
  s[INFO] = info
  return info
}
