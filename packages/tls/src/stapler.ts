// OCSP stapling for servers: one entry per served certificate holding its last verified
// response, refreshed in the background before nextUpdate. The OCSPRequest handler only
// reads the cache: a slow or dead responder never holds a handshake up.
import { X509Certificate } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import { TlsError } from './errors.js'
import { buildOcspRequest, factsOf, fetchOcsp, type OcspFetchOptions, verifyOcspResponse } from './ocsp.js'
import type { TlsLogger } from './revocation.js'
import type { CertFacts } from './x509.js'

export interface StaplerOptions {
  readonly fetch: OcspFetchOptions
  readonly responderUrl: string | undefined
  readonly nonce: boolean
  /** Refresh once this fraction of thisUpdate→nextUpdate has passed. */
  readonly refreshRatio: number
  /** First retry delay after a failed fetch; doubles up to maxRetryMs. */
  readonly retryMs: number
  readonly maxRetryMs: number
  readonly clockSkewMs: number
  readonly maxAgeMs: number
  readonly now: () => number
  readonly logger: TlsLogger | undefined
}

interface Entry {
  readonly raw: Buffer
  readonly cert: CertFacts
  readonly issuer: CertFacts
  response: Buffer | undefined
  until: number
  inFlight: boolean
  timer: NodeJS.Timeout | undefined
  failures: number
  /** A failed fetch is waiting out its backoff: handshakes must not bypass it. */
  backingOff: boolean
}

/** What {@link Stapler.status} reports per certificate. */
export interface StapleStatus {
  readonly subject: string
  readonly serialNumber: string
  readonly stapling: boolean
  readonly validUntil: Date | undefined
  readonly lastError: string | undefined
}

const updated = channel('x:tls:staple-updated')
const failed = channel('x:tls:staple-failed')
const missing = channel('x:tls:staple-missing')

// Node passes certificates the server itself configured; a bound keeps a bug from growing the map.
const MAX_ENTRIES = 256

export class Stapler {
  readonly #options: StaplerOptions
  readonly #entries: Entry[] = []
  readonly #errors = new WeakMap<Entry, TlsError>()
  #closed = false

  constructor(options: StaplerOptions) {
    this.#options = options
  }

  /** Registers a served certificate and its issuer; fetching starts with {@link start}. */
  add(cert: X509Certificate, issuer: X509Certificate): void {
    if (this.#find(cert.raw) !== undefined) return
    this.#push(cert.raw, factsOf(cert), factsOf(issuer))
  }

  /** Fetches every registered certificate's response now (in the background). */
  start(): void {
    this.#closed = false
    for (const entry of this.#entries)
      if (entry.response === undefined && !entry.inFlight) this.#refresh(entry)
  }

  /** Stops background refreshes; cached responses stay until they expire. */
  close(): void {
    this.#closed = true
    for (const entry of this.#entries) {
      if (entry.timer !== undefined) clearTimeout(entry.timer)
      entry.timer = undefined
    }
  }

  /** The `OCSPRequest` listener: answers from the cache at once, never waits on the network. */
  readonly onOcspRequest = (
    certificate: Buffer,
    issuer: Buffer | null,
    callback: (err: Error | null, resp?: Buffer | null) => void,
  ): void => {
    let entry = this.#find(certificate)
    if (entry === undefined && issuer !== null && !this.#closed) entry = this.#learn(certificate, issuer)
    if (entry !== undefined && entry.response !== undefined && entry.until > this.#options.now()) {
      callback(null, entry.response)
      return
    }
    callback(null, null)
    if (entry === undefined) return
    if (missing.hasSubscribers)
      missing.publish({ subject: entry.cert.x509.subject, serialNumber: entry.cert.serial })
    // No usable response: fetch now, unless a failed fetch is still backing off.
    if (!entry.inFlight && !entry.backingOff && !this.#closed) this.#refresh(entry)
  }

  /** Per-certificate stapling state, for health checks. */
  status(): StapleStatus[] {
    const now = this.#options.now()
    return this.#entries.map((e) => ({
      subject: e.cert.x509.subject,
      serialNumber: e.cert.serial,
      stapling: e.response !== undefined && e.until > now,
      validUntil: e.response === undefined ? undefined : new Date(e.until),
      lastError: this.#errors.get(e)?.code,
    }))
  }

  /** Resolves once every entry has finished its current fetch (for tests and start-up probes). */
  async settled(): Promise<void> {
    await Promise.all(
      this.#entries.map((e) =>
        e.inFlight ? new Promise<void>((resolve) => this.#waiters(e).push(resolve)) : undefined,
      ),
    )
  }

  readonly #pending = new WeakMap<Entry, Array<() => void>>()

  #waiters(entry: Entry): Array<() => void> {
    let list = this.#pending.get(entry)
    if (list === undefined) {
      list = []
      this.#pending.set(entry, list)
    }
    return list
  }

  #find(raw: Buffer): Entry | undefined {
    const entries = this.#entries
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      if (entry.raw.equals(raw)) return entry
    }
    return undefined
  }

  #learn(certificate: Buffer, issuer: Buffer): Entry | undefined {
    if (this.#entries.length >= MAX_ENTRIES) return undefined
    try {
      return this.#push(
        Buffer.from(certificate),
        factsOf(new X509Certificate(certificate)),
        factsOf(new X509Certificate(issuer)),
      )
    } catch (error) {
      this.#options.logger?.warn(
        { code: (error as TlsError).code },
        'OCSP stapling: certificate cannot be parsed',
      )
      return undefined
    }
  }

  #push(raw: Buffer, cert: CertFacts, issuer: CertFacts): Entry {
    const entry: Entry = {
      raw,
      cert,
      issuer,
      response: undefined,
      until: 0,
      inFlight: false,
      timer: undefined,
      failures: 0,
      backingOff: false,
    }
    this.#entries.push(entry)
    return entry
  }

  #refresh(entry: Entry): void {
    const options = this.#options
    const url = options.responderUrl ?? entry.cert.ocspUrls[0]
    entry.inFlight = true
    entry.backingOff = false
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    const request = buildOcspRequest(entry.cert, entry.issuer, options.nonce)
    const attempt =
      url === undefined
        ? Promise.reject(
            new TlsError('X_ERR_TLS_OCSP_NO_RESPONDER', 'the certificate names no OCSP responder'),
          )
        : fetchOcsp(url, request.der, options.fetch)
    attempt
      .then((der) => {
        const now = options.now()
        const status = verifyOcspResponse(der, {
          cert: entry.cert,
          issuer: entry.issuer,
          nonce: request.nonce,
          now,
          clockSkewMs: options.clockSkewMs,
          maxAgeMs: options.maxAgeMs,
        })
        entry.response = der
        entry.until = status.validUntil
        entry.failures = 0
        this.#errors.delete(entry)
        if (status.kind !== 'good') {
          options.logger?.warn(
            { subject: entry.cert.x509.subject, status: status.kind },
            'OCSP stapling: the responder does not vouch for this certificate',
          )
        }
        if (updated.hasSubscribers) {
          updated.publish({
            subject: entry.cert.x509.subject,
            serialNumber: entry.cert.serial,
            status: status.kind,
            thisUpdate: status.thisUpdate,
            nextUpdate: status.nextUpdate,
          })
        }
        const lifetime = status.validUntil - status.thisUpdate.getTime()
        const refreshAt = status.thisUpdate.getTime() + lifetime * options.refreshRatio
        this.#schedule(entry, Math.max(refreshAt - now, options.retryMs))
      })
      .catch((error: TlsError) => {
        entry.failures++
        this.#errors.set(entry, error)
        if (failed.hasSubscribers) {
          failed.publish({ subject: entry.cert.x509.subject, serialNumber: entry.cert.serial, error })
        }
        options.logger?.warn(
          { subject: entry.cert.x509.subject, code: error.code },
          'OCSP stapling: fetching the response failed; handshakes go on without a staple',
        )
        const backoff = Math.min(options.retryMs * 2 ** Math.min(entry.failures - 1, 20), options.maxRetryMs)
        entry.backingOff = true
        this.#schedule(entry, backoff)
      })
      .finally(() => {
        entry.inFlight = false
        const waiters = this.#pending.get(entry)
        if (waiters !== undefined) {
          this.#pending.delete(entry)
          for (const resolve of waiters) resolve()
        }
      })
  }

  #schedule(entry: Entry, delayMs: number): void {
    if (this.#closed) return
    // setTimeout caps at 2^31-1 ms; a later refresh is simply rescheduled then.
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined
        this.#refresh(entry)
      },
      Math.min(delayMs, 2_147_483_647),
    )
    entry.timer.unref()
  }
}
