// @x/tls on either side: server options (with and without OCSP stapling) and the client
// connector with cached OCSP checking (by query and by staple).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { createClientTlsConnector, createServerTlsOptions } from '@x/tls'
import { plainConnector, startPlainHttps } from './node-https.ts'
import type { BenchPki, BenchServer, HandshakePeer } from './types.ts'

async function startX(pki: BenchPki, stapling: boolean): Promise<BenchServer> {
  const tls = createServerTlsOptions({
    key: { cert: { path: pki.serverChainFile }, key: { path: pki.serverKeyFile } },
    ocspStapling: stapling,
  })
  const server = createServer(tls.options, (_req, res) => res.end('ok'))
  tls.attach(server)
  await tls.stapleReady()
  if (stapling && !tls.staplingStatus()[0]?.stapling) throw new Error('stapling did not start')
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        close: () =>
          new Promise<void>((done) => {
            tls.close()
            server.close(() => done())
          }),
      })
    })
  })
}

export const xServer: HandshakePeer = {
  name: '@x/tls server',
  startServer: (pki) => startX(pki, false),
  connector: (pki) => plainConnector(pki),
}

export const xServerStapling: HandshakePeer = {
  name: '@x/tls server, stapling (client asks, does not verify)',
  startServer: (pki) => startX(pki, true),
  connector: (pki) => plainConnector(pki, { requestOCSP: true }),
}

export const xClientOcsp: HandshakePeer = {
  name: '@x/tls client, OCSP (cached)',
  startServer: (pki) => startPlainHttps(pki),
  connector: (pki) =>
    createClientTlsConnector({
      ca: readFileSync(pki.caFile, 'utf8'),
      certValidation: { type: 'ocsp' },
      connectOptions: { maxCachedSessions: 0 },
    }),
}

export const xBothStapling: HandshakePeer = {
  name: '@x/tls both, stapled OCSP verified (cached)',
  startServer: (pki) => startX(pki, true),
  connector: (pki) =>
    createClientTlsConnector({
      ca: readFileSync(pki.caFile, 'utf8'),
      certValidation: { type: 'ocsp-stapling' },
      connectOptions: { maxCachedSessions: 0 },
    }),
}
