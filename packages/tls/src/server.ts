// The server side: options for node:https / node:http2 / node:tls servers (certificate,
// versions, ciphers, handshake timeout, session resumption, mutual TLS, SNI, ALPN), and an
// attach() that adds what options cannot carry: OCSP stapling and the session cache.
import { constants, randomBytes, type X509Certificate } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import {
  createSecureContext,
  type SecureContext,
  type SecureContextOptions,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls'
import { TlsError, toTlsError } from './errors.js'
import {
  type AlpnProtocol,
  checkAlpn,
  checkBoolean,
  checkEnum,
  checkPositive,
  checkRatio,
  checkSniName,
  checkUrl,
  checkVersions,
  cipherList,
  type TlsVersion,
} from './internal/validate.js'
import {
  findIssuer,
  type KeyMaterial,
  loadCertificates,
  loadKeyMaterial,
  type PemSource,
} from './material.js'
import type { TlsLogger } from './revocation.js'
import { Stapler, type StapleStatus } from './stapler.js'

/** OCSP stapling settings; `true` takes every default. */
export interface OcspStaplingOptions {
  /** Query this responder instead of the one each certificate names. */
  readonly responderUrl?: string
  /** @defaultValue `5000` */
  readonly timeoutMs?: number
  /** @defaultValue `'post'` */
  readonly method?: 'post' | 'get'
  /** Send a nonce (most CA responders ignore it and serve pre-produced responses). @defaultValue `false` */
  readonly nonce?: boolean
  /** Refresh once this fraction of the thisUpdate → nextUpdate window has passed. @defaultValue `0.5` */
  readonly refreshRatio?: number
  /** First retry delay after a failed fetch, doubling per failure. @defaultValue `1000` */
  readonly retryMs?: number
  /** @defaultValue `300000` */
  readonly maxRetryMs?: number
  /** @defaultValue `65536` */
  readonly maxResponseBytes?: number
  /** @defaultValue `300000` */
  readonly clockSkewMs?: number
  /** How long a response without nextUpdate is stapled. @defaultValue `300000` */
  readonly maxAgeMs?: number
}

/** TLS session resumption. */
export interface SessionResumptionOptions {
  /** Issue session tickets (RFC 5077 / TLS 1.3 PSK). @defaultValue `true` */
  readonly tickets?: boolean
  /** 48 bytes shared by every server of a cluster, so tickets resume anywhere; random per instance otherwise. */
  readonly ticketKeys?: Uint8Array
  /** Session lifetime. @defaultValue `300` */
  readonly timeoutSeconds?: number
  /** TLS 1.2 sessions kept in a server-side cache, by session ID (Node resumes TLS 1.3 by tickets only); 0 = none. @defaultValue `0` */
  readonly cacheSize?: number
}

/** Mutual TLS: ask clients for a certificate issued by `cert`. */
export interface MutualSslOptions {
  /** `require`: refuse clients without a valid certificate; `optional`: allow none, refuse an invalid one. */
  readonly verifyClient: 'require' | 'optional'
  /** CA certificate(s) client certificates must chain to. */
  readonly cert: PemSource | readonly PemSource[]
}

/** Server-side TLS configuration. */
export interface ServerTlsConfig {
  /** The server certificate (with its chain) and key, or a PKCS#12 bundle. */
  readonly key: KeyMaterial
  /** @defaultValue `'TLSv1.2'` */
  readonly minVersion?: TlsVersion
  /** @defaultValue `'TLSv1.3'` */
  readonly maxVersion?: TlsVersion
  /** OpenSSL cipher list for TLS 1.2 and below. */
  readonly ciphers?: string | readonly string[]
  /** Prefer the server's cipher order. @defaultValue `true` */
  readonly honorCipherOrder?: boolean
  /** Abort handshakes that take longer. @defaultValue `10000` */
  readonly handshakeTimeoutMs?: number
  readonly sessionResumption?: SessionResumptionOptions
  readonly mutualSsl?: MutualSslOptions
  /** Certificates per host name (`*.example.com` covers one label); `key` serves the rest. */
  readonly sni?: Readonly<Record<string, KeyMaterial>>
  /** ALPN protocols offered, in preference order. For node:http2 with allowHTTP1, Node sets h2 + http/1.1 itself. */
  readonly alpn?: readonly AlpnProtocol[]
  /** Staple OCSP responses (needs {@link ServerTls.attach}). @defaultValue `false` */
  readonly ocspStapling?: boolean | OcspStaplingOptions
  /** Receives stapling failures. */
  readonly logger?: TlsLogger
  /** Clock, for tests. @defaultValue `Date.now` */
  readonly now?: () => number
}

/** What {@link createServerTlsOptions} returns. */
export interface ServerTls {
  /** Spread into `https.createServer`, `http2.createSecureServer` or `tls.createServer`. */
  readonly options: Readonly<TlsOptions>
  /**
   * Adds the OCSPRequest handler (stapling), the session cache and the `optional` client
   * check to `server`; returns a function that removes them. Call before `listen()`.
   */
  attach(server: TlsServer): () => void
  /** Resolves once the first OCSP fetches have finished (stapling on), whatever their outcome. */
  stapleReady(): Promise<void>
  /** Stapling state per served certificate. */
  staplingStatus(): StapleStatus[]
  /** Stops background OCSP refreshes. */
  close(): void
}

const clientRejected = channel('x:tls:client-rejected')

/** Builds server TLS options (validated now) and the attach() that completes them. */
export function createServerTlsOptions(config: ServerTlsConfig): ServerTls {
  if (typeof config !== 'object' || config === null) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'config must be an object', { option: 'config' })
  }
  if (config.key === undefined)
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'key is required', { option: 'key' })
  const versions = checkVersions(config.minVersion, config.maxVersion)
  const handshakeTimeout = checkPositive(config.handshakeTimeoutMs, 'handshakeTimeoutMs', 10_000)
  const now = config.now ?? Date.now
  if (typeof now !== 'function')
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'now must be a function', { option: 'now' })

  const resumption = config.sessionResumption ?? {}
  const tickets = checkBoolean(resumption.tickets, 'sessionResumption.tickets', true)
  const sessionTimeout = checkPositive(resumption.timeoutSeconds, 'sessionResumption.timeoutSeconds', 300)
  const cacheSize = checkPositive(resumption.cacheSize, 'sessionResumption.cacheSize', 0, true)
  let ticketKeys: Buffer
  if (resumption.ticketKeys !== undefined) {
    if (!(resumption.ticketKeys instanceof Uint8Array) || resumption.ticketKeys.byteLength !== 48) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'sessionResumption.ticketKeys must be 48 bytes', {
        option: 'sessionResumption.ticketKeys',
      })
    }
    ticketKeys = Buffer.from(resumption.ticketKeys)
  } else ticketKeys = randomBytes(48)

  // One session ID context for every context of this server, or resumption breaks when
  // SNI picks another context or a client certificate was verified (OpenSSL refuses then).
  const sessionIdContext = randomBytes(16).toString('hex')
  const base: SecureContextOptions = {
    minVersion: versions.min,
    maxVersion: versions.max,
    honorCipherOrder: checkBoolean(config.honorCipherOrder, 'honorCipherOrder', true),
    sessionTimeout,
    ticketKeys,
    sessionIdContext,
  }
  if (!tickets) base.secureOptions = constants.SSL_OP_NO_TICKET
  if (config.ciphers !== undefined) {
    base.ciphers = cipherList(config.ciphers)
    try {
      createSecureContext({ ciphers: base.ciphers })
    } catch (cause) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'ciphers matches no cipher OpenSSL knows', {
        option: 'ciphers',
        cause,
      })
    }
  }

  let verifyClient: 'require' | 'optional' | undefined
  let clientCas: X509Certificate[] = []
  if (config.mutualSsl !== undefined) {
    const mutual = config.mutualSsl
    if (typeof mutual !== 'object' || mutual === null) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'mutualSsl must be an object', { option: 'mutualSsl' })
    }
    verifyClient = checkEnum(mutual.verifyClient, 'mutualSsl.verifyClient', ['require', 'optional'] as const)
    if (mutual.cert === undefined) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'mutualSsl.cert is required', {
        option: 'mutualSsl.cert',
      })
    }
    clientCas = loadCertificates(mutual.cert, 'mutualSsl.cert')
    base.ca = clientCas.map((c) => c.toString())
  }

  const main = loadKeyMaterial(config.key, 'key')
  const defaultContext = buildContext(base, main.tls, 'key')

  // SNI: exact names and one-label wildcards, each with its own context.
  const exact = new Map<string, SecureContext>()
  const wildcard = new Map<string, SecureContext>()
  const served: Array<readonly X509Certificate[]> = [main.certs]
  if (config.sni !== undefined) {
    if (typeof config.sni !== 'object' || config.sni === null) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'sni must map host names to certificates', {
        option: 'sni',
      })
    }
    for (const [name, material] of Object.entries(config.sni)) {
      const option = `sni[${JSON.stringify(name)}]`
      const key = checkSniName(name, option)
      const loaded = loadKeyMaterial(material, option)
      const context = buildContext(base, loaded.tls, option)
      if (key.startsWith('*.')) wildcard.set(key.slice(1), context)
      else exact.set(key, context)
      served.push(loaded.certs)
    }
  }

  const options: TlsOptions & { handshakeTimeout: number } = {
    ...base,
    ...main.tls,
    handshakeTimeout,
  }
  if (verifyClient !== undefined) {
    options.requestCert = true
    options.rejectUnauthorized = verifyClient === 'require'
  }
  if (config.alpn !== undefined) options.ALPNProtocols = [...checkAlpn(config.alpn, 'alpn')]
  if (exact.size > 0 || wildcard.size > 0) {
    options.SNICallback = (servername, callback) => {
      // Node passes the name as the client sent it; DNS names compare case-insensitively.
      const name = servername.toLowerCase()
      let context = exact.get(name)
      if (context === undefined) {
        const dot = name.indexOf('.')
        if (dot > 0) context = wildcard.get(name.slice(dot))
      }
      callback(null, context ?? defaultContext)
    }
  }

  let stapler: Stapler | undefined
  if (config.ocspStapling !== undefined && config.ocspStapling !== false) {
    const s: OcspStaplingOptions = config.ocspStapling === true ? {} : config.ocspStapling
    if (typeof s !== 'object' || s === null) {
      throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'ocspStapling must be a boolean or an object', {
        option: 'ocspStapling',
      })
    }
    if (s.responderUrl !== undefined) checkUrl(s.responderUrl, 'ocspStapling.responderUrl')
    stapler = new Stapler({
      fetch: {
        method: checkEnum(s.method ?? 'post', 'ocspStapling.method', ['post', 'get'] as const),
        timeoutMs: checkPositive(s.timeoutMs, 'ocspStapling.timeoutMs', 5_000),
        maxResponseBytes: checkPositive(s.maxResponseBytes, 'ocspStapling.maxResponseBytes', 65_536),
      },
      responderUrl: s.responderUrl,
      nonce: checkBoolean(s.nonce, 'ocspStapling.nonce', false),
      refreshRatio: checkRatio(s.refreshRatio, 'ocspStapling.refreshRatio', 0.5),
      retryMs: checkPositive(s.retryMs, 'ocspStapling.retryMs', 1_000),
      maxRetryMs: checkPositive(s.maxRetryMs, 'ocspStapling.maxRetryMs', 300_000),
      clockSkewMs: checkPositive(s.clockSkewMs, 'ocspStapling.clockSkewMs', 300_000, true),
      maxAgeMs: checkPositive(s.maxAgeMs, 'ocspStapling.maxAgeMs', 300_000),
      now,
      logger: config.logger,
    })
    // Certificates whose issuer is known now are fetched at attach(); the others (PKCS#12)
    // are learnt from the first OCSPRequest, which carries the issuer Node found.
    for (const certs of served) {
      const leaf = certs[0]
      if (leaf === undefined) continue
      const issuer = findIssuer(leaf, [...certs.slice(1), ...clientCas])
      if (issuer !== undefined) stapler.add(leaf, issuer)
    }
  }

  const sessions = cacheSize > 0 ? new SessionCache(cacheSize, sessionTimeout * 1000, now) : undefined
  let attached = 0

  return {
    options: Object.freeze(options),
    attach(server: TlsServer): () => void {
      if (server === null || typeof server !== 'object' || typeof server.on !== 'function') {
        throw new TlsError(
          'X_ERR_TLS_INVALID_OPTION',
          'attach() takes a node:tls, node:https or node:http2 server',
          {
            option: 'server',
          },
        )
      }
      const removers: Array<() => void> = []
      const on = (event: string, listener: (...args: never[]) => void, prepend = false) => {
        const fn = listener as (...args: unknown[]) => void
        if (prepend) server.prependListener(event, fn)
        else server.on(event, fn)
        removers.push(() => server.off(event, fn))
      }
      if (stapler !== undefined) {
        on('OCSPRequest', stapler.onOcspRequest)
        stapler.start()
      }
      if (sessions !== undefined) {
        on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
          sessions.set(id, data)
          done()
        })
        on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
          done(null, sessions.get(id) ?? null)
        })
      }
      if (verifyClient === 'optional') {
        // Node cannot refuse an invalid certificate yet accept none: close such connections
        // before the HTTP layer (whose listener was added first) reads a byte from them.
        on(
          'secureConnection',
          (socket: TLSSocket) => {
            if (socket.authorized || socket.getPeerCertificate().raw === undefined) return
            const error = toTlsError({ code: String(socket.authorizationError) })
            if (clientRejected.hasSubscribers)
              clientRejected.publish({ error, nodeCode: String(socket.authorizationError) })
            socket.destroy()
          },
          true,
        )
      }
      on('tlsClientError', (error: Error) => {
        if (clientRejected.hasSubscribers) clientRejected.publish({ error: toTlsError(error) ?? error })
      })
      attached++
      let done = false
      const detach = () => {
        if (done) return
        done = true
        server.off('close', detach)
        for (const remove of removers) remove()
        attached--
        if (attached === 0) stapler?.close()
      }
      server.once('close', detach)
      return detach
    },
    stapleReady: () => (stapler === undefined ? Promise.resolve() : stapler.settled()),
    staplingStatus: () => (stapler === undefined ? [] : stapler.status()),
    close() {
      stapler?.close()
    },
  }
}

function buildContext(
  base: SecureContextOptions,
  material: SecureContextOptions,
  option: string,
): SecureContext {
  try {
    return createSecureContext({ ...base, ...material })
  } catch (cause) {
    throw new TlsError(
      'X_ERR_TLS_INVALID_CERTIFICATE',
      `${option}: the certificate, key or passphrase is not usable`,
      { option, cause },
    )
  }
}

/** Server-side TLS sessions by ID, bounded and expiring. */
class SessionCache {
  readonly #map = new Map<string, { data: Buffer; expires: number }>()
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  set(id: Buffer, data: Buffer): void {
    const key = id.toString('hex')
    if (this.#map.has(key)) this.#map.delete(key)
    else if (this.#map.size >= this.max) {
      const oldest = this.#map.keys().next()
      if (!oldest.done) this.#map.delete(oldest.value)
    }
    this.#map.set(key, { data, expires: this.now() + this.ttlMs })
  }

  get(id: Buffer): Buffer | undefined {
    const key = id.toString('hex')
    const hit = this.#map.get(key)
    if (hit === undefined) return undefined
    if (hit.expires <= this.now()) {
      this.#map.delete(key)
      return undefined
    }
    return hit.data
  }
}
