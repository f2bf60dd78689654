// The client side: node:tls connection options (trust, client certificate, host-name check,
// SNI name, versions) and an undici connector that runs CRL and OCSP checks after the
// handshake, before undici sees the socket, so they hold for Agent, Client and fetch alike.
import type { X509Certificate } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import {
  type ConnectionOptions,
  checkServerIdentity,
  createSecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls'
import { buildConnector } from 'undici'
import { CrlStore, loadCrls } from './crl.js'
import { TlsError, toTlsError } from './errors.js'
import {
  type AlpnProtocol,
  checkAlpn,
  checkBoolean,
  checkEnum,
  checkPositive,
  checkServerName,
  checkUrl,
  checkVersions,
  cipherList,
  type TlsVersion,
} from './internal/validate.js'
import { type KeyMaterial, loadCertificates, loadKeyMaterial, type PemSource } from './material.js'
import { type CertValidationType, type PeerCert, RevocationChecker, type TlsLogger } from './revocation.js'

/** How the client checks the revocation status of the server's certificate. */
export interface CertValidationOptions {
  /**
   * `ocsp-stapling`: ask for the server's stapled response (`requestOCSP`) and verify it,
   * querying the responder when none or a bad one came; `ocsp`: query the responder named in
   * the certificate; `crl`: the configured CRLs only; `none`: no revocation check (configured
   * CRLs are still honoured).
   */
  readonly type: CertValidationType
  /**
   * Allow the connection when no valid status can be had (responder down, no CRL, unknown).
   * A revoked certificate always fails.
   * @defaultValue `false`
   */
  readonly failOpen?: boolean
  /** Query this responder instead of the one the certificate names. */
  readonly responderUrl?: string
  /** @defaultValue `5000` */
  readonly timeoutMs?: number
  /** Send a nonce with OCSP queries (RFC 8954). @defaultValue `true` */
  readonly nonce?: boolean
  /** @defaultValue `'post'` */
  readonly method?: 'post' | 'get'
  /** Cached outcomes kept, one per server certificate. @defaultValue `1024` */
  readonly cacheSize?: number
  /** How long "no status" is remembered before the responder is asked again. @defaultValue `30000` */
  readonly unavailableCacheMs?: number
  /** Tolerated clock difference with responders and CRL issuers. @defaultValue `300000` */
  readonly clockSkewMs?: number
  /** How long a response without nextUpdate counts as fresh. @defaultValue `300000` */
  readonly maxAgeMs?: number
  /** @defaultValue `65536` */
  readonly maxResponseBytes?: number
}

/** Client-side TLS configuration. */
export interface ClientTlsConfig {
  /** CAs to trust instead of Node's bundled roots (append `tls.rootCertificates` to keep them). */
  readonly ca?: PemSource | readonly PemSource[]
  /** A client certificate, for servers that ask for one (mutual TLS). */
  readonly key?: KeyMaterial
  /** Check that the certificate names the host. @defaultValue `true` */
  readonly verifyHostName?: boolean
  /** The SNI name to send (and to check the certificate against) instead of the URL's host. */
  readonly serverName?: string
  /** ALPN for `tlsOptions` (undici negotiates its own from `allowH2`). */
  readonly alpn?: readonly AlpnProtocol[]
  /** @defaultValue `'TLSv1.2'` */
  readonly minVersion?: TlsVersion
  /** @defaultValue `'TLSv1.3'` */
  readonly maxVersion?: TlsVersion
  /** OpenSSL cipher list (TLS 1.2 and below). */
  readonly ciphers?: string | readonly string[]
  /** Connect + handshake timeout of the undici connector. @defaultValue `10000` */
  readonly handshakeTimeoutMs?: number
  /** CRLs, PEM or DER: a certificate they list as revoked fails with X_ERR_TLS_CERT_REVOKED. */
  readonly crl?: PemSource | readonly PemSource[]
  /** @defaultValue `{ type: 'crl' }` when `crl` is set, else `{ type: 'none' }` */
  readonly certValidation?: CertValidationOptions
  /** undici connector options passed through (`allowH2`, `maxCachedSessions`, `keepAlive`, …). */
  readonly connectOptions?: {
    readonly allowH2?: boolean
    readonly maxCachedSessions?: number
    readonly keepAlive?: boolean
    readonly keepAliveInitialDelay?: number
  }
  /** Receives fail-open warnings. */
  readonly logger?: TlsLogger
  /** Clock, for tests. @defaultValue `Date.now` */
  readonly now?: () => number
}

/** undici's connector signature (`connect` option of Agent, Client and Pool). */
export type UndiciConnect = buildConnector.connector

/** An undici connector with CRL/OCSP checking, plus what node:tls and node:https users need. */
export interface ClientTlsConnector extends UndiciConnect {
  (options: buildConnector.Options, callback: buildConnector.Callback): void
  /** Options for `tls.connect` / `https.request` (trust, client certificate, SNI, versions); no revocation checks by themselves. */
  readonly tlsOptions: Readonly<ConnectionOptions>
  /** Opens a TLS connection with node:tls and resolves once the certificate passed every check. */
  connectTls(options: { host: string; port: number; servername?: string }): Promise<TLSSocket>
  /** Runs the revocation checks on a socket that finished its handshake; resolves, or rejects with a TlsError. */
  verifyPeer(socket: TLSSocket, host?: string, stapledResponse?: Buffer): Promise<void>
  /** Forgets cached revocation outcomes. */
  clearCache(): void
}

const rejected = channel('x:tls:connection-rejected')

/** Builds client TLS options and an undici connector that checks revocation after each handshake. */
export function createClientTlsConnector(config: ClientTlsConfig = {}): ClientTlsConnector {
  if (typeof config !== 'object' || config === null) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'config must be an object', { option: 'config' })
  }
  const verifyHostName = checkBoolean(config.verifyHostName, 'verifyHostName', true)
  const serverName =
    config.serverName === undefined ? undefined : checkServerName(config.serverName, 'serverName')
  const versions = checkVersions(config.minVersion, config.maxVersion)
  const handshakeTimeoutMs = checkPositive(config.handshakeTimeoutMs, 'handshakeTimeoutMs', 10_000)
  const now = config.now ?? Date.now
  if (typeof now !== 'function')
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'now must be a function', { option: 'now' })

  const tlsOptions: ConnectionOptions & { requestOCSP?: boolean } = {
    minVersion: versions.min,
    maxVersion: versions.max,
  }
  let knownCerts: X509Certificate[] = []
  if (config.ca !== undefined) {
    knownCerts = loadCertificates(config.ca, 'ca')
    tlsOptions.ca = knownCerts.map((c) => c.toString())
  }
  if (config.key !== undefined) Object.assign(tlsOptions, loadKeyMaterial(config.key, 'key').tls)
  if (config.ciphers !== undefined) tlsOptions.ciphers = cipherList(config.ciphers)
  if (config.alpn !== undefined) tlsOptions.ALPNProtocols = [...checkAlpn(config.alpn, 'alpn')]
  if (serverName !== undefined) tlsOptions.servername = serverName
  // Node builds the detailed peer certificate (DER, fingerprint, issuer chain) for its host
  // name check right before 'secureConnect'; keeping it spares a second, costly
  // getPeerCertificate(true). (getPeerX509Certificate is avoided: on Node 20 clients it
  // consumes the peer chain, so later getPeerCertificate calls come back empty.)
  let lastPeer: PeerCert | undefined
  tlsOptions.checkServerIdentity = (hostname, cert) => {
    lastPeer = cert as unknown as PeerCert
    return verifyHostName ? checkServerIdentity(hostname, cert) : undefined
  }

  const crls = new CrlStore(config.crl === undefined ? [] : loadCrls(config.crl, 'crl'))
  const validation = config.certValidation ?? { type: crls.size > 0 ? 'crl' : 'none' }
  if (typeof validation !== 'object' || validation === null) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'certValidation must be an object', {
      option: 'certValidation',
    })
  }
  const type = checkEnum(validation.type, 'certValidation.type', [
    'ocsp-stapling',
    'ocsp',
    'crl',
    'none',
  ] as const)
  if (validation.responderUrl !== undefined) checkUrl(validation.responderUrl, 'certValidation.responderUrl')
  const cacheSize = checkPositive(validation.cacheSize, 'certValidation.cacheSize', 1024)
  const checker = new RevocationChecker({
    type,
    failOpen: checkBoolean(validation.failOpen, 'certValidation.failOpen', false),
    crls,
    fetch: {
      method: checkEnum(validation.method ?? 'post', 'certValidation.method', ['post', 'get'] as const),
      timeoutMs: checkPositive(validation.timeoutMs, 'certValidation.timeoutMs', 5_000),
      maxResponseBytes: checkPositive(validation.maxResponseBytes, 'certValidation.maxResponseBytes', 65_536),
    },
    nonce: checkBoolean(validation.nonce, 'certValidation.nonce', true),
    responderUrl: validation.responderUrl,
    cacheSize,
    unavailableCacheMs: checkPositive(
      validation.unavailableCacheMs,
      'certValidation.unavailableCacheMs',
      30_000,
      true,
    ),
    clockSkewMs: checkPositive(validation.clockSkewMs, 'certValidation.clockSkewMs', 300_000, true),
    maxAgeMs: checkPositive(validation.maxAgeMs, 'certValidation.maxAgeMs', 300_000),
    knownCerts,
    now,
    logger: config.logger,
  })
  const requestOCSP = type === 'ocsp-stapling'
  if (requestOCSP) tlsOptions.requestOCSP = true

  // Fail now, not at the first connection, on a key that does not match or a bad passphrase.
  try {
    createSecureContext(tlsOptions)
  } catch (cause) {
    throw new TlsError('X_ERR_TLS_INVALID_CERTIFICATE', 'the client TLS options are not usable', {
      option: 'key',
      cause,
    })
  }

  const connectOptions = config.connectOptions ?? {}
  const base = buildConnector({
    ...connectOptions,
    ...tlsOptions,
    timeout: handshakeTimeoutMs,
  } as buildConnector.BuildOptions)
  const inactive = checker.inactive

  function fail(socket: Socket, error: TlsError, callback: buildConnector.Callback): void {
    if (rejected.hasSubscribers) rejected.publish({ host: error.host, error })
    socket.destroy()
    callback(error, null)
  }

  async function verifyPeer(socket: TLSSocket, host?: string, stapled?: Buffer): Promise<void> {
    const error = await runChecks(socket, false, host, stapled)
    if (error !== null) throw error
  }

  // A resumed TLS session carries no peer certificate on a Node client (getPeerCertificate
  // comes back empty), so the certificate seen on the full handshake is kept per session
  // key — undici's own key, the SNI name — and checked again on resumption.
  const sessionPeers = new Map<string, PeerCert>()

  /** The peer certificate of a socket whose 'secureConnect' is being handled right now. */
  function takePeer(
    socket: TLSSocket,
    justConnected: boolean,
    sessionKey: string | undefined,
  ): PeerCert | undefined {
    const captured = lastPeer
    lastPeer = undefined
    const resumed = socket.isSessionReused()
    if (justConnected && captured !== undefined && !resumed) {
      if (sessionKey !== undefined) {
        if (sessionPeers.size >= cacheSize && !sessionPeers.has(sessionKey)) sessionPeers.clear()
        sessionPeers.set(sessionKey, captured)
      }
      return captured
    }
    const cert = socket.getPeerCertificate(true) as Partial<PeerCert>
    if (cert.raw !== undefined) return cert as PeerCert
    return resumed && sessionKey !== undefined ? sessionPeers.get(sessionKey) : undefined
  }

  function runChecks(
    socket: TLSSocket,
    justConnected: boolean,
    host: string | undefined,
    stapled: Buffer | undefined,
  ): TlsError | null | Promise<TlsError | null> {
    if (inactive) return null
    const peer = takePeer(socket, justConnected, host)
    if (peer === undefined) {
      const cause = new TlsError(
        'X_ERR_TLS_CERT_INVALID',
        'the server certificate is not available to check',
        { host },
      )
      return checker.unavailable(cause, host)
    }
    const hit = checker.cached(peer, host)
    if (hit !== undefined) return withHost(hit, host)
    return checker.check(peer, host, stapled).then((e) => withHost(e, host))
  }

  const connect = function connect(options: buildConnector.Options, callback: buildConnector.Callback): void {
    const host = serverName ?? options.servername ?? options.hostname
    const opts = serverName === undefined ? options : { ...options, servername: serverName }
    let stapled: Buffer | undefined
    const socket = base(opts, (err, sock) => {
      if (err !== null) {
        const classified = toTlsError(err, host)
        if (classified !== undefined && rejected.hasSubscribers) rejected.publish({ host, error: classified })
        callback(classified ?? err, null)
        return
      }
      if (opts.protocol !== 'https:' || inactive) {
        callback(null, sock)
        return
      }
      const tlsSocket = sock as TLSSocket
      const result = runChecks(tlsSocket, true, host, stapled)
      if (result === null) callback(null, tlsSocket)
      else if (result instanceof TlsError) fail(tlsSocket, result, callback)
      else {
        result.then(
          (error) => {
            if (error !== null) fail(tlsSocket, error, callback)
            else if (tlsSocket.destroyed)
              callback(
                new TlsError(
                  'X_ERR_TLS_HANDSHAKE_FAILED',
                  'the connection closed during the revocation check',
                  { host },
                ),
                null,
              )
            else callback(null, tlsSocket)
          },
          (error: unknown) => fail(tlsSocket, toTlsError(error, host) ?? wrap(error, host), callback),
        )
      }
    }) as unknown as Socket | undefined
    if (socket === undefined || typeof socket.once !== 'function') return
    // undici's connector returns the socket it made; Node emits 'OCSPResponse' before 'secureConnect'.
    if (requestOCSP) {
      socket.once('OCSPResponse', (response: Buffer) => {
        stapled = response
      })
    }
    // TLS 1.3 completes the client's handshake before the server judges its certificate, so a
    // refusal arrives later as an alert that undici reports only as a closed socket: report it here.
    socket.on('error', onSocketError)
  } as ClientTlsConnector

  return Object.assign(connect, {
    tlsOptions: Object.freeze({ ...tlsOptions }),
    verifyPeer,
    clearCache: () => checker.clear(),
    connectTls(target: { host: string; port: number; servername?: string }): Promise<TLSSocket> {
      return new Promise<TLSSocket>((resolve, reject) => {
        const servername = serverName ?? target.servername ?? (isIp(target.host) ? undefined : target.host)
        let stapledTls: Buffer | undefined
        const socket = tlsConnect({
          ...tlsOptions,
          host: target.host,
          port: target.port,
          ...(servername === undefined ? {} : { servername }),
        })
        const host = servername ?? target.host
        const timer = setTimeout(
          () =>
            socket.destroy(
              new TlsError('X_ERR_TLS_HANDSHAKE_TIMEOUT', 'the TLS handshake timed out', { host }),
            ),
          handshakeTimeoutMs,
        )
        timer.unref()
        if (requestOCSP)
          socket.once('OCSPResponse', (r: Buffer) => {
            stapledTls = r
          })
        socket.once('error', (error) => {
          clearTimeout(timer)
          reject(toTlsError(error, host) ?? error)
        })
        socket.once('secureConnect', () => {
          clearTimeout(timer)
          Promise.resolve(runChecks(socket, true, host, stapledTls)).then(
            (error) => {
              if (error === null) resolve(socket)
              else {
                socket.destroy()
                reject(error)
              }
            },
            (error: unknown) => {
              socket.destroy()
              reject(error)
            },
          )
        })
      })
    },
  })
}

function onSocketError(this: Socket, error: Error): void {
  if (!rejected.hasSubscribers) return
  const classified = toTlsError(error)
  if (classified !== undefined) rejected.publish({ host: undefined, error: classified })
}

function withHost(error: TlsError | null, host: string | undefined): TlsError | null {
  if (error === null || error.host === host) return error
  // Cached outcomes are shared by every host the certificate serves; name this one.
  return new TlsError(error.code, error.message, {
    host,
    subject: error.subject,
    serialNumber: error.serialNumber,
    revokedAt: error.revokedAt,
    revocationReason: error.revocationReason,
    source: error.source,
    cause: error.cause,
  })
}

function wrap(error: unknown, host: string | undefined): TlsError {
  return new TlsError('X_ERR_TLS_HANDSHAKE_FAILED', 'the revocation check failed', { host, cause: error })
}

function isIp(host: string): boolean {
  return host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(host)
}
