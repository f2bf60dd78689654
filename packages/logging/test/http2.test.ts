import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { type AccessLog, accessLog } from '../src/index.ts'
import { capture } from './helpers/capture.ts'

type Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function serveH2(log: AccessLog, handler: Handler): Promise<ClientHttp2Session> {
  const server = createServer((req, res) => {
    log.attach(req, res)
    handler(req, res)
  })
  const l = await listen(server)
  cleanups.push(async () => {
    await l.drained()
    await l.close()
  })
  const session = connect(l.url)
  cleanups.push(() => new Promise<void>((resolve) => session.close(() => resolve())))
  return session
}

function fetchH2(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined })
    const chunks: Buffer[] = []
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
    if (body !== undefined) req.end(body)
  })
}

describe('accessLog over HTTP/2', () => {
  it('logs HTTP/2 requests with protocol HTTP/2.0 and exact body bytes both ways', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const session = await serveH2(log, (req, res) => {
      req.resume()
      req.on('end', () => {
        res.setHeader('content-type', 'text/plain')
        res.write('héllo ')
        res.end(Buffer.alloc(100000, 1))
      })
    })
    const body = await fetchH2(
      session,
      { ':method': 'POST', ':path': '/up?x=1', 'user-agent': 'h2-test', 'x-request-id': 'r1' },
      'z'.repeat(777),
    )
    expect(body.length).toBe(7 + 100000)
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({
      protocol: 'HTTP/2.0',
      method: 'POST',
      uri: '/up?x=1',
      status: 200,
      body_bytes_sent: 100007,
      request_body_bytes: 777,
      http_user_agent: 'h2-test',
      aborted: false,
    })
  })

  it('writes the combined request line as nginx does for HTTP/2', async () => {
    const cap = capture()
    const log = accessLog({ destination: { stream: cap.stream } })
    const session = await serveH2(log, (_req, res) => {
      res.statusCode = 201
      res.end('created')
    })
    await fetchH2(session, { ':path': '/c' })
    const [line] = await cap.waitFor(1)
    expect(line).toMatch(/"GET \/c HTTP\/2\.0" 201 7 "-" "-"$/)
  })

  it('counts no body for HEAD', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const session = await serveH2(log, (_req, res) => res.end('not sent'))
    await fetchH2(session, { ':path': '/h', ':method': 'HEAD' })
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ method: 'HEAD', body_bytes_sent: 0, aborted: false })
  })

  it('counts the bytes sent before the client reset the stream mid-response', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const session = await serveH2(log, (_req, res) => {
      res.writeHead(200, { 'content-length': '10000' })
      res.write(Buffer.alloc(1000, 97))
    })
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': '/cut' })
      let got = 0
      req.on('data', (d: Buffer) => {
        got += d.length
        if (got >= 1000) req.close(constants.NGHTTP2_CANCEL)
      })
      req.on('close', () => resolve())
      req.on('error', reject)
    })
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({
      status: 200,
      body_bytes_sent: 1000,
      aborted: true,
      protocol: 'HTTP/2.0',
    })
  })

  it('logs 499 when the stream is reset before any response', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    let arrived!: () => void
    const seen = new Promise<void>((r) => {
      arrived = r
    })
    const session = await serveH2(log, () => arrived())
    const req = session.request({ ':path': '/gone' })
    req.on('error', () => {})
    await seen
    req.close(constants.NGHTTP2_CANCEL)
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ status: 499, body_bytes_sent: 0, aborted: true })
  })
})
