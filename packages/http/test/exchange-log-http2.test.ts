// The contract the Listener's logging hook offers its HTTP/2 adapter (see the head of
// src/listener/exchange-log.ts): node:http2 compatibility request/response pairs handed to the
// Dispatcher's onRequest are logged like HTTP/1.1 exchanges. Until the Listener serves HTTP/2
// itself, this drives the Dispatcher from a plain node:http2 server; once it does, the same
// assertions belong on the Listener's own HTTP/2 port.
import { type ClientHttp2Session, connect, constants, createServer, type Http2Server } from 'node:http2'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { Listener } from '../src/index.ts'
import { lines } from './helpers/lines.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface JsonLine {
  method: string
  uri: string
  protocol: string
  status: number
  body_bytes_sent: number
  request_body_bytes: number
  request_id: string
  aborted: boolean
}

async function h2Listener(trace?: ReturnType<typeof lines>) {
  const log = lines()
  const listener = new Listener({
    port: 0,
    accessLog: { format: 'json', destination: { stream: log.stream } },
    requestId: { echo: true },
    ...(trace === undefined ? {} : { traceLog: { destination: { stream: trace.stream } } }),
  })
  listener.attach({
    resources: [
      { methods: ['GET'], path: '/hi', handler: () => ({ hi: 1 }) },
      { methods: ['GET'], path: '/stream', handler: () => Readable.from(['ab', 'cde']) },
      { methods: ['POST'], path: '/echo', body: 'text', handler: (ctx) => ctx.body },
      {
        methods: ['GET'],
        path: '/endless',
        handler: () =>
          new Readable({
            read() {
              this.push(Buffer.alloc(16_384, 0x62))
            },
          }),
      },
    ],
  })
  const onRequest = (listener as unknown as { dispatcher: { onRequest: (...a: never[]) => void } }).dispatcher
    .onRequest
  const server: Http2Server = createServer(onRequest as never)
  const l = await listen(server)
  const session: ClientHttp2Session = connect(l.url)
  cleanups.push(async () => {
    await new Promise<void>((r) => session.close(() => r()))
    await l.drained()
    await l.close()
    await listener.immediateStop()
  })
  return { log, session }
}

function exchange(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; id: string; body: string }> {
  return new Promise((resolve, reject) => {
    const r = session.request(headers)
    let status = 0
    let id = ''
    let text = ''
    r.on('response', (h) => {
      status = Number(h[':status'])
      id = String(h['x-request-id'])
    })
    r.setEncoding('utf8')
    r.on('data', (c: string) => {
      text += c
    })
    r.on('end', () => resolve({ status, id, body: text }))
    r.on('error', reject)
    r.end(body)
  })
}

describe('the logging hook over node:http2 compatibility objects', () => {
  it('logs HTTP/2 exchanges with protocol HTTP/2.0, the status sent, the bytes written and the request id', async () => {
    const { log, session } = await h2Listener()
    const hi = await exchange(session, { ':path': '/hi' })
    const stream = await exchange(session, { ':path': '/stream' })
    const echo = await exchange(
      session,
      { ':path': '/echo', ':method': 'POST', 'content-type': 'text/plain', 'content-length': '5' },
      'hello',
    )
    const missing = await exchange(session, { ':path': '/missing' })
    await log.waitFor(4)
    const got = log.json<JsonLine>()
    expect(
      got.map((l) => [l.protocol, l.method, l.uri, l.status, l.body_bytes_sent, l.request_body_bytes]),
    ).toEqual([
      ['HTTP/2.0', 'GET', '/hi', 200, 8, 0],
      ['HTTP/2.0', 'GET', '/stream', 200, 5, 0],
      ['HTTP/2.0', 'POST', '/echo', 201, 5, 5],
      ['HTTP/2.0', 'GET', '/missing', 404, Buffer.byteLength(missing.body), 0],
    ])
    expect(got.map((l) => l.request_id)).toEqual([hi.id, stream.id, echo.id, missing.id])
    expect(got.every((l) => !l.aborted)).toBe(true)
  })

  it('logs a stream the client resets mid-response as aborted', async () => {
    const { log, session } = await h2Listener()
    await new Promise<void>((resolve) => {
      const r = session.request({ ':path': '/endless' })
      let n = 0
      r.on('data', (c: Buffer) => {
        n += c.length
        if (n > 50_000) r.close(constants.NGHTTP2_CANCEL)
      })
      r.on('close', () => resolve())
    })
    await log.waitFor(1)
    const [line] = log.json<JsonLine>()
    expect(line).toMatchObject({ protocol: 'HTTP/2.0', status: 200, aborted: true })
    expect(line!.body_bytes_sent).toBeGreaterThan(0)
  })

  it('traces HTTP/2 exchanges too, with the access line sharing their request id', async () => {
    const trace = lines()
    const { log, session } = await h2Listener(trace)
    const hi = await exchange(session, { ':path': '/hi' })
    await log.waitFor(1)
    await trace.waitFor(3)
    const entries = trace.json<{ kind: string; protocol: string; requestId: string; status?: number }>()
    expect(entries.map((e) => e.kind)).toEqual(['request', 'response', 'response-body'])
    expect(entries.every((e) => e.protocol === 'HTTP/2.0' && e.requestId === hi.id)).toBe(true)
    expect(log.json<JsonLine>()[0]).toMatchObject({ request_id: hi.id, body_bytes_sent: 8 })
  })
})
