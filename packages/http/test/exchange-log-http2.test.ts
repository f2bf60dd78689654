// Access and trace logs of the Listener's own HTTP/2 port (h2c with prior knowledge): the
// logging hook (src/listener/exchange-log.ts) and @x/logging's instrumentation both see the
// HTTP/2 adapter's exchanges, with protocol HTTP/2.0, the status sent, the bytes written (for
// buffered, streamed, compressed and event-stream bodies) and resets as aborted.
import { type ClientHttp2Session, connect, constants } from 'node:http2'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpResponse, Listener } from '../src/index.ts'

const BIG = 'compressible text '.repeat(2_000)

import { h2bytes } from './helpers/h2.ts'
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
    host: '127.0.0.1',
    httpVersion: '2',
    accessLog: { format: 'json', destination: { stream: log.stream } },
    requestId: { echo: true },
    ...(trace === undefined ? {} : { traceLog: { destination: { stream: trace.stream } } }),
  })
  listener.attach({
    resources: [
      { methods: ['GET'], path: '/hi', handler: () => ({ hi: 1 }) },
      { methods: ['GET'], path: '/stream', handler: () => Readable.from(['ab', 'cde']) },
      {
        methods: ['GET'],
        path: '/big',
        handler: () =>
          new HttpResponse({ headers: { 'content-type': 'text/plain' }, body: Readable.from([BIG]) }),
      },
      {
        methods: ['GET'],
        path: '/events',
        sse: { heartbeat: 0 },
        async *handler() {
          yield { data: 'one' }
          yield { data: 'two' }
        },
      },
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
  await listener.start()
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${listener.port}`)
  cleanups.push(async () => {
    await new Promise<void>((r) => session.close(() => r()))
    await listener.gracefulStop({ timeout: 5_000 })
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

describe("access and trace logs of the Listener's HTTP/2 port", () => {
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

  it('counts the compressed bytes of a streamed body and the bytes of an event stream', async () => {
    const { log, session } = await h2Listener()
    const big = (await h2bytes(session, { ':path': '/big', 'accept-encoding': 'gzip' })).body
    expect(gunzipSync(big).toString()).toBe(BIG)
    const events = await exchange(session, { ':path': '/events' })
    await log.waitFor(2)
    const got = log.json<JsonLine>()
    expect(got[0]).toMatchObject({ uri: '/big', status: 200, body_bytes_sent: big.length, aborted: false })
    expect(big.length).toBeLessThan(BIG.length / 10)
    expect(got[1]).toMatchObject({
      uri: '/events',
      status: 200,
      body_bytes_sent: Buffer.byteLength(events.body),
      aborted: false,
    })
  })

  it('traces a streamed HTTP/2 body through the trace log and counts it in the access line', async () => {
    const trace = lines()
    const { log, session } = await h2Listener(trace)
    const big = (await h2bytes(session, { ':path': '/big', 'accept-encoding': 'gzip' })).body
    expect(gunzipSync(big).toString()).toBe(BIG)
    const echo = await exchange(
      session,
      { ':path': '/echo', ':method': 'POST', 'content-type': 'text/plain' },
      'hello there',
    )
    expect(echo.body).toBe('hello there')
    await log.waitFor(2)
    const got = log.json<JsonLine>()
    expect(got.map((l) => [l.uri, l.status, l.body_bytes_sent, l.request_body_bytes])).toEqual([
      ['/big', 200, big.length, 0],
      ['/echo', 201, 11, 11],
    ])
    await trace.waitFor(1)
    expect(trace.json<{ kind: string }>().some((e) => e.kind === 'request')).toBe(true)
  })
})
