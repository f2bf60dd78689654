// The client connector against real HTTPS servers and a real `openssl ocsp` responder:
// each bad certificate fails with its own code, revocation by CRL, OCSP and staple,
// failOpen, caching, and the node:tls path.
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPki, freePort, type Issued, type Pki, type Responder } from '../../../test-support/pki.ts'
import { createClientTlsConnector } from '../src/client.js'
import { isTlsError, type TlsError, toTlsError } from '../src/errors.js'
import {
  fetchWith,
  fetchWithConfig,
  type HttpsTarget,
  record,
  rejection,
  startBlackHole,
  startHttps,
} from './helpers/servers.js'

let pki: Pki
let responder: Responder
const servers = new Map<string, HttpsTarget>()

function serve(name: string, issued: Issued, stapling = false) {
  return startHttps({ key: { cert: issued.chain, key: issued.key }, ocspStapling: stapling }).then((t) => {
    servers.set(name, t)
    return t
  })
}

const url = (name: string) => servers.get(name)!.localUrl

beforeAll(async () => {
  pki = await createPki()
  responder = await pki.startResponder()
  await Promise.all([
    serve('good', pki.server),
    serve('good-stapled', pki.server, true),
    serve('revoked', pki.revoked),
    serve('revoked-stapled', pki.revoked, true),
    serve('expired', pki.expired),
    serve('wrong-host', pki.wrongHost),
    serve('rogue', pki.rogueServer),
    serve('no-aia', pki.noAia),
  ])
  await Promise.all([...servers.values()].map((s) => s.tls.stapleReady()))
})

afterAll(async () => {
  try {
    for (const s of servers.values()) await s.close()
  } finally {
    await responder?.stop()
    pki?.dispose()
  }
})

async function failure(promise: Promise<unknown>): Promise<TlsError> {
  const error = await rejection(promise)
  const tlsError = toTlsError(error)
  if (tlsError === undefined) throw new Error(`not a TLS failure: ${String(error)}`, { cause: error })
  return tlsError
}

describe('each bad certificate fails with its own code', () => {
  const cases = [
    {
      name: 'revoked, by OCSP',
      server: 'revoked',
      type: 'ocsp',
      code: 'X_ERR_TLS_CERT_REVOKED',
      source: 'ocsp',
    },
    {
      name: 'revoked, by CRL',
      server: 'revoked',
      type: 'crl',
      code: 'X_ERR_TLS_CERT_REVOKED',
      source: 'crl',
    },
    {
      name: 'revoked, by stapled OCSP',
      server: 'revoked-stapled',
      type: 'ocsp-stapling',
      code: 'X_ERR_TLS_CERT_REVOKED',
      source: 'ocsp-staple',
    },
    { name: 'expired', server: 'expired', type: 'none', code: 'X_ERR_TLS_CERT_EXPIRED' },
    {
      name: 'issued for another host',
      server: 'wrong-host',
      type: 'none',
      code: 'X_ERR_TLS_HOSTNAME_MISMATCH',
    },
    { name: 'issued by an unknown CA', server: 'rogue', type: 'none', code: 'X_ERR_TLS_UNKNOWN_CA' },
    {
      name: 'without an OCSP responder',
      server: 'no-aia',
      type: 'ocsp',
      code: 'X_ERR_TLS_NO_REVOCATION_STATUS',
    },
  ] as const

  it.each(cases)('$name → $code', async ({ server, type, code, ...rest }) => {
    const config = {
      ca: pki.root.cert,
      certValidation: { type },
      ...(type === 'crl' ? { crl: pki.crlPem } : {}),
    }
    const error = await failure(fetchWithConfig(config, url(server)))
    expect(error.code).toBe(code)
    expect(isTlsError(error, code)).toBe(true)
    expect(error.host).toBe('localhost')
    if ('source' in rest) expect(error.source).toBe(rest.source)
    if (code === 'X_ERR_TLS_CERT_REVOKED') {
      expect(error.serialNumber).toBe(pki.revoked.serial)
      expect(error.revokedAt).toBeInstanceOf(Date)
    }
  })

  it('names why no status could be had in the cause', async () => {
    const error = await failure(
      fetchWithConfig({ ca: pki.root.cert, certValidation: { type: 'ocsp' } }, url('no-aia')),
    )
    expect(error.code).toBe('X_ERR_TLS_NO_REVOCATION_STATUS')
    expect((error.cause as TlsError).code).toBe('X_ERR_TLS_OCSP_NO_RESPONDER')
  })

  it('accepts the wrong host name when verifyHostName is false', async () => {
    const res = await fetchWithConfig({ ca: pki.root.cert, verifyHostName: false }, url('wrong-host'))
    expect(res.status).toBe(200)
  })

  it('checks the host name against serverName, and sends it as SNI', async () => {
    const port = servers.get('wrong-host')!.port
    const res = await fetchWithConfig(
      { ca: pki.root.cert, serverName: 'wrong.example' },
      `https://127.0.0.1:${port}`,
    )
    expect(res.status).toBe(200)
    const error = await failure(
      fetchWithConfig({ ca: pki.root.cert, serverName: 'other.example' }, url('wrong-host')),
    )
    expect(error.code).toBe('X_ERR_TLS_HOSTNAME_MISMATCH')
  })
})

describe('good certificates pass', () => {
  it.each([
    { name: 'ocsp', type: 'ocsp', server: 'good', source: 'ocsp' },
    { name: 'ocsp over GET', type: 'ocsp', server: 'good', source: 'ocsp', method: 'get' },
    {
      name: 'ocsp-stapling with a staple',
      type: 'ocsp-stapling',
      server: 'good-stapled',
      source: 'ocsp-staple',
    },
    {
      name: 'ocsp-stapling without a staple asks the responder',
      type: 'ocsp-stapling',
      server: 'good',
      source: 'ocsp',
    },
    { name: 'crl', type: 'crl', server: 'good', source: 'crl' },
  ] as const)('$name', async ({ type, server, source, ...rest }) => {
    const rec = record('x:tls:revocation-checked')
    try {
      const res = await fetchWithConfig(
        {
          ca: pki.root.cert,
          crl: type === 'crl' ? [pki.crlDer, pki.rootCrlPem] : undefined,
          certValidation: { type, ...('method' in rest ? { method: rest.method } : {}) },
        } as never,
        url(server),
      )
      expect(res).toEqual({ status: 200, body: 'ok' })
      expect(rec.on('x:tls:revocation-checked')).toEqual([
        expect.objectContaining({ host: 'localhost', status: 'good', source, cached: false }),
      ])
    } finally {
      rec.stop()
    }
  })

  it('reads CRLs from files and DER buffers alike', async () => {
    const fromFile = await failure(
      fetchWithConfig({ ca: pki.root.cert, crl: { path: pki.crlFile } }, url('revoked')),
    )
    const fromDer = await failure(fetchWithConfig({ ca: pki.root.cert, crl: pki.crlDer }, url('revoked')))
    expect([fromFile.code, fromDer.code]).toEqual(['X_ERR_TLS_CERT_REVOKED', 'X_ERR_TLS_CERT_REVOKED'])
  })

  it('checks configured CRLs even when certValidation is none', async () => {
    const error = await failure(
      fetchWithConfig(
        { ca: pki.root.cert, crl: pki.crlPem, certValidation: { type: 'none' } },
        url('revoked'),
      ),
    )
    expect(error.code).toBe('X_ERR_TLS_CERT_REVOKED')
  })
})

describe('hostile staples', () => {
  it.each([
    { name: 'random bytes', staple: () => Buffer.from('this is not an OCSP response') },
    { name: 'a response about another certificate', staple: () => 'revoked-staple' as const },
  ])('falls back to the responder when the staple is $name', async ({ staple }) => {
    // A server that staples whatever it is told to.
    const revokedStaple = await stapleOf(pki.revoked)
    const bytes = staple()
    const target = await startHttps({ key: { cert: pki.server.chain, key: pki.server.key } })
    target.server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, done: (e: null, r: Buffer) => void) =>
      done(null, bytes === 'revoked-staple' ? revokedStaple : bytes),
    )
    const rec = record('x:tls:revocation-checked')
    try {
      const res = await fetchWithConfig(
        { ca: pki.root.cert, certValidation: { type: 'ocsp-stapling' } },
        target.localUrl,
      )
      expect(res.status).toBe(200)
      expect(rec.on('x:tls:revocation-checked')).toEqual([
        expect.objectContaining({ status: 'good', source: 'ocsp' }),
      ])
    } finally {
      rec.stop()
      await target.close()
    }
  })
})

/** A real, verified-good-or-revoked OCSP response for `issued`, fetched the way the stapler does. */
async function stapleOf(issued: Issued): Promise<Buffer> {
  const target = await startHttps({ key: { cert: issued.chain, key: issued.key }, ocspStapling: true })
  try {
    await target.tls.stapleReady()
    return await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: target.port,
        servername: 'localhost',
        ca: pki.root.cert,
        requestOCSP: true,
      } as never)
      socket.once('OCSPResponse', (r: Buffer) => {
        socket.destroy()
        resolve(r)
      })
      socket.once('error', reject)
    })
  } finally {
    await target.close()
  }
}

describe('caching', () => {
  it('answers later connections from the cache, without the responder', async () => {
    const connector = createClientTlsConnector({ ca: pki.root.cert, certValidation: { type: 'ocsp' } })
    const rec = record('x:tls:revocation-checked')
    const hole = await startBlackHole()
    try {
      expect((await fetchWith(connector, url('good'))).status).toBe(200)
      expect((await fetchWith(connector, url('good'))).status).toBe(200)
      expect(rec.on('x:tls:revocation-checked').map((m) => m.cached)).toEqual([false, true])
      // A revoked answer is cached too.
      await failure(fetchWith(connector, url('revoked')))
      const again = await failure(fetchWith(connector, url('revoked')))
      expect(again.code).toBe('X_ERR_TLS_CERT_REVOKED')
      expect(rec.on('x:tls:revocation-checked').map((m) => m.cached)).toEqual([false, true, false, true])
    } finally {
      rec.stop()
      await hole.close()
    }
  })

  it('asks again once nextUpdate has passed', async () => {
    let now = Date.now()
    const connector = createClientTlsConnector({
      ca: pki.root.cert,
      certValidation: { type: 'ocsp' },
      now: () => now,
    })
    const rec = record('x:tls:revocation-checked')
    try {
      await fetchWith(connector, url('good'))
      now += 2 * 60 * 60 * 1000 // past the responder's 60-minute nextUpdate
      // The real responder's fresh answer is dated in the real present, so checking it against
      // a clock two hours ahead finds it stale: the cache was not used.
      const error = await failure(fetchWith(connector, url('good')))
      expect(error.code).toBe('X_ERR_TLS_NO_REVOCATION_STATUS')
      expect((error.cause as TlsError).code).toBe('X_ERR_TLS_OCSP_STALE')
      expect(rec.on('x:tls:revocation-checked').map((m) => m.cached)).toEqual([false, false])
    } finally {
      rec.stop()
    }
  })
})

describe('responder down', () => {
  it('fails the connection when failOpen is false (the default)', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}`
    const error = await failure(
      fetchWithConfig(
        { ca: pki.root.cert, certValidation: { type: 'ocsp', responderUrl: deadUrl } },
        url('good'),
      ),
    )
    expect(error.code).toBe('X_ERR_TLS_NO_REVOCATION_STATUS')
    expect((error.cause as TlsError).code).toBe('X_ERR_TLS_OCSP_UNREACHABLE')
  })

  it('lets the connection through when failOpen is true, and reports it', async () => {
    const deadUrl = `http://127.0.0.1:${await freePort()}`
    const rec = record('x:tls:revocation-fail-open')
    const warnings: object[] = []
    try {
      const res = await fetchWithConfig(
        {
          ca: pki.root.cert,
          certValidation: { type: 'ocsp', responderUrl: deadUrl, failOpen: true },
          logger: { warn: (details) => warnings.push(details) },
        },
        url('good'),
      )
      expect(res.status).toBe(200)
      expect(rec.on('x:tls:revocation-fail-open')).toHaveLength(1)
      expect(warnings).toEqual([expect.objectContaining({ code: 'X_ERR_TLS_NO_REVOCATION_STATUS' })])
    } finally {
      rec.stop()
    }
  })

  it('never lets a revoked certificate through, even failing open', async () => {
    const error = await failure(
      fetchWithConfig(
        { ca: pki.root.cert, certValidation: { type: 'ocsp', failOpen: true } },
        url('revoked'),
      ),
    )
    expect(error.code).toBe('X_ERR_TLS_CERT_REVOKED')
  })

  it('gives up on a responder that never answers after timeoutMs', async () => {
    const hole = await startBlackHole()
    try {
      const error = await failure(
        fetchWithConfig(
          { ca: pki.root.cert, certValidation: { type: 'ocsp', responderUrl: hole.url, timeoutMs: 200 } },
          url('good'),
        ),
      )
      expect((error.cause as TlsError).code).toBe('X_ERR_TLS_OCSP_UNREACHABLE')
      expect(hole.accepted()).toBe(1)
    } finally {
      await hole.close()
    }
  })
})

describe('node:tls', () => {
  it('connectTls resolves with a checked socket', async () => {
    const connector = createClientTlsConnector({ ca: pki.root.cert, certValidation: { type: 'ocsp' } })
    const socket = await connector.connectTls({
      host: '127.0.0.1',
      port: servers.get('good')!.port,
      servername: 'localhost',
    })
    expect(socket.authorized).toBe(true)
    socket.destroy()
  })

  it('connectTls rejects a revoked certificate', async () => {
    const connector = createClientTlsConnector({ ca: pki.root.cert, certValidation: { type: 'ocsp' } })
    const error = await failure(
      connector.connectTls({
        host: '127.0.0.1',
        port: servers.get('revoked')!.port,
        servername: 'localhost',
      }),
    )
    expect(error.code).toBe('X_ERR_TLS_CERT_REVOKED')
  })

  it('connectTls classifies a handshake failure', async () => {
    const connector = createClientTlsConnector({ ca: pki.root.cert })
    const error = await failure(
      connector.connectTls({ host: 'localhost', port: servers.get('expired')!.port }),
    )
    expect(error.code).toBe('X_ERR_TLS_CERT_EXPIRED')
  })

  it('leaves the peer certificate readable after the check', async () => {
    const connector = createClientTlsConnector({ ca: pki.root.cert, certValidation: { type: 'ocsp' } })
    const socket = await connector.connectTls({ host: 'localhost', port: servers.get('good')!.port })
    expect(socket.getPeerCertificate(true).issuerCertificate?.subject.CN).toBe('x Test Intermediate')
    socket.destroy()
  })
})
