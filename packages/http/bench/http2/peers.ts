// The HTTP/2 benchmark peers, one adapter type: each serves GET /hello → 200
// {"hello":"world"} over h2c on 127.0.0.1 (port 0), the same handler in every peer.
import { createServer, type ServerHttp2Stream } from 'node:http2'
import { Listener } from '@x/http'
import Fastify from 'fastify'

/** A running server. */
export interface H2Peer {
  readonly port: number
  close(): Promise<void>
}

const HELLO = '{"hello":"world"}'
const HELLO_LENGTH = Buffer.byteLength(HELLO)
/** node:http2 lets a client open 4294967295 streams by default; every peer gets the Listener's 100. */
const SETTINGS = { maxConcurrentStreams: 100 }

function listening(server: import('node:net').Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  )
}

async function listener(allowHTTP1: boolean): Promise<H2Peer> {
  const l = new Listener({ port: 0, host: '127.0.0.1', httpVersion: '2', http2: { allowHTTP1 } })
  l.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
  await l.start()
  return { port: l.port, close: () => l.gracefulStop({ timeout: 1_000 }) }
}

export const peers: Record<string, { label: string; start: () => Promise<H2Peer> }> = {
  raw: {
    label: 'node:http2 stream API (raw)',
    async start() {
      const server = createServer({ settings: SETTINGS })
      server.on('stream', (stream: ServerHttp2Stream, headers) => {
        if (headers[':method'] === 'GET' && headers[':path'] === '/hello') {
          stream.respond({
            ':status': 200,
            'content-type': 'application/json',
            'content-length': HELLO_LENGTH,
          })
          stream.end(HELLO)
        } else {
          stream.respond({ ':status': 404 })
          stream.end()
        }
      })
      const port = await listening(server)
      return { port, close: () => new Promise((r) => server.close(() => r())) }
    },
  },
  compat: {
    label: 'node:http2 compatibility API',
    async start() {
      const server = createServer({ settings: SETTINGS }, (req, res) => {
        if (req.method === 'GET' && req.url === '/hello') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': HELLO_LENGTH })
          res.end(HELLO)
        } else {
          res.writeHead(404)
          res.end()
        }
      })
      const port = await listening(server)
      return { port, close: () => new Promise((r) => server.close(() => r())) }
    },
  },
  fastify: {
    label: 'Fastify 5 (http2: true)',
    async start() {
      const app = Fastify({ logger: false, http2: true, http2SessionTimeout: 0 })
      app.get('/hello', async () => ({ hello: 'world' }))
      await app.listen({ port: 0, host: '127.0.0.1' })
      ;(app.server as unknown as { updateSettings?: (s: object) => void }).updateSettings?.(SETTINGS)
      return { port: (app.server.address() as { port: number }).port, close: () => app.close() }
    },
  },
  'listener-h2c': { label: '@x/http Listener, h2c only', start: () => listener(false) },
  'listener-shared': { label: '@x/http Listener, h2c + HTTP/1.1', start: () => listener(true) },
}
