// Baseline: plain node:https with the certificate files, and undici's own connector.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { buildConnector } from 'undici'
import type { BenchPki, BenchServer, HandshakePeer } from './types.ts'

export function startPlainHttps(pki: BenchPki, extra: object = {}): Promise<BenchServer> {
  const server = createServer(
    { cert: readFileSync(pki.serverChainFile), key: readFileSync(pki.serverKeyFile), ...extra },
    (_req, res) => res.end('ok'),
  )
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        close: () => new Promise<void>((done) => server.close(() => done())),
      })
    })
  })
}

export function plainConnector(pki: BenchPki, extra: object = {}): buildConnector.connector {
  return buildConnector({ ca: readFileSync(pki.caFile, 'utf8'), maxCachedSessions: 0, ...extra })
}

export const nodeHttps: HandshakePeer = {
  name: 'node:https + undici',
  startServer: (pki) => startPlainHttps(pki),
  connector: (pki) => plainConnector(pki),
}
