// The hand-written baseline: node:http, JSON.stringify per request, one-shot zlib on the
// thread pool with the same levels, and only the negotiation this benchmark needs.
import { createServer } from 'node:http'
import * as zlib from 'node:zlib'
import type { StartPeer } from '../peers/types.ts'
import { PAYLOAD } from './payload.ts'

const BROTLI = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }

export const start: StartPeer = async () => {
  const server = createServer((req, res) => {
    if (req.url !== '/data') {
      res.writeHead(404).end()
      return
    }
    const body = Buffer.from(JSON.stringify(PAYLOAD))
    const accept = req.headers['accept-encoding'] ?? ''
    const coding = accept.includes('br') ? 'br' : accept.includes('gzip') ? 'gzip' : undefined
    if (coding === undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body)
      return
    }
    const done = (err: Error | null, out: Buffer) => {
      if (err !== null) {
        res.destroy(err)
        return
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': coding,
        vary: 'Accept-Encoding',
        'content-length': out.length,
      })
      res.end(out)
    }
    if (coding === 'br') zlib.brotliCompress(body, BROTLI, done)
    else zlib.gzip(body, done)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
