// Server options against real clients: undici with our connector, node:tls, openssl
// s_client (SNI, stapling) and curl (ALPN), with a real `openssl ocsp` responder.
import { execFileSync } from 'node:child_process'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import { createSecureServer } from 'node:http2'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { createPki, freePort, type Pki, type Responder } from '../../../test-support/pki.ts'
import { createClientTlsConnector } from '../src/client.js'
import { toTlsError } from '../src/errors.js'
import { peerCertificate } from '../src/peer.js'
import { createServerTlsOptions } from '../src/server.js'
import { run, sClient, servedCommonName } from './helpers/run.js'
import {
  fetchWith,
  fetchWithConfig,
  record,
  rejection,
  startBlackHole,
  startHttps,
} from './helpers/servers.js'

let pki: Pki
let responder: Responder

beforeAll(async () => {
  pki = await createPki()
  responder = await pki.startResponder()
})

afterAll(async () => {
  await responder?.stop()
  pki?.dispose()
})

/** Resolves with the next message published on `name`. */
function nextMessage(name: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const fn = (message: unknown) => {
      unsubscribe(name, fn)
      resolve(message as Record<string, unknown>)
    }
    subscribe(name, fn)
  })
}

const serverKey = () => ({ cert: pki.server.chain, key: pki.server.key })

describe('mutual TLS', () => {
  const echoPeer = (req: { socket: unknown }, res: { end(body: string): void }) => {
    const peer = peerCertificate(req.socket as TLSSocket)
    res.end(
      JSON.stringify(
        peer === undefined
          ? null
          : {
              cn: peer.commonName,
              o: peer.subject.O,
              authorized: peer.authorized,
              serial: peer.serialNumber,
            },
      ),
    )
  }

  it('require: serves a client with a certificate the CA issued, and shows it to the handler', async () => {
    const target = await startHttps(
      { key: serverKey(), mutualSsl: { verifyClient: 'require', cert: pki.root.cert } },
      echoPeer as never,
    )
    try {
      const res = await fetchWithConfig(
        { ca: pki.root.cert, key: { cert: pki.client.chain, key: pki.client.key } },
        target.localUrl,
      )
      expect(JSON.parse(res.body)).toEqual({
        cn: 'client one',
        o: 'x test',
        authorized: true,
        serial: pki.client.serial,
      })
    } finally {
      await target.close()
    }
  })

  it('require, TLS 1.2: the handshake fails for a client without a certificate', async () => {
    const target = await startHttps({
      key: serverKey(),
      mutualSsl: { verifyClient: 'require', cert: pki.root.cert },
    })
    const serverSide = nextMessage('x:tls:client-rejected')
    try {
      const error = await rejection(
        fetchWithConfig({ ca: pki.root.cert, maxVersion: 'TLSv1.2' }, target.localUrl),
      )
      // The server's verdict is certain; the client reads either its handshake_failure alert or,
      // when Node destroys the socket with the client's last flight unread, a reset.
      expect((await serverSide).error).toMatchObject({ code: 'X_ERR_TLS_PEER_CERT_REQUIRED' })
      const code = toTlsError(error)?.code ?? (error as { cause?: { code?: string } }).cause?.code
      expect(['X_ERR_TLS_HANDSHAKE_FAILED', 'ECONNRESET']).toContain(code)
    } finally {
      await target.close()
    }
  })

  it('require, TLS 1.3: a client without a certificate is refused and told X_ERR_TLS_PEER_CERT_REQUIRED', async () => {
    const target = await startHttps({
      key: serverKey(),
      mutualSsl: { verifyClient: 'require', cert: pki.root.cert },
    })
    // TLS 1.3 finishes the client's handshake before the server judges its certificate: the
    // refusal is an alert on the first read. (A client that has already sent a request may
    // see a reset instead, as Node destroys the refused socket with that request unread.)
    const serverSide = nextMessage('x:tls:client-rejected')
    try {
      const socket = await createClientTlsConnector({ ca: pki.root.cert }).connectTls({
        host: 'localhost',
        port: target.port,
      })
      const error = await new Promise<Error>((resolve) => socket.once('error', resolve))
      expect(toTlsError(error)?.code).toBe('X_ERR_TLS_PEER_CERT_REQUIRED')
      expect((await serverSide).error).toMatchObject({ code: 'X_ERR_TLS_PEER_CERT_REQUIRED' })
      await rejection(fetchWithConfig({ ca: pki.root.cert }, target.localUrl))
    } finally {
      await target.close()
    }
  })

  it.each([
    { name: 'TLS 1.2', maxVersion: 'TLSv1.2' },
    { name: 'TLS 1.3', maxVersion: 'TLSv1.3' },
  ] as const)(
    'require, $name: refuses a certificate from another CA before any request',
    async ({ maxVersion }) => {
      let requests = 0
      const target = await startHttps(
        { key: serverKey(), mutualSsl: { verifyClient: 'require', cert: pki.root.cert } },
        (_req, res) => {
          requests++
          res.end('ok')
        },
      )
      try {
        // Node destroys the refused socket at once, so whether the client reads the alert or a
        // reset first is a race: the refusal itself is what is asserted.
        await rejection(
          fetchWithConfig(
            { ca: pki.root.cert, maxVersion, key: { cert: pki.rogueServer.cert, key: pki.rogueServer.key } },
            target.localUrl,
          ),
        )
        expect(requests).toBe(0)
      } finally {
        await target.close()
      }
    },
  )

  it('optional: serves clients without a certificate, and with a valid one', async () => {
    const target = await startHttps(
      { key: serverKey(), mutualSsl: { verifyClient: 'optional', cert: pki.root.cert } },
      echoPeer as never,
    )
    try {
      const without = await fetchWithConfig({ ca: pki.root.cert }, target.localUrl)
      expect(JSON.parse(without.body)).toBeNull()
      const withCert = await fetchWithConfig(
        { ca: pki.root.cert, key: { cert: pki.client.chain, key: pki.client.key } },
        target.localUrl,
      )
      expect(JSON.parse(withCert.body)).toMatchObject({ cn: 'client one', authorized: true })
    } finally {
      await target.close()
    }
  })

  it('optional: closes a connection whose certificate does not verify, before any request', async () => {
    let requests = 0
    const target = await startHttps(
      { key: serverKey(), mutualSsl: { verifyClient: 'optional', cert: pki.root.cert } },
      (_req, res) => {
        requests++
        res.end('ok')
      },
    )
    const rejected = nextMessage('x:tls:client-rejected')
    try {
      await rejection(
        fetchWithConfig(
          { ca: pki.root.cert, key: { cert: pki.rogueServer.cert, key: pki.rogueServer.key } },
          target.localUrl,
        ),
      )
      expect(await rejected).toMatchObject({
        nodeCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        error: expect.objectContaining({ code: 'X_ERR_TLS_UNKNOWN_CA' }),
      })
      expect(requests).toBe(0)
    } finally {
      await target.close()
    }
  })
})

describe('SNI', () => {
  it.each([
    { name: 'an exact name', servername: 'a.example.test', cn: 'a.example.test' },
    { name: 'an exact name in capitals', servername: 'A.Example.TEST', cn: 'a.example.test' },
    { name: 'a wildcard name', servername: 'x.wild.example.test', cn: '*.wild.example.test' },
    {
      name: 'two labels under a wildcard (the default)',
      servername: 'y.x.wild.example.test',
      cn: 'localhost',
    },
    { name: 'an unknown name (the default)', servername: 'other.test', cn: 'localhost' },
  ])('serves the right certificate for $name', async ({ servername, cn }) => {
    const target = await startHttps({
      key: serverKey(),
      sni: {
        'a.example.test': { cert: pki.sniA.chain, key: pki.sniA.key },
        '*.wild.example.test': { cert: pki.sniWildcard.chain, key: pki.sniWildcard.key },
      },
    })
    try {
      const output = await sClient(target.port, ['-servername', servername, '-CAfile', pki.root.certFile])
      expect(servedCommonName(output)).toBe(cn)
      expect(output).toContain('Verify return code: 0 (ok)')
    } finally {
      await target.close()
    }
  })

  it('lets a client verify the SNI certificate by serverName', async () => {
    const target = await startHttps({
      key: serverKey(),
      sni: { 'a.example.test': { cert: pki.sniA.chain, key: pki.sniA.key } },
    })
    try {
      const res = await fetchWithConfig(
        { ca: pki.root.cert, serverName: 'a.example.test' },
        `https://127.0.0.1:${target.port}/`,
      )
      expect(res.status).toBe(200)
    } finally {
      await target.close()
    }
  })
})

describe('hostile clients', () => {
  it.each([
    {
      name: 'plain HTTP on the TLS port',
      bytes: Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n'),
      reported: true,
    },
    {
      name: 'a malformed ClientHello',
      bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0xfc]),
      reported: true,
    },
    { name: 'an oversized record', bytes: Buffer.from('\x16\x03\x01\xff\xff garbage'), reported: true },
    // Whether Node reports a record cut short by EOF depends on which it reads first.
    {
      name: 'a record cut short',
      bytes: Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00]),
      reported: undefined,
    },
  ])('drops $name and goes on serving', async ({ bytes, reported }) => {
    const target = await startHttps({ key: serverKey() })
    const rec = record('x:tls:client-rejected')
    try {
      const socket = netConnect(target.port, '127.0.0.1')
      socket.on('error', () => {})
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      socket.resume()
      socket.end(bytes)
      await closed
      if (reported !== undefined) expect(rec.on('x:tls:client-rejected').length > 0).toBe(reported)
      expect((await fetchWithConfig({ ca: pki.root.cert }, target.localUrl)).status).toBe(200)
      await target.drained()
    } finally {
      rec.stop()
      await target.close()
    }
  })

  it.each([
    { name: 'empty labels', servername: 'a..example.test' },
    { name: 'a lone wildcard label', servername: '*.wild.example.test' },
    {
      name: 'a 250-character name',
      servername: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.test`,
    },
    { name: 'a trailing dot', servername: 'a.example.test.' },
  ])('answers an SNI name with $name from a known context, never crashing', async ({ servername }) => {
    const target = await startHttps({
      key: serverKey(),
      sni: {
        'a.example.test': { cert: pki.sniA.chain, key: pki.sniA.key },
        '*.wild.example.test': { cert: pki.sniWildcard.chain, key: pki.sniWildcard.key },
      },
    })
    try {
      const cn = await new Promise<unknown>((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: target.port,
          servername,
          rejectUnauthorized: false,
        })
        socket.once('secureConnect', () => {
          const subject = socket.getPeerCertificate().subject
          socket.destroy()
          resolve(subject?.CN)
        })
        socket.once('error', reject)
      })
      expect(['localhost', 'a.example.test', '*.wild.example.test']).toContain(cn)
      await target.drained()
    } finally {
      await target.close()
    }
  })
})

describe('ALPN', () => {
  it.each([
    { name: 'curl --http2 gets h2', flag: '--http2', version: '2.0' },
    { name: 'curl --http1.1 gets http/1.1', flag: '--http1.1', version: '1.1' },
  ])('$name from node:http2 with allowHTTP1', async ({ flag, version }) => {
    const tls = createServerTlsOptions({ key: serverKey(), alpn: ['h2', 'http/1.1'] })
    const server = createSecureServer({ ...tls.options, allowHTTP1: true }, (req, res) => {
      res.end(req.httpVersion)
    })
    tls.attach(server)
    const target = await listen(server, { secure: true })
    try {
      const result = await run('curl', [
        '-sS',
        flag,
        '--cacert',
        pki.root.certFile,
        '--resolve',
        `localhost:${target.port}:127.0.0.1`,
        `https://localhost:${target.port}/`,
      ])
      expect(result.stdout).toBe(version)
      await target.drained()
    } finally {
      await target.close()
    }
  })

  it('negotiates the first protocol both sides offer on a node:tls server', async () => {
    const tls = createServerTlsOptions({ key: serverKey(), alpn: ['h2', 'http/1.1'] })
    const server = createTlsServer(tls.options, (socket) => socket.end(socket.alpnProtocol || 'none'))
    const target = await listen(server)
    try {
      const connector = createClientTlsConnector({ ca: pki.root.cert, alpn: ['http/1.1'] })
      const socket = await connector.connectTls({ host: 'localhost', port: target.port })
      expect(socket.alpnProtocol).toBe('http/1.1')
      socket.destroy()
      await target.drained()
    } finally {
      await target.close()
    }
  })
})

describe('OCSP stapling', () => {
  it('openssl s_client -status sees a good stapled response', async () => {
    const target = await startHttps({ key: serverKey(), ocspStapling: true })
    try {
      await target.tls.stapleReady()
      const output = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('OCSP Response Status: successful')
      expect(output).toContain('Cert Status: good')
      expect(target.tls.staplingStatus()).toEqual([
        expect.objectContaining({ serialNumber: pki.server.serial, stapling: true, lastError: undefined }),
      ])
    } finally {
      await target.close()
    }
  })

  it('staples a revoked status too, and our client refuses it from the staple', async () => {
    const target = await startHttps({
      key: { cert: pki.revoked.chain, key: pki.revoked.key },
      ocspStapling: true,
    })
    try {
      await target.tls.stapleReady()
      const output = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('Cert Status: revoked')
      const error = await rejection(
        fetchWithConfig(
          {
            ca: pki.root.cert,
            certValidation: { type: 'ocsp-stapling', responderUrl: `http://127.0.0.1:${await freePort()}` },
          },
          target.localUrl,
        ),
      )
      expect(toTlsError(error)).toMatchObject({ code: 'X_ERR_TLS_CERT_REVOKED', source: 'ocsp-staple' })
    } finally {
      await target.close()
    }
  })

  it('staples the response of the certificate SNI chose', async () => {
    const target = await startHttps({
      key: serverKey(),
      sni: { 'a.example.test': { cert: pki.sniA.chain, key: pki.sniA.key } },
      ocspStapling: true,
    })
    try {
      await target.tls.stapleReady()
      expect(target.tls.staplingStatus().map((s) => s.stapling)).toEqual([true, true])
      for (const [servername, serial] of [
        ['a.example.test', pki.sniA.serial],
        ['localhost', pki.server.serial],
      ] as const) {
        const output = await sClient(target.port, [
          '-status',
          '-servername',
          servername,
          '-CAfile',
          pki.root.certFile,
        ])
        expect(output).toContain('Cert Status: good')
        expect(output).toContain(`Serial Number: ${serial}`)
      }
    } finally {
      await target.close()
    }
  })

  it('keeps handshaking without a staple when the responder is down, and reports it', async () => {
    const failed = nextMessage('x:tls:staple-failed')
    const warnings: object[] = []
    const target = await startHttps({
      key: serverKey(),
      ocspStapling: { responderUrl: `http://127.0.0.1:${await freePort()}` },
      logger: { warn: (details) => warnings.push(details) },
    })
    try {
      expect((await failed).error).toMatchObject({ code: 'X_ERR_TLS_OCSP_UNREACHABLE' })
      const output = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('OCSP response: no response sent')
      expect(output).toContain('Verify return code: 0 (ok)')
      expect(target.tls.staplingStatus()[0]).toMatchObject({
        stapling: false,
        lastError: 'X_ERR_TLS_OCSP_UNREACHABLE',
      })
      expect(warnings[0]).toMatchObject({ code: 'X_ERR_TLS_OCSP_UNREACHABLE' })
    } finally {
      await target.close()
    }
  })

  it('never makes a handshake wait on a responder that does not answer', async () => {
    const hole = await startBlackHole()
    const target = await startHttps({
      key: serverKey(),
      ocspStapling: { responderUrl: hole.url, timeoutMs: 60_000 },
    })
    try {
      const res = await fetchWithConfig({ ca: pki.root.cert }, target.localUrl)
      expect(res.status).toBe(200)
      const output = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('OCSP response: no response sent')
      expect(hole.accepted()).toBe(1)
    } finally {
      await target.close()
      await hole.close()
    }
  })

  it('stops stapling a response past its nextUpdate and fetches a new one', async () => {
    let offset = 0
    const target = await startHttps({ key: serverKey(), ocspStapling: true, now: () => Date.now() + offset })
    try {
      await target.tls.stapleReady()
      offset = 2 * 60 * 60 * 1000 // past the 60-minute nextUpdate
      const missing = nextMessage('x:tls:staple-missing')
      const refreshed = nextMessage('x:tls:staple-failed')
      const output = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('OCSP response: no response sent')
      expect(await missing).toMatchObject({ serialNumber: pki.server.serial })
      // The fresh response is dated in the real present, which the shifted clock finds stale.
      expect((await refreshed).error).toMatchObject({ code: 'X_ERR_TLS_OCSP_STALE' })
    } finally {
      await target.close()
    }
  })

  it('refreshes in the background before nextUpdate, with no handshake asking', async () => {
    // refreshRatio 0.0001 of the responder's 60-minute window: the next fetch is due ~0.4 s later.
    const target = await startHttps({ key: serverKey(), ocspStapling: { refreshRatio: 0.0001 } })
    const rec = record('x:tls:staple-updated')
    try {
      await target.tls.stapleReady()
      const second = nextMessage('x:tls:staple-updated')
      expect(await second).toMatchObject({ serialNumber: pki.server.serial, status: 'good' })
      expect(rec.on('x:tls:staple-updated').length).toBeGreaterThanOrEqual(1)
    } finally {
      rec.stop()
      await target.close()
    }
  })

  it('learns a PKCS#12 certificate from the first OCSPRequest and staples it afterwards', async () => {
    const p12 = join(pki.dir, 'server.p12')
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-in',
      pki.server.certFile,
      '-inkey',
      pki.server.keyFile,
      '-certfile',
      pki.intermediate.certFile,
      '-passout',
      'pass:secret',
      '-out',
      p12,
    ])
    const target = await startHttps({
      key: { pkcs12: readFileSync(p12), passphrase: 'secret' },
      ocspStapling: true,
    })
    try {
      const updated = nextMessage('x:tls:staple-updated')
      const first = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(first).toContain('Verify return code: 0 (ok)')
      expect(first).toContain('OCSP response: no response sent')
      await updated
      const second = await sClient(target.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(second).toContain('Cert Status: good')
    } finally {
      await target.close()
    }
  })
})

describe('sessions, versions and timeouts', () => {
  /** Connects twice, the second time offering the first connection's session. */
  async function resumed(port: number): Promise<boolean> {
    const connectOnce = (session?: Buffer) =>
      new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let saved: Buffer | undefined
        const socket = tlsConnect({
          port,
          host: '127.0.0.1',
          servername: 'localhost',
          ca: pki.root.cert,
          ...(session ? { session } : {}),
        })
        socket.on('session', (s: Buffer) => {
          saved = s
        })
        let reused = false
        socket.once('error', reject)
        socket.once('secureConnect', () => {
          reused = socket.isSessionReused()
        })
        socket.resume()
        // The server ends the connection after one byte; by 'close' every TLS 1.3 ticket is in.
        socket.once('close', () => resolve({ reused, session: saved }))
      })
    const first = await connectOnce()
    if (first.session === undefined) return false
    return (await connectOnce(first.session)).reused
  }

  const echoServer = (options: object) => createTlsServer(options, (socket) => socket.end('x'))

  // Node resumes TLS 1.3 sessions by tickets only; its newSession/resumeSession hooks (the
  // session cache) serve TLS 1.2 session IDs.
  it.each([
    { name: 'TLS 1.3 with tickets (the default)', version: 'TLSv1.3', resumption: {}, reused: true },
    { name: 'TLS 1.2 with tickets (the default)', version: 'TLSv1.2', resumption: {}, reused: true },
    {
      name: 'TLS 1.2 with a session cache and no tickets',
      version: 'TLSv1.2',
      resumption: { tickets: false, cacheSize: 10 },
      reused: true,
    },
    { name: 'TLS 1.3 with neither', version: 'TLSv1.3', resumption: { tickets: false }, reused: false },
    { name: 'TLS 1.2 with neither', version: 'TLSv1.2', resumption: { tickets: false }, reused: false },
  ] as const)('resumes sessions over $name: $reused', async ({ version, resumption, reused }) => {
    const tls = createServerTlsOptions({
      key: serverKey(),
      sessionResumption: resumption,
      maxVersion: version,
    })
    const server = echoServer(tls.options)
    tls.attach(server)
    const target = await listen(server)
    try {
      expect(await resumed(target.port)).toBe(reused)
      await target.drained()
    } finally {
      await target.close()
    }
  })

  it('refuses a client below minVersion with X_ERR_TLS_HANDSHAKE_FAILED', async () => {
    const target = await startHttps({ key: serverKey(), minVersion: 'TLSv1.3' })
    try {
      const error = await rejection(
        fetchWithConfig({ ca: pki.root.cert, maxVersion: 'TLSv1.2' }, target.localUrl),
      )
      expect(toTlsError(error)?.code).toBe('X_ERR_TLS_HANDSHAKE_FAILED')
    } finally {
      await target.close()
    }
  })

  it('drops a connection that does not finish its handshake in handshakeTimeoutMs', async () => {
    const target = await startHttps({ key: serverKey(), handshakeTimeoutMs: 100 })
    const rejected = nextMessage('x:tls:client-rejected')
    const socket = netConnect(target.port, '127.0.0.1')
    try {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      socket.on('error', () => {})
      expect((await rejected).error).toMatchObject({ code: 'X_ERR_TLS_HANDSHAKE_TIMEOUT' })
      await closed
    } finally {
      socket.destroy()
      await target.close()
    }
  })

  it('serves HTTP/2 to undici through the connector with allowH2', async () => {
    const tls = createServerTlsOptions({ key: serverKey() })
    const server = createSecureServer({ ...tls.options, allowHTTP1: true }, (req, res) =>
      res.end(req.httpVersion),
    )
    const target = await listen(server, { secure: true })
    try {
      const connector = createClientTlsConnector({
        ca: pki.root.cert,
        certValidation: { type: 'ocsp' },
        connectOptions: { allowH2: true },
      })
      const res = await fetchWith(connector, `https://localhost:${target.port}/`)
      expect(res.body).toBe('2.0')
      await target.drained()
    } finally {
      await target.close()
    }
  })
})
