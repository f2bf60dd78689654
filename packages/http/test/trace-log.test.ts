import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createSecureServer } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TraceEntry, traceLog } from '@x/logging'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { cert, key } from '../../../test-support/tls.ts'
import {
  Client,
  type ClientOptions,
  isClientError,
  type ListenerOptions,
  type Service,
} from '../src/index.ts'
import { type Lines, lines } from './helpers/lines.ts'
import { type Served, serve } from './helpers/serve.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

type Entry = TraceEntry & { level: number }
const entries = (l: Lines): Entry[] => l.json<Entry>()
const kinds = (es: Entry[]) => es.map((e) => `${e.side} ${e.direction} ${e.kind}`)

async function served(
  services: Service | Service[],
  options: Partial<ListenerOptions> = {},
): Promise<Served> {
  const s = await serve(services, options)
  cleanups.push(() => s.close())
  return s
}

async function upstream(body = 'upstream says hi'): Promise<Listening> {
  const l = await listen(
    createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end(body))
    }),
  )
  cleanups.push(async () => {
    await l.drained()
    await l.close()
  })
  return l
}

function client(url: string, options?: ClientOptions): Client {
  const c = new Client(url, options)
  cleanups.push(() => c.close())
  return c
}

const service: Service = {
  resources: [
    { methods: ['GET'], path: '/hi', handler: () => 'hello' },
    { methods: ['POST'], path: '/echo', body: 'text', handler: (ctx) => ctx.body },
  ],
}

describe('Listener trace log', () => {
  it("traces every request and response of the Listener's exchanges with the exchange's request id", async () => {
    const log = lines()
    const s = await served(service, {
      requestId: { echo: true },
      traceLog: { maxPayload: 3, destination: { stream: log.stream } },
    })
    const res = await s.fetch('/echo', {
      method: 'POST',
      body: 'payload',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer secret' },
    })
    expect(res.text).toBe('payload')
    await log.waitFor(4)
    const es = entries(log)
    expect(kinds(es)).toEqual([
      'server inbound request',
      'server inbound request-body',
      'server outbound response',
      'server outbound response-body',
    ])
    const id = res.headers['x-request-id']
    expect(typeof id).toBe('string')
    for (const e of es) expect(e).toMatchObject({ level: 10, requestId: id, method: 'POST', url: '/echo' })
    expect(es[0]!.headers).toMatchObject({ authorization: '[Redacted]' })
    expect(es[1]).toMatchObject({ payload: 'pay', payloadBytes: 7, payloadTruncated: true })
    expect(es[2]).toMatchObject({ status: 201, headers: { 'x-request-id': id } })
    expect(es[3]).toMatchObject({ status: 201, payload: 'pay', payloadBytes: 7, aborted: false })
  })

  it('writes access and trace lines for the same exchange, tied by its request id', async () => {
    const access = lines()
    const trace = lines()
    const s = await served(service, {
      accessLog: { format: 'json', destination: { stream: access.stream } },
      traceLog: { destination: { stream: trace.stream } },
    })
    await s.fetch('/hi', { headers: { 'x-request-id': 'tie-1' } })
    await access.waitFor(1)
    await trace.waitFor(3)
    expect(access.json()[0]).toMatchObject({ request_id: 'tie-1', status: 200, body_bytes_sent: 5 })
    expect(new Set(entries(trace).map((e) => e.requestId))).toEqual(new Set(['tie-1']))
  })

  it("does not trace the process's other undici requests unless its options ask to", async () => {
    const log = lines()
    const s = await served(service, { traceLog: { destination: { stream: log.stream } } })
    const up = await upstream()
    await (await request(`${up.url}/elsewhere`)).body.text()
    await s.fetch('/hi')
    await log.waitFor(3)
    expect(entries(log).every((e) => e.side === 'server')).toBe(true)
  })

  it('closes a trace log it built when it stops, and leaves a shared one open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-http-trace-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'trace.log')
    const s = await serve(service, { traceLog: { destination: { file } } })
    await s.fetch('/hi')
    await s.close()
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3)
    const log = lines()
    const shared = traceLog({ client: false, destination: { stream: log.stream } })
    const t = await serve(service, { traceLog: shared })
    await t.fetch('/hi')
    await t.close()
    expect(shared.stats().dropped).toBe(0)
    shared.logger.trace({ after: true }, 'still open')
    expect(shared.stats()).toMatchObject({ written: 4, dropped: 0 })
    await shared.close()
  })

  it.each([
    { name: 'an unknown option', traceLog: { level: 'trace' } },
    { name: 'a negative maxPayload', traceLog: { maxPayload: -1 } },
    { name: 'a number', traceLog: 1 },
  ])('rejects traceLog with $name: X_ERR_HTTP_INVALID_OPTION', async ({ traceLog: value }) => {
    const { Listener } = await import('../src/index.ts')
    expect(() => new Listener({ port: 0, traceLog: value as never })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })
})

describe('Client trace log', () => {
  it("traces the Client's own requests, not other undici requests to the same origin", async () => {
    const up = await upstream()
    const log = lines()
    const c = client(up.url, { traceLog: { maxPayload: 8, destination: { stream: log.stream } } })
    const other = new Agent()
    cleanups.push(() => other.close())
    await (await request(`${up.url}/not-mine`, { dispatcher: other })).body.text()
    await (await fetch(`${up.url}/not-mine-either`)).text()
    const res = await c.post('/mine', 'body!', { headers: { 'x-request-id': 'client-1' } })
    expect(await res.text()).toBe('upstream says hi')
    await log.waitFor(4)
    const es = entries(log)
    expect(kinds(es)).toEqual([
      'client outbound request',
      'client outbound request-body',
      'client inbound response',
      'client inbound response-body',
    ])
    for (const e of es) expect(e).toMatchObject({ url: `${up.url}/mine`, requestId: 'client-1' })
    expect(es[1]).toMatchObject({ payload: 'body!', payloadBytes: 5 })
    expect(es[3]).toMatchObject({ status: 200, payload: 'upstream', payloadBytes: 16 })
    expect(es.every((e) => e.connectionId === es[0]!.connectionId)).toBe(true)
  })

  it("traces a connection failure of the Client's own, and not another's", async () => {
    const up = await upstream()
    const port = up.port
    await up.close()
    const log = lines()
    const c = client(`http://127.0.0.1:${port}`, { traceLog: { destination: { stream: log.stream } } })
    const other = new Agent()
    cleanups.push(() => other.close())
    await expect(request(`http://127.0.0.1:${port}/other`, { dispatcher: other })).rejects.toThrow()
    const err = await c.get('/mine').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_CONNECT_FAILED')).toBe(true)
    await log.waitFor(1)
    expect(entries(log)).toHaveLength(1)
    expect(entries(log)[0]).toMatchObject({
      side: 'client',
      kind: 'error',
      url: `http://127.0.0.1:${port}/mine`,
      error: { code: 'ECONNREFUSED' },
    })
  })

  it('traces HTTP/2 requests with protocol HTTP/2.0', async () => {
    const srv = createSecureServer({ key, cert, allowHTTP1: true }, (_req, res) => res.end('h2!'))
    const l = await listen(srv, { secure: true })
    cleanups.push(async () => {
      await l.drained()
      await l.close()
    })
    const log = lines()
    const c = client(l.url, {
      httpVersion: '2',
      secureSocket: { ca: cert },
      traceLog: { destination: { stream: log.stream } },
    })
    expect(await (await c.get('/two')).text()).toBe('h2!')
    await log.waitFor(3)
    expect(kinds(entries(log))).toEqual([
      'client outbound request',
      'client inbound response',
      'client inbound response-body',
    ])
    expect(entries(log)[0]).toMatchObject({ protocol: 'HTTP/2.0', url: `${l.url}/two` })
  })

  it('ties the lines of a gateway exchange together: inbound, forwarded and answered under one request id', async () => {
    const up = await upstream('from upstream')
    const log = lines()
    const shared = traceLog({ client: false, maxPayload: 0, destination: { stream: log.stream } })
    cleanups.push(() => shared.close())
    const c = client(up.url, { traceLog: shared })
    const s = await served(
      {
        resources: [
          { path: '/{...rest}', handler: async (ctx) => (await c.forward('/api', ctx.request)).text() },
        ],
      },
      { traceLog: shared },
    )
    const res = await s.fetch('/front', { headers: { 'x-request-id': 'gw-1' } })
    expect(res.text).toBe('from upstream')
    await log.waitFor(6)
    const es = entries(log)
    expect(kinds(es).sort()).toEqual(
      [
        'client inbound response',
        'client inbound response-body',
        'client outbound request',
        'server inbound request',
        'server outbound response',
        'server outbound response-body',
      ].sort(),
    )
    expect(new Set(es.map((e) => e.requestId))).toEqual(new Set(['gw-1']))
  })

  it('flushes and closes a trace log it built when it closes', async () => {
    const up = await upstream()
    const dir = mkdtempSync(join(tmpdir(), 'x-http-trace-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'client-trace.log')
    const c = new Client(up.url, { traceLog: { destination: { file } } })
    await (await c.get('/x')).text()
    await c.close()
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3)
  })

  it.each([
    { name: 'a string', value: 'trace' },
    { name: 'an unknown option', value: { verbose: true } },
    { name: 'a bad destination', value: { destination: { file: '' } } },
  ])('rejects traceLog with $name: X_ERR_CLIENT_INVALID_OPTION naming traceLog', ({ value }) => {
    let err: unknown
    try {
      new Client('http://127.0.0.1:1', { traceLog: value as never })
    } catch (e) {
      err = e
    }
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
    expect((err as { option?: string }).option).toBe('traceLog')
  })
})
