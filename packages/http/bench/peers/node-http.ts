// The baseline: a hand-written node:http server doing the least work that serves both cases.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type StartPeer, TOKEN, USER } from './types.ts'

const HELLO = '{"hello":"world"}'
const HELLO_LENGTH = Buffer.byteLength(HELLO)

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function users(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers['x-token'] !== TOKEN) {
    json(res, 401, '{"error":"unauthorized"}')
    return
  }
  const id = Number(req.url!.slice(7))
  if (!Number.isInteger(id)) {
    json(res, 400, '{"error":"bad id"}')
    return
  }
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    let body: { name?: unknown }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      json(res, 400, '{"error":"bad json"}')
      return
    }
    json(res, 201, JSON.stringify({ id, name: body.name, by: USER }))
  })
}

export const start: StartPeer = async () => {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/hello') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': HELLO_LENGTH })
      res.end(HELLO)
    } else if (req.method === 'POST' && req.url!.startsWith('/users/')) users(req, res)
    else json(res, 404, '{"error":"not found"}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
