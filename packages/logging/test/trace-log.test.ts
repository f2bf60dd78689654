import { createServer } from 'node:http'
import {
  connect,
  createServer as createH2Server,
  createSecureServer as createSecureH2Server,
} from 'node:http2'
import { Readable } from 'node:stream'
import { Agent, fetch, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { cert, key } from '../../../test-support/tls.ts'
import { isLoggingError, type TraceEntry, traceLog } from '../src/index.ts'
import { capture } from './helpers/capture.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

type Line = TraceEntry & { level: number; msg: string }
const parse = (lines: string[]): Line[] => lines.map((l) => JSON.parse(l) as Line)

async function h1(handler: Parameters<typeof createServer>[1], trace: ReturnType<typeof traceLog> | null) {
  const server = createServer((req, res) => {
    trace?.attach(req, res, req.headers['x-request-id'] as string | undefined)
    handler!(req, res)
  })
  const l = await listen(server)
  cleanups.push(async () => {
    await l.drained()
    await l.close()
  })
  const dispatcher = new Agent()
  cleanups.push(() => dispatcher.close())
  return { ...l, dispatcher }
}

describe('traceLog, server side', () => {
  it('traces request head, request body, response head and response body at level trace', async () => {
    const cap = capture()
    const trace = traceLog({ client: false, maxPayload: 8, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const l = await h1((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(201, { 'set-cookie': 'sid=secret', 'content-type': 'text/plain' })
        res.end('created resource')
      })
    }, trace)
    await (
      await request(`${l.url}/items?x=1`, {
        dispatcher: l.dispatcher,
        method: 'POST',
        body: 'payload-bytes',
        headers: { authorization: 'Bearer t0ken', 'x-request-id': 'rid-1' },
      })
    ).body.dump()
    const lines = parse(await cap.waitFor(4))
    expect(lines.map((e) => [e.side, e.direction, e.kind])).toEqual([
      ['server', 'inbound', 'request'],
      ['server', 'inbound', 'request-body'],
      ['server', 'outbound', 'response'],
      ['server', 'outbound', 'response-body'],
    ])
    for (const e of lines) {
      expect(e).toMatchObject({
        level: 10,
        requestId: 'rid-1',
        method: 'POST',
        url: '/items?x=1',
        protocol: 'HTTP/1.1',
      })
      expect(e.connectionId).toBe(lines[0]!.connectionId)
    }
    expect(lines[0]!.headers).toMatchObject({ authorization: '[Redacted]', 'x-request-id': 'rid-1' })
    expect(lines[1]).toMatchObject({ payload: 'payload-', payloadBytes: 13, payloadTruncated: true })
    expect(lines[2]).toMatchObject({
      status: 201,
      headers: { 'set-cookie': '[Redacted]', 'content-type': 'text/plain' },
    })
    expect(lines[3]).toMatchObject({ status: 201, payload: 'created ', payloadBytes: 16, aborted: false })
    expect(typeof lines[3]!.durationMs).toBe('number')
  })

  it('traces HTTP/2 exchanges with protocol HTTP/2.0 and one connection id per session', async () => {
    const cap = capture()
    const trace = traceLog({ client: false, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const l = await listen(
      createH2Server((req, res) => {
        trace.attach(req, res)
        res.end(`hi ${req.url}`)
      }),
    )
    cleanups.push(async () => {
      await l.drained()
      await l.close()
    })
    const session = connect(l.url)
    cleanups.push(() => new Promise<void>((r) => session.close(() => r())))
    for (const path of ['/a', '/b']) {
      await new Promise<void>((resolve) => {
        const r = session.request({ ':path': path })
        r.resume()
        r.on('end', () => resolve())
      })
    }
    const lines = parse(await cap.waitFor(6))
    expect(new Set(lines.map((e) => e.protocol))).toEqual(new Set(['HTTP/2.0']))
    expect(new Set(lines.map((e) => e.connectionId)).size).toBe(1)
    const bodies = lines.filter((e) => e.kind === 'response-body')
    expect(bodies.map((e) => e.payload)).toEqual(['hi /a', 'hi /b'])
    expect(lines.find((e) => e.kind === 'response')!.headers).toMatchObject({ ':status': '200' })
  })
})

describe('traceLog, client side (undici diagnostics channels)', () => {
  it('traces undici.request with connection id, headers and payloads both ways', async () => {
    const l = await h1((req, res) => {
      req.resume()
      req.on('end', () => res.end('pong-pong-pong'))
    }, null)
    const cap = capture()
    const trace = traceLog({ maxPayload: 4, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    await (
      await request(`${l.url}/ping`, {
        dispatcher: l.dispatcher,
        method: 'PUT',
        body: Readable.from(['ab', 'cdef']),
        headers: { 'x-request-id': 'c-1', cookie: 'a=b' },
      })
    ).body.text()
    const lines = parse(await cap.waitFor(4))
    expect(lines.map((e) => [e.side, e.direction, e.kind])).toEqual([
      ['client', 'outbound', 'request'],
      ['client', 'outbound', 'request-body'],
      ['client', 'inbound', 'response'],
      ['client', 'inbound', 'response-body'],
    ])
    expect(lines[0]).toMatchObject({
      method: 'PUT',
      url: `${l.url}/ping`,
      protocol: 'HTTP/1.1',
      requestId: 'c-1',
    })
    expect(lines[0]!.headers).toMatchObject({ cookie: '[Redacted]', 'x-request-id': 'c-1' })
    expect(lines[1]).toMatchObject({ payload: 'abcd', payloadBytes: 6, payloadTruncated: true })
    expect(lines[2]).toMatchObject({ status: 200 })
    expect(lines[3]).toMatchObject({ payload: 'pong', payloadBytes: 14, aborted: false })
    expect(lines.every((e) => e.connectionId === lines[0]!.connectionId)).toBe(true)
  })

  it('traces undici over HTTP/2 with protocol HTTP/2.0, whatever order undici lists the fields in', async () => {
    const l = await listen(
      createSecureH2Server({ key, cert }, (_req, res) => res.end('two')),
      { secure: true },
    )
    cleanups.push(async () => {
      await l.drained()
      await l.close()
    })
    const dispatcher = new Agent({ allowH2: true, connect: { ca: cert } })
    cleanups.push(() => dispatcher.close())
    const cap = capture()
    const trace = traceLog({ destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const res = await request(`${l.url}/h2`, { dispatcher, headers: { 'accept-encoding': 'gzip, deflate' } })
    expect(await res.body.text()).toBe('two')
    const lines = parse(await cap.waitFor(3))
    expect(lines.map((e) => e.protocol)).toEqual(['HTTP/2.0', 'HTTP/2.0', 'HTTP/2.0'])
    expect(lines[0]!.headers).toMatchObject({ ':method': 'GET', 'accept-encoding': 'gzip, deflate' })
  })

  it('traces undici fetch too', async () => {
    const l = await h1((_req, res) => res.end('{"ok":true}'), null)
    const cap = capture()
    const trace = traceLog({ destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const res = await fetch(`${l.url}/f`, { dispatcher: l.dispatcher })
    expect(await res.json()).toEqual({ ok: true })
    const lines = parse(await cap.waitFor(3))
    expect(lines.map((e) => e.kind)).toEqual(['request', 'response', 'response-body'])
    expect(lines[2]).toMatchObject({ payload: '{"ok":true}', payloadBytes: 11 })
  })

  it('writes an error entry when the request fails, and nothing once closed', async () => {
    const l = await h1((_req, res) => res.end(), null)
    const port = l.port
    await l.close()
    const cap = capture()
    const trace = traceLog({ destination: { stream: cap.stream } })
    const dispatcher = new Agent()
    cleanups.push(() => dispatcher.close())
    await expect(request(`http://127.0.0.1:${port}/x`, { dispatcher })).rejects.toThrow()
    const [line] = parse(await cap.waitFor(1))
    expect(line).toMatchObject({
      side: 'client',
      kind: 'error',
      aborted: true,
      error: { code: 'ECONNREFUSED' },
    })
    await trace.close()
    await expect(request(`http://127.0.0.1:${port}/x`, { dispatcher })).rejects.toThrow()
    expect(cap.lines).toHaveLength(1)
  })

  it.each([
    { name: 'negative maxPayload', options: { maxPayload: -1 } },
    { name: 'fractional maxPayload', options: { maxPayload: 1.5 } },
    { name: 'unknown encoding', options: { payloadEncoding: 'hex' } },
    { name: 'non-boolean client', options: { client: 'yes' } },
    { name: 'bad redactHeaders', options: { redactHeaders: [''] } },
    { name: 'unknown option', options: { level: 'info' } },
    { name: 'a requestIdHeader with a space', options: { requestIdHeader: 'x request id' } },
    { name: 'a non-string requestIdHeader', options: { requestIdHeader: 1 } },
  ])('rejects $name with X_ERR_LOGGING_INVALID_OPTION', ({ options }) => {
    let err: unknown
    try {
      traceLog({ ...(options as object), destination: { stream: { write() {} } } } as never)
    } catch (e) {
      err = e
    }
    expect(isLoggingError(err, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
  })
})

describe('traceLog, client requests chosen by traceRequests()', () => {
  it('traces only the requests the filter accepts, until it is removed', async () => {
    const a = await h1((_req, res) => res.end('from a'), null)
    const b = await h1((_req, res) => res.end('from b'), null)
    const cap = capture()
    const trace = traceLog({ client: false, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const seen: Array<{ origin: string; socket: boolean; error: unknown }> = []
    const stop = trace.traceRequests((info) => {
      seen.push({ origin: info.origin, socket: info.socket !== undefined, error: info.error })
      return info.origin === a.url
    })
    await (await request(`${b.url}/b`, { dispatcher: b.dispatcher })).body.text()
    await (await request(`${a.url}/a?q=1`, { dispatcher: a.dispatcher })).body.text()
    const lines = parse(await cap.waitFor(3))
    expect(lines.map((e) => [e.kind, e.url])).toEqual([
      ['request', `${a.url}/a?q=1`],
      ['response', `${a.url}/a?q=1`],
      ['response-body', `${a.url}/a?q=1`],
    ])
    // Asked once per request, when its head went out on a socket.
    expect(seen).toEqual([
      { origin: b.url, socket: true, error: undefined },
      { origin: a.url, socket: true, error: undefined },
    ])
    stop()
    stop()
    await (await request(`${a.url}/again`, { dispatcher: a.dispatcher })).body.text()
    await trace.flush()
    expect(cap.lines).toHaveLength(3)
  })

  it('asks about a request that failed before it was sent with its error, and traces it when accepted', async () => {
    const l = await h1((_req, res) => res.end(), null)
    const port = l.port
    await l.close()
    const cap = capture()
    const trace = traceLog({ client: false, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    const codes: unknown[] = []
    trace.traceRequests((info) => {
      codes.push((info.error as { code?: unknown } | undefined)?.code)
      return info.socket === undefined
    })
    const dispatcher = new Agent()
    cleanups.push(() => dispatcher.close())
    await expect(request(`http://127.0.0.1:${port}/x`, { dispatcher })).rejects.toThrow()
    const [line] = parse(await cap.waitFor(1))
    expect(codes).toEqual(['ECONNREFUSED'])
    expect(line).toMatchObject({ side: 'client', kind: 'error', error: { code: 'ECONNREFUSED' } })
  })

  it('counts a throwing filter as a no and leaves the request alone', async () => {
    const l = await h1((_req, res) => res.end('ok'), null)
    const cap = capture()
    const trace = traceLog({ client: false, destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    trace.traceRequests(() => {
      throw new Error('filter bug')
    })
    const res = await request(`${l.url}/x`, { dispatcher: l.dispatcher })
    expect(await res.body.text()).toBe('ok')
    await trace.flush()
    expect(cap.lines).toEqual([])
  })

  it('takes requestId from the configured header', async () => {
    const l = await h1((_req, res) => res.end('ok'), null)
    const cap = capture()
    const trace = traceLog({ requestIdHeader: 'X-Correlation-Id', destination: { stream: cap.stream } })
    cleanups.push(() => trace.close())
    await (
      await request(`${l.url}/x`, {
        dispatcher: l.dispatcher,
        headers: { 'x-correlation-id': 'corr-7', 'x-request-id': 'other' },
      })
    ).body.text()
    const lines = parse(await cap.waitFor(3))
    expect(lines.map((e) => e.requestId)).toEqual(['corr-7', 'corr-7', 'corr-7'])
  })

  it('refuses a filter that is not a function, and ignores filters once closed', async () => {
    const cap = capture()
    const trace = traceLog({ client: false, destination: { stream: cap.stream } })
    let err: unknown
    try {
      trace.traceRequests('yes' as never)
    } catch (e) {
      err = e
    }
    expect(isLoggingError(err, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
    await trace.close()
    const l = await h1((_req, res) => res.end('ok'), null)
    const stop = trace.traceRequests(() => true)
    await (await request(`${l.url}/x`, { dispatcher: l.dispatcher })).body.text()
    stop()
    expect(cap.lines).toEqual([])
  })
})
