// The client's revocation policy: CRL, stapled OCSP, or a query to the responder, with
// one cache of outcomes per leaf certificate and failOpen deciding what "no status" means.
// A cache hit answers synchronously, so a cached check adds no tick to a handshake.
import { X509Certificate } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import type { CrlStore } from './crl.js'
import { TlsError } from './errors.js'
import {
  buildOcspRequest,
  factsOf,
  fetchOcsp,
  type OcspFetchOptions,
  type OcspStatus,
  verifyOcspResponse,
} from './ocsp.js'
import type { CertFacts } from './x509.js'

/** How the client checks that the server's certificate is not revoked. */
export type CertValidationType = 'ocsp-stapling' | 'ocsp' | 'crl' | 'none'

/** A pino-style logger; only `warn` is used. */
export interface TlsLogger {
  warn(details: object, message: string): void
}

export interface RevocationPolicy {
  readonly type: CertValidationType
  readonly failOpen: boolean
  readonly crls: CrlStore
  readonly fetch: OcspFetchOptions
  readonly nonce: boolean
  readonly responderUrl: string | undefined
  readonly cacheSize: number
  readonly unavailableCacheMs: number
  readonly clockSkewMs: number
  readonly maxAgeMs: number
  /** Trust anchors and intermediates the client knows, to find an issuer the server did not send. */
  readonly knownCerts: readonly X509Certificate[]
  readonly now: () => number
  readonly logger: TlsLogger | undefined
}

/** What a check concluded; `error` undefined means the connection may proceed. */
interface Outcome {
  readonly until: number
  readonly error: TlsError | undefined
  readonly status: 'good' | 'revoked' | 'unavailable'
  readonly source: 'crl' | 'ocsp' | 'ocsp-staple' | 'none'
}

/** The peer certificate as node:tls reports it (`getPeerCertificate(true)`): DER, fingerprint, issuer chain. */
export interface PeerCert {
  readonly raw: Buffer
  readonly fingerprint256: string
  readonly issuerCertificate?: PeerCert | undefined
}

const checked = channel('x:tls:revocation-checked')
const failedOpen = channel('x:tls:revocation-fail-open')

const OK_FOREVER: Outcome = {
  until: Number.POSITIVE_INFINITY,
  error: undefined,
  status: 'good',
  source: 'none',
}

/** Checks peers against the policy and caches the outcome per leaf certificate. */
export class RevocationChecker {
  readonly #policy: RevocationPolicy
  readonly #cache = new Map<string, Outcome>()
  readonly #inFlight = new Map<string, Promise<Outcome>>()
  readonly #facts = new Map<string, CertFacts>()

  constructor(policy: RevocationPolicy) {
    this.#policy = policy
  }

  /** True when no check is configured at all (type 'none' and no CRL). */
  get inactive(): boolean {
    return this.#policy.type === 'none' && this.#policy.crls.size === 0
  }

  /**
   * Answers from the cache: `null` when the peer passes, a TlsError when it fails, `undefined`
   * when the cache has no fresh answer and {@link check} must run.
   */
  cached(peer: PeerCert, host: string | undefined): TlsError | null | undefined {
    const key = peer.fingerprint256
    const hit = this.#cache.get(key)
    if (hit === undefined) return undefined
    if (hit.until <= this.#policy.now()) {
      this.#cache.delete(key)
      return undefined
    }
    if (checked.hasSubscribers)
      checked.publish({ host, status: hit.status, source: hit.source, cached: true })
    return this.#settle(hit, host)
  }

  /** Runs the full check (CRL, staple, responder); resolves `null` or the error to fail with. */
  async check(
    peer: PeerCert,
    host: string | undefined,
    staple: Buffer | undefined,
  ): Promise<TlsError | null> {
    const key = peer.fingerprint256
    let pending = this.#inFlight.get(key)
    if (pending === undefined) {
      pending = this.#evaluate(peer, staple).finally(() => this.#inFlight.delete(key))
      this.#inFlight.set(key, pending)
    }
    const outcome = await pending
    this.#remember(key, outcome)
    if (checked.hasSubscribers)
      checked.publish({ host, status: outcome.status, source: outcome.source, cached: false })
    return this.#settle(outcome, host)
  }

  /** Applies the failOpen policy to a status that could not be had at all. */
  unavailable(cause: TlsError, host: string | undefined): TlsError | null {
    return this.#settle(unavailable(cause, this.#policy.now(), 0, 'none'), host)
  }

  /** Forgets every cached outcome. */
  clear(): void {
    this.#cache.clear()
  }

  #settle(outcome: Outcome, host: string | undefined): TlsError | null {
    const error = outcome.error
    if (error === undefined) return null
    if (outcome.status === 'unavailable' && this.#policy.failOpen) {
      if (failedOpen.hasSubscribers) failedOpen.publish({ host, error })
      this.#policy.logger?.warn(
        { host, code: error.code },
        'no revocation status; connection allowed (failOpen)',
      )
      return null
    }
    return error
  }

  #remember(key: string, outcome: Outcome): void {
    const cache = this.#cache
    if (cache.has(key)) cache.delete(key)
    else if (cache.size >= this.#policy.cacheSize) {
      const oldest = cache.keys().next()
      if (!oldest.done) cache.delete(oldest.value)
    }
    cache.set(key, outcome)
  }

  #factsOf(x509: X509Certificate): CertFacts {
    const key = x509.fingerprint256
    let facts = this.#facts.get(key)
    if (facts === undefined) {
      facts = factsOf(x509)
      if (this.#facts.size >= this.#policy.cacheSize) this.#facts.clear()
      this.#facts.set(key, facts)
    }
    return facts
  }

  async #evaluate(peer: PeerCert, staple: Buffer | undefined): Promise<Outcome> {
    const policy = this.#policy
    const now = policy.now()
    let cert: CertFacts
    let chain: X509Certificate[]
    try {
      chain = peerChain(peer, policy.knownCerts)
      cert = this.#factsOf(chain[0]!)
    } catch (error) {
      const cause =
        error instanceof TlsError
          ? error
          : new TlsError('X_ERR_TLS_CERT_INVALID', 'the server certificate cannot be parsed', {
              cause: error,
            })
      return unavailable(cause, now, policy.unavailableCacheMs, 'none')
    }
    const leaf = chain[0]!
    const issuerX509 = chain[1]
    if (issuerX509 === undefined) {
      const error = new TlsError('X_ERR_TLS_NO_ISSUER', 'the issuer of the server certificate is not known', {
        subject: leaf.subject,
      })
      return unavailable(error, now, policy.unavailableCacheMs, 'none')
    }
    const issuer = this.#factsOf(issuerX509)

    // CRLs are local and cheap: whenever one covers a certificate of the chain, it is consulted.
    let until = Number.POSITIVE_INFINITY
    if (policy.crls.size > 0) {
      for (let i = 0; i + 1 < chain.length; i++) {
        const subject = i === 0 ? cert : this.#factsOf(chain[i]!)
        const signer = i === 0 ? issuer : this.#factsOf(chain[i + 1]!)
        if (i > 0 && !policy.crls.covers(signer)) continue
        const result = policy.crls.check(subject, signer, now, policy.clockSkewMs)
        if (result.kind === 'revoked') {
          return revoked(subject, result.revokedAt, result.reason, result.validUntil, 'crl')
        }
        if (result.kind === 'none') {
          if (policy.type === 'crl') return unavailable(result.error, now, policy.unavailableCacheMs, 'crl')
          break // OCSP will decide for the leaf
        }
        until = Math.min(until, result.validUntil)
      }
      if (policy.type === 'crl' || policy.type === 'none') {
        return { until, error: undefined, status: 'good', source: 'crl' }
      }
    }
    if (policy.type === 'none') return OK_FOREVER
    if (policy.type === 'crl') {
      return unavailable(
        new TlsError('X_ERR_TLS_CRL_NOT_FOUND', 'no CRL was configured', {
          subject: leaf.subject,
          source: 'crl',
        }),
        now,
        policy.unavailableCacheMs,
        'crl',
      )
    }

    let stapleError: TlsError | undefined
    if (policy.type === 'ocsp-stapling' && staple !== undefined) {
      try {
        const status = verifyOcspResponse(staple, this.#verifyOptions(cert, issuer, undefined, now))
        return this.#fromStatus(status, cert, until, 'ocsp-staple', now)
      } catch (error) {
        // A bad staple is no staple: ask the responder instead.
        stapleError = error as TlsError
      }
    }

    const url = policy.responderUrl ?? cert.ocspUrls[0]
    if (url === undefined) {
      const error = new TlsError('X_ERR_TLS_OCSP_NO_RESPONDER', 'the certificate names no OCSP responder', {
        subject: leaf.subject,
        source: 'ocsp',
        cause: stapleError,
      })
      return unavailable(error, now, policy.unavailableCacheMs, 'ocsp')
    }
    const request = buildOcspRequest(cert, issuer, policy.nonce)
    try {
      const der = await fetchOcsp(url, request.der, policy.fetch)
      const at = policy.now()
      const status = verifyOcspResponse(der, this.#verifyOptions(cert, issuer, request.nonce, at))
      return this.#fromStatus(status, cert, until, 'ocsp', at)
    } catch (error) {
      return unavailable(error as TlsError, policy.now(), policy.unavailableCacheMs, 'ocsp')
    }
  }

  #verifyOptions(cert: CertFacts, issuer: CertFacts, nonce: Buffer | undefined, now: number) {
    const policy = this.#policy
    return { cert, issuer, nonce, now, clockSkewMs: policy.clockSkewMs, maxAgeMs: policy.maxAgeMs }
  }

  #fromStatus(
    status: OcspStatus,
    cert: CertFacts,
    crlUntil: number,
    source: 'ocsp' | 'ocsp-staple',
    now: number,
  ): Outcome {
    const until = Math.min(crlUntil, status.validUntil)
    if (status.kind === 'good') return { until, error: undefined, status: 'good', source }
    if (status.kind === 'revoked') {
      return revoked(cert, status.revokedAt ?? status.thisUpdate, status.revocationReason, until, source)
    }
    const error = new TlsError(
      'X_ERR_TLS_OCSP_STATUS_UNKNOWN',
      'the OCSP responder does not know the certificate',
      {
        subject: cert.x509.subject,
        serialNumber: cert.serial,
        source,
      },
    )
    return unavailable(error, now, this.#policy.unavailableCacheMs, source)
  }
}

function revoked(
  cert: CertFacts,
  revokedAt: Date,
  reason: string | undefined,
  until: number,
  source: 'crl' | 'ocsp' | 'ocsp-staple',
): Outcome {
  const error = new TlsError('X_ERR_TLS_CERT_REVOKED', 'the server certificate is revoked', {
    subject: cert.x509.subject,
    serialNumber: cert.serial,
    revokedAt,
    revocationReason: reason,
    source,
  })
  return { until, error, status: 'revoked', source }
}

function unavailable(
  cause: TlsError,
  now: number,
  cacheMs: number,
  source: 'crl' | 'ocsp' | 'ocsp-staple' | 'none',
): Outcome {
  const error = new TlsError(
    'X_ERR_TLS_NO_REVOCATION_STATUS',
    'no valid revocation status for the server certificate',
    {
      subject: cause.subject,
      serialNumber: cause.serialNumber,
      source: source === 'none' ? undefined : source,
      cause,
    },
  )
  return { until: now + cacheMs, error, status: 'unavailable', source }
}

/**
 * The chain, leaf first, as Node reports it (Node completes what the server sent from the
 * trust store); when the issuer is missing, it is looked for among the certificates the client trusts.
 */
export function peerChain(peer: PeerCert, known: readonly X509Certificate[]): X509Certificate[] {
  const leaf = new X509Certificate(peer.raw)
  const chain: X509Certificate[] = [leaf]
  let current = peer
  for (let depth = 0; depth < 8; depth++) {
    const next = current.issuerCertificate
    if (next === undefined || next === null || next === current || next.raw === undefined) break
    if (next.raw.equals(current.raw)) break // a self-signed root is its own issuer
    const x509 = new X509Certificate(next.raw)
    if (!chain[chain.length - 1]!.checkIssued(x509)) break
    chain.push(x509)
    current = next
  }
  if (chain.length === 1) {
    for (const candidate of known) {
      if (leaf.checkIssued(candidate) && leaf.verify(candidate.publicKey)) {
        chain.push(candidate)
        break
      }
    }
  }
  return chain
}
