// TLS through the Listener's and the Client's `secureSocket` (@x/tls) with a real PKI and a
// real `openssl ocsp` responder: mutual TLS and the client certificate in the context, each
// bad server certificate refused by the Client with its own code, SNI and OCSP stapling seen
// by `openssl s_client`, ALPN seen by curl, and a responder that is down.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect as netConnect } from 'node:net'
import { promisify } from 'node:util'
import type { ServerTlsConfig } from '@x/tls'
import { fetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPki, freePort, type Issued, type Pki, type Responder } from '../../../test-support/pki.ts'
import {
  Client,
  type ClientOptions,
  type ClientSecureSocket,
  type Filter,
  isClientError,
  type ListenerOptions,
  type Resource,
} from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

const run = promisify(execFile)

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

const whoami: Resource = {
  methods: ['GET'],
  path: '/whoami',
  handler: (ctx) => ({
    version: ctx.request.httpVersion,
    client: ctx.clientCertificate?.commonName ?? null,
    organisation: ctx.clientCertificate?.subject.O ?? null,
    authorized: ctx.tls?.authorized ?? null,
    protocol: ctx.tls?.protocol ?? null,
  }),
}

const keyOf = (issued: Issued) => ({ cert: issued.chain, key: issued.key })

/** A filter that sees the client certificate too, and says so in a response header. */
const organisationHeader: Filter = {
  response(ctx, response) {
    const o = ctx.clientCertificate?.subject.O
    if (o !== undefined) response.headers['x-client-organisation'] = String(o)
  },
}

/** A Listener over TLS with `secureSocket`, closed by the test. */
function listener(secureSocket: Omit<ServerTlsConfig, 'alpn'>, options: Partial<ListenerOptions> = {}) {
  return serve({ filters: [organisationHeader], resources: [whoami] }, { secureSocket, ...options })
}

/** Runs `fn` with a Client for the Listener, closing both afterwards. */
async function withClient<T>(
  server: Served,
  secureSocket: ClientSecureSocket,
  fn: (client: Client) => Promise<T>,
  options: ClientOptions = {},
): Promise<T> {
  const client = new Client(`https://localhost:${server.port}`, { secureSocket, ...options })
  try {
    return await fn(client)
  } finally {
    await client.close()
    await server.close()
  }
}

/** What a request through the Client ended with: the body as JSON, or the error. */
async function outcome(client: Client, path = '/whoami'): Promise<unknown> {
  try {
    return await (await client.get(path)).json()
  } catch (e) {
    return e
  }
}

describe('mutual TLS through Listener and Client', () => {
  it.each([
    { name: 'HTTP/1.1', httpVersion: '1.1' as const, version: '1.1' },
    { name: 'HTTP/2', httpVersion: '2' as const, version: '2.0' },
  ])('shows the client certificate to the resource over $name', async ({ httpVersion, version }) => {
    const server = await listener(
      { key: keyOf(pki.server), mutualSsl: { verifyClient: 'require', cert: pki.root.cert } },
      { httpVersion },
    )
    const body = await withClient(server, { ca: pki.root.cert, key: keyOf(pki.client) }, (c) => outcome(c), {
      httpVersion,
    })
    expect(body).toEqual({
      version,
      client: 'client one',
      organisation: 'x test',
      authorized: true,
      protocol: 'TLSv1.3',
    })
  })

  it('shows the client certificate to filters', async () => {
    const server = await listener({
      key: keyOf(pki.server),
      mutualSsl: { verifyClient: 'require', cert: pki.root.cert },
    })
    const header = await withClient(server, { ca: pki.root.cert, key: keyOf(pki.client) }, async (c) => {
      const res = await c.get('/whoami')
      await res.text()
      return res.headers['x-client-organisation']
    })
    expect(header).toBe('x test')
  })

  it.each([
    // TLS 1.2 refuses within the handshake; in TLS 1.3 the client has finished its handshake when
    // the refusal arrives, so undici sees a closed socket and @x/tls reports the alert on its channel.
    { name: 'TLS 1.2', maxVersion: 'TLSv1.2' as const, code: 'X_ERR_CLIENT_TLS' },
    { name: 'TLS 1.3', maxVersion: 'TLSv1.3' as const, code: 'X_ERR_CLIENT_CONNECTION_RESET' },
  ])(
    'refuses a client without a certificate when verifyClient is require ($name)',
    async ({ maxVersion, code }) => {
      const server = await listener({
        key: keyOf(pki.server),
        mutualSsl: { verifyClient: 'require', cert: pki.root.cert },
      })
      const serverSide: unknown[] = []
      const clientSide: unknown[] = []
      const onServer = (m: unknown) => serverSide.push((m as { error: { code?: string } }).error.code)
      const onClient = (m: unknown) => clientSide.push((m as { error: { code?: string } }).error.code)
      subscribe('x:tls:client-rejected', onServer)
      subscribe('x:tls:connection-rejected', onClient)
      try {
        const error = await withClient(server, { ca: pki.root.cert, maxVersion }, (c) => outcome(c))
        expect(isClientError(error, code as 'X_ERR_CLIENT_TLS')).toBe(true)
        expect(serverSide).toContain('X_ERR_TLS_PEER_CERT_REQUIRED')
        if (maxVersion === 'TLSv1.3') expect(clientSide).toContain('X_ERR_TLS_PEER_CERT_REQUIRED')
      } finally {
        unsubscribe('x:tls:client-rejected', onServer)
        unsubscribe('x:tls:connection-rejected', onClient)
      }
      expect(server.logger.errors).toEqual([])
    },
  )

  it('serves a client without a certificate when verifyClient is optional, with none in the context', async () => {
    const server = await listener({
      key: keyOf(pki.server),
      mutualSsl: { verifyClient: 'optional', cert: pki.root.cert },
    })
    const body = await withClient(server, { ca: pki.root.cert }, (c) => outcome(c))
    expect(body).toMatchObject({ client: null, authorized: false })
  })

  it('refuses a certificate from an unknown CA even when verifyClient is optional', async () => {
    const server = await listener({
      key: keyOf(pki.server),
      mutualSsl: { verifyClient: 'optional', cert: pki.root.cert },
    })
    const rogueClient = { cert: pki.rogueServer.cert, key: pki.rogueServer.key }
    const error = await withClient(server, { ca: pki.root.cert, key: rogueClient }, (c) => outcome(c))
    expect(isClientError(error)).toBe(true)
  })
})

describe('Listener TLS options', () => {
  it('serves a certificate from a PKCS#12 bundle with its passphrase', async () => {
    const p12 = execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      pki.server.keyFile,
      '-in',
      pki.server.certFile,
      '-certfile',
      pki.intermediate.certFile,
      '-passout',
      'pass:s3cret',
    ])
    const server = await listener({ key: { pkcs12: p12, passphrase: 's3cret' } })
    expect(await withClient(server, { ca: pki.root.cert }, (c) => outcome(c))).toMatchObject({
      version: '1.1',
    })
  })

  it('refuses a client below minVersion', async () => {
    const server = await listener({ key: keyOf(pki.server), minVersion: 'TLSv1.3' })
    const error = await withClient(server, { ca: pki.root.cert, maxVersion: 'TLSv1.2' }, (c) => outcome(c))
    expect(isClientError(error, 'X_ERR_CLIENT_TLS')).toBe(true)
  })

  it('drops a connection that does not finish its handshake within handshakeTimeoutMs', async () => {
    const server = await listener({ key: keyOf(pki.server), handshakeTimeoutMs: 200 })
    try {
      const socket = netConnect(server.port, '127.0.0.1')
      socket.on('error', () => {})
      await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    } finally {
      await server.close()
    }
  })
})

describe('the Client refuses bad server certificates, each with its own code', () => {
  it('accepts a certificate for another host with verifyHostName: false, and checks serverName instead of the URL host', async () => {
    const wrong = await listener({ key: keyOf(pki.wrongHost) })
    expect(
      await withClient(wrong, { ca: pki.root.cert, verifyHostName: false }, (c) => outcome(c)),
    ).toMatchObject({ version: '1.1' })
    const named = await listener({ key: keyOf(pki.wrongHost) })
    expect(
      await withClient(named, { ca: pki.root.cert, serverName: 'wrong.example' }, (c) => outcome(c)),
    ).toMatchObject({ version: '1.1' })
  })

  it.each([
    {
      name: 'a revoked certificate (CRL)',
      served: () => pki.revoked,
      extra: () => ({ crl: pki.crlPem }),
      code: 'X_ERR_TLS_CERT_REVOKED',
    },
    {
      name: 'a revoked certificate (OCSP)',
      served: () => pki.revoked,
      extra: () => ({ certValidation: { type: 'ocsp' as const } }),
      code: 'X_ERR_TLS_CERT_REVOKED',
    },
    {
      name: 'an expired certificate',
      served: () => pki.expired,
      extra: () => ({}),
      code: 'X_ERR_TLS_CERT_EXPIRED',
    },
    {
      name: 'a certificate for another host',
      served: () => pki.wrongHost,
      extra: () => ({}),
      code: 'X_ERR_TLS_HOSTNAME_MISMATCH',
    },
    {
      name: 'a certificate from an untrusted CA',
      served: () => ({ ...pki.rogueServer, chain: pki.rogueServer.cert }),
      extra: () => ({}),
      code: 'X_ERR_TLS_UNKNOWN_CA',
    },
    {
      name: 'no revocation status to be had (no responder named)',
      served: () => pki.noAia,
      extra: () => ({ certValidation: { type: 'ocsp' as const, failOpen: false } }),
      code: 'X_ERR_TLS_NO_REVOCATION_STATUS',
    },
  ])('$name: $code', async ({ served, extra, code }) => {
    const server = await listener({ key: keyOf(served()) })
    const error = await withClient(server, { ca: pki.root.cert, ...extra() }, (c) => outcome(c))
    expect(isClientError(error, 'X_ERR_CLIENT_TLS')).toBe(true)
    expect((error as { tlsCode?: string }).tlsCode).toBe(code)
    expect(server.logger.errors).toEqual([])
  })

  it('accepts a good certificate checked by OCSP, and by the stapled response over HTTP/2', async () => {
    const server = await listener({ key: keyOf(pki.server), ocspStapling: true }, { httpVersion: '2' })
    await server.listener.stapleReady()
    const body = await withClient(
      server,
      {
        ca: pki.root.cert,
        certValidation: { type: 'ocsp-stapling', responderUrl: `http://127.0.0.1:${await freePort()}` },
      },
      (c) => outcome(c),
      { httpVersion: '2' },
    )
    expect(body).toMatchObject({ version: '2.0' })
  })

  it('applies the checks under fetch() through client.dispatcher too', async () => {
    const server = await listener({ key: keyOf(pki.revoked) })
    const client = new Client(`https://localhost:${server.port}`, {
      secureSocket: { ca: pki.root.cert, crl: pki.crlPem },
    })
    try {
      const error = await fetch(`https://localhost:${server.port}/whoami`, {
        dispatcher: client.dispatcher,
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      const causes: string[] = []
      for (
        let e: unknown = error;
        typeof e === 'object' && e !== null;
        e = (e as { cause?: unknown }).cause
      ) {
        causes.push(String((e as { code?: unknown }).code))
      }
      expect(causes).toContain('X_ERR_TLS_CERT_REVOKED')
    } finally {
      await client.close()
      await server.close()
    }
  })

  it('refuses a bad secureSocket at construction with X_ERR_CLIENT_INVALID_OPTION naming the option', () => {
    let error: unknown
    try {
      new Client('https://localhost', {
        secureSocket: { ca: pki.root.cert, certValidation: { type: 'sometimes' as never } },
      })
    } catch (e) {
      error = e
    }
    expect(isClientError(error, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((error as { option?: string }).option).toBe('secureSocket.certValidation.type')
  })
})

describe('the Listener against openssl s_client and curl', () => {
  /** `openssl s_client` with its stdin closed, so it ends once the handshake is done. */
  function sClient(port: number, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8')
      })
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString('utf8')
      })
      child.once('error', reject)
      child.once('close', () => resolve(out))
    })
  }
  const servedCn = (output: string) => /subject=.*?CN ?= ?([^,\n]+)/.exec(output)?.[1]?.trim()

  it.each([
    { name: 'an exact name', servername: 'a.example.test', cn: 'a.example.test' },
    { name: 'a wildcard name', servername: 'x.wild.example.test', cn: '*.wild.example.test' },
    { name: 'any other name (the default)', servername: 'other.test', cn: 'localhost' },
  ])('serves the certificate SNI asks for: $name', async ({ servername, cn }) => {
    const server = await listener(
      {
        key: keyOf(pki.server),
        sni: { 'a.example.test': keyOf(pki.sniA), '*.wild.example.test': keyOf(pki.sniWildcard) },
      },
      { httpVersion: '2' },
    )
    try {
      const output = await sClient(server.port, ['-servername', servername, '-CAfile', pki.root.certFile])
      expect(servedCn(output)).toBe(cn)
    } finally {
      await server.close()
    }
  })

  it('staples a good OCSP response that openssl s_client -status reads', async () => {
    const server = await listener({ key: keyOf(pki.server), ocspStapling: true }, { httpVersion: '2' })
    try {
      await server.listener.stapleReady()
      const output = await sClient(server.port, [
        '-status',
        '-servername',
        'localhost',
        '-CAfile',
        pki.root.certFile,
      ])
      expect(output).toContain('OCSP Response Status: successful')
      expect(output).toContain('Cert Status: good')
      expect(server.listener.staplingStatus()).toEqual([
        expect.objectContaining({ serialNumber: pki.server.serial, stapling: true }),
      ])
    } finally {
      await server.close()
    }
  })

  it.each([
    { name: 'h2 for curl --http2', flag: '--http2', expected: 'HTTP/2 200', version: '2.0' },
    { name: 'http/1.1 for curl --http1.1', flag: '--http1.1', expected: 'HTTP/1.1 200', version: '1.1' },
  ])('picks $name by ALPN', async ({ flag, expected, version }) => {
    const server = await listener({ key: keyOf(pki.server) }, { httpVersion: '2' })
    try {
      const { stdout } = await run('curl', [
        '-sS',
        '-i',
        flag,
        '--cacert',
        pki.root.certFile,
        `https://localhost:${server.port}/whoami`,
      ])
      expect(stdout.startsWith(expected)).toBe(true)
      expect(JSON.parse(stdout.slice(stdout.indexOf('\r\n\r\n') + 4))).toMatchObject({ version })
    } finally {
      await server.close()
    }
  })
})

describe('with the OCSP responder down', () => {
  let down: Responder | undefined

  beforeAll(async () => {
    await responder.stop()
    down = responder
  })

  afterAll(async () => {
    if (down !== undefined) responder = await pki.startResponder()
  })

  it('the Listener still handshakes, without a staple, and reports the failure', async () => {
    const failed: unknown[] = []
    const onFailed = (m: unknown) => failed.push(m)
    subscribe('x:tls:staple-failed', onFailed)
    const server = await listener(
      { key: keyOf(pki.server), ocspStapling: { timeoutMs: 1_000, retryMs: 60_000 } },
      { httpVersion: '2' },
    )
    try {
      await server.listener.stapleReady()
      const { stdout } = await run('curl', [
        '-sS',
        '--http2',
        '--cacert',
        pki.root.certFile,
        `https://localhost:${server.port}/whoami`,
      ])
      expect(JSON.parse(stdout)).toMatchObject({ version: '2.0' })
      expect(failed.length).toBeGreaterThan(0)
      expect(server.listener.staplingStatus()[0]).toMatchObject({ stapling: false })
    } finally {
      unsubscribe('x:tls:staple-failed', onFailed)
      await server.close()
    }
  })

  it.each([
    { name: 'lets the request through with failOpen: true', failOpen: true },
    { name: 'fails with X_ERR_TLS_NO_REVOCATION_STATUS with failOpen: false', failOpen: false },
  ])('the Client $name', async ({ failOpen }) => {
    const server = await listener({ key: keyOf(pki.server) })
    const result = await withClient(
      server,
      { ca: pki.root.cert, certValidation: { type: 'ocsp', failOpen, timeoutMs: 1_000 } },
      (c) => outcome(c),
    )
    if (failOpen) expect(result).toMatchObject({ version: '1.1' })
    else {
      expect(isClientError(result, 'X_ERR_CLIENT_TLS')).toBe(true)
      expect((result as { tlsCode?: string }).tlsCode).toBe('X_ERR_TLS_NO_REVOCATION_STATUS')
    }
  })
})
