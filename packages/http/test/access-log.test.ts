import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { accessLog, isLoggingError } from '@x/logging'
import { afterEach, describe, expect, it } from 'vitest'
import {
  HttpError,
  HttpResponse,
  isHttpError,
  Listener,
  type ListenerOptions,
  type Service,
} from '../src/index.ts'
import { lines } from './helpers/lines.ts'
import { raw, type Served, serve } from './helpers/serve.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function served(
  services: Service | Service[],
  options: Partial<ListenerOptions> = {},
): Promise<Served> {
  const s = await serve(services, options)
  cleanups.push(() => s.close())
  return s
}

interface JsonLine {
  remote_addr: string
  method: string
  uri: string
  protocol: string
  status: number
  body_bytes_sent: number
  request_body_bytes: number
  http_user_agent: string | null
  duration_ms: number
  request_id: string | null
  aborted: boolean
}

const PAYLOAD = 'x'.repeat(1000)

const service: Service = {
  resources: [
    { methods: ['GET'], path: '/json', handler: () => ({ hello: 'world' }) },
    { methods: ['POST'], path: '/echo', body: 'text', handler: (ctx) => ctx.body },
    { methods: ['POST'], path: '/ignore', handler: () => 'ignored' },
    { methods: ['GET'], path: '/empty', handler: () => new HttpResponse({ status: 204 }) },
    { methods: ['GET'], path: '/stream', handler: () => Readable.from(['abc', 'defg', PAYLOAD]) },
    {
      methods: ['GET'],
      path: '/collected',
      chunking: 'NEVER',
      handler: () => Readable.from(['abc', 'defg']),
    },
    { methods: ['GET'], path: '/chunked', chunking: 'ALWAYS', handler: () => 'chunky' },
    {
      methods: ['GET'],
      path: '/fail',
      handler: () => {
        throw new HttpError(418, 'teapot')
      },
    },
    {
      methods: ['GET'],
      path: '/crash',
      handler: () => {
        throw new Error('boom')
      },
    },
  ],
}

describe('Listener access log', () => {
  it.each([
    { name: 'a JSON value', method: 'GET', path: '/json', status: 200, bytes: 17 },
    { name: 'a POSTed text body', method: 'POST', path: '/echo', body: 'hello', status: 201, bytes: 5 },
    { name: 'a 204', method: 'GET', path: '/empty', status: 204, bytes: 0 },
    { name: 'a streamed body', method: 'GET', path: '/stream', status: 200, bytes: 1007 },
    {
      name: 'a stream collected for Content-Length',
      method: 'GET',
      path: '/collected',
      status: 200,
      bytes: 7,
    },
    { name: 'a chunked body of known size', method: 'GET', path: '/chunked', status: 200, bytes: 6 },
    { name: 'HEAD (no body goes out)', method: 'HEAD', path: '/json', status: 200, bytes: 0 },
    { name: 'HEAD of a stream', method: 'HEAD', path: '/stream', status: 200, bytes: 0 },
  ])(
    'logs the status sent and the body bytes written for $name',
    async ({ method, path, body, status, bytes }) => {
      const log = lines()
      const s = await served(service, { accessLog: { format: 'json', destination: { stream: log.stream } } })
      const res = await s.fetch(path, { method, ...(body === undefined ? {} : { body }) })
      expect(res.status).toBe(status)
      if (method !== 'HEAD' && status !== 204) expect(Buffer.byteLength(res.text)).toBe(bytes)
      await log.waitFor(1)
      expect(log.json<JsonLine>()[0]).toMatchObject({
        method,
        uri: path,
        protocol: 'HTTP/1.1',
        status,
        body_bytes_sent: bytes,
        request_body_bytes: body === undefined ? 0 : Buffer.byteLength(body),
        aborted: false,
        remote_addr: '127.0.0.1',
      })
    },
  )

  it('logs error answers with their status and problem-body size: 404, 405, 418, 500', async () => {
    const log = lines()
    const s = await served(service, { accessLog: { format: 'json', destination: { stream: log.stream } } })
    const sizes: number[] = []
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/json'],
      ['GET', '/fail'],
      ['GET', '/crash'],
    ] as const) {
      sizes.push(Buffer.byteLength((await s.fetch(path, { method })).text))
    }
    await log.waitFor(4)
    const got = log.json<JsonLine>()
    expect(got.map((l) => l.status)).toEqual([404, 405, 418, 500])
    expect(got.map((l) => l.body_bytes_sent)).toEqual(sizes)
    expect(sizes.every((n) => n > 0)).toBe(true)
  })

  it('writes nginx combined lines byte for byte, escaping a quote and non-ASCII bytes in the user agent', async () => {
    const log = lines()
    const s = await served(service, { accessLog: { destination: { stream: log.stream } } })
    const ua = Buffer.from('agent "q" caf\u00c3\u00a9', 'latin1') // é sent as its two UTF-8 bytes
    const response = await raw(s.port, [
      'GET /json?a=1 HTTP/1.1\r\nHost: x\r\nReferer: http://ref.example/\r\nConnection: close\r\nUser-Agent: ',
      ua,
      '\r\n\r\n',
    ])
    expect(response.startsWith('HTTP/1.1 200')).toBe(true)
    const [line] = await log.waitFor(1)
    expect(line).toMatch(
      /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/json\?a=1 HTTP\/1\.1" 200 17 "http:\/\/ref\.example\/" "agent \\x22q\\x22 caf\\xC3\\xA9"$/,
    )
  })

  it('counts request body bytes after de-chunking, also when the resource never reads the body', async () => {
    const log = lines()
    const s = await served(service, { accessLog: { format: 'json', destination: { stream: log.stream } } })
    await raw(
      s.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n',
    )
    await raw(
      s.port,
      'POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    )
    await log.waitFor(2)
    expect(
      log.json<JsonLine>().map((l) => [l.uri, l.status, l.request_body_bytes, l.body_bytes_sent]),
    ).toEqual([
      ['/echo', 201, 7, 7],
      ['/ignore', 201, 5, 7],
    ])
  })

  it('logs a client that goes away mid-response: aborted, the status sent, no more bytes than went out', async () => {
    const log = lines()
    let pushed = 0
    const s = await served(
      {
        resources: [
          {
            methods: ['GET'],
            path: '/endless',
            // A body that never ends: 16 KiB each time the writer asks for more.
            handler: () =>
              new Readable({
                read() {
                  pushed += 16_384
                  this.push(Buffer.alloc(16_384, 0x61))
                },
              }),
          },
        ],
      },
      { accessLog: { format: 'json', destination: { stream: log.stream } } },
    )
    const received = await new Promise<number>((resolve) => {
      const socket = connect(s.port, '127.0.0.1')
      let n = 0
      socket.on('data', (d: Buffer) => {
        n += d.length
        if (n > 100_000) socket.destroy()
      })
      socket.on('close', () => resolve(n))
      socket.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    await log.waitFor(1)
    const [line] = log.json<JsonLine>()
    expect(line).toMatchObject({ status: 200, aborted: true })
    expect(line!.body_bytes_sent).toBeGreaterThan(0)
    expect(line!.body_bytes_sent).toBeLessThanOrEqual(pushed)
    expect(received).toBeGreaterThan(100_000)
  })

  it('logs 499 for a client gone before any status was sent', async () => {
    const log = lines()
    let reached: () => void = () => {}
    const inHandler = new Promise<void>((r) => {
      reached = r
    })
    const s = await served(
      {
        resources: [
          {
            methods: ['GET'],
            path: '/wait',
            handler: (ctx) =>
              new Promise((resolve) => {
                reached()
                ctx.signal.addEventListener('abort', () => resolve('too late'))
              }),
          },
        ],
      },
      { accessLog: { format: 'json', destination: { stream: log.stream } } },
    )
    const socket = connect(s.port, '127.0.0.1')
    socket.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n')
    await inHandler
    socket.destroy()
    await log.waitFor(1)
    expect(log.json<JsonLine>()[0]).toMatchObject({ status: 499, aborted: true, body_bytes_sent: 0 })
  })

  it('logs requests the pipeline refuses before any filter runs', async () => {
    const log = lines()
    const s = await served(service, { accessLog: { format: 'json', destination: { stream: log.stream } } })
    await raw(s.port, 'GET /json HTTP/1.1\r\nConnection: close\r\n\r\n') // no Host
    await log.waitFor(1)
    expect(log.json<JsonLine>()[0]).toMatchObject({ status: 400, uri: '/json' })
  })

  it('puts the request id in JSON lines, the same one the response echoes', async () => {
    const log = lines()
    const s = await served(service, {
      requestId: { echo: true },
      accessLog: { format: 'json', destination: { stream: log.stream } },
    })
    const res = await s.fetch('/json')
    await log.waitFor(1)
    const [line] = log.json<JsonLine>()
    expect(line!.request_id).toBe(res.headers['x-request-id'])
    expect(line!.duration_ms).toBeGreaterThanOrEqual(0)
  })

  it("logs the target as received, and Ballerina's attribute format", async () => {
    const log = lines()
    const s = await served(service, {
      accessLog: {
        format: ['ip', 'request_method', 'request_uri', 'status', 'response_body_size', 'request_id'],
        destination: { stream: log.stream },
      },
    })
    await raw(
      s.port,
      'GET http://x/json?q=1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-1\r\nConnection: close\r\n\r\n',
    )
    const [line] = await log.waitFor(1)
    expect(line).toBe('127.0.0.1 GET http://x/json?q=1 200 17 abc-1')
  })

  it('writes the file it opened, and closes it on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-http-access-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'logs', 'access.log')
    const listener = new Listener({ port: 0, host: '127.0.0.1', accessLog: { destination: { file } } })
    listener.attach(service)
    await listener.start()
    for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${listener.port}/json`)).text()
    await listener.gracefulStop()
    const text = readFileSync(file, 'utf8')
    expect(text.split('\n')).toHaveLength(4)
    expect(text).toContain('"GET /json HTTP/1.1" 200 17')
  })

  it('leaves a log it was given open, for the caller to close', async () => {
    const log = lines()
    const shared = accessLog({ destination: { stream: log.stream } })
    const s = await served(service, { accessLog: shared })
    await s.fetch('/json')
    await s.close()
    // Still open after the Listener stopped: a line written now is kept, not dropped.
    shared.log({
      remoteAddress: '10.0.0.1',
      method: 'GET',
      target: '/after',
      protocol: 'HTTP/1.1',
      headers: {},
      status: 200,
      bodyBytes: 0,
      requestBodyBytes: 0,
      startTime: Date.now(),
      durationMs: 1,
      requestId: undefined,
      aborted: false,
    })
    expect(shared.stats()).toEqual({ written: 2, dropped: 0 })
    expect(log.lines[1]).toContain('"GET /after HTTP/1.1" 200 0')
    await shared.close()
  })

  it('fails start() with X_ERR_HTTP_LISTEN_FAILED when the log file cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-http-access-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const blocker = join(dir, 'not-a-dir')
    writeFileSync(blocker, '')
    const listener = new Listener({
      port: 0,
      host: '127.0.0.1',
      accessLog: { destination: { file: join(blocker, 'access.log'), mkdir: false } },
    })
    const err = await listener.start().catch((e: unknown) => e)
    expect(isHttpError(err, 'X_ERR_HTTP_LISTEN_FAILED')).toBe(true)
    expect(isLoggingError((err as Error).cause, 'X_ERR_LOGGING_DESTINATION_FAILED')).toBe(true)
  })

  it('keeps answering when the log destination throws, and reports it', async () => {
    const s = await served(service, {
      accessLog: {
        destination: {
          stream: {
            write() {
              throw new Error('disk on fire')
            },
          },
        },
      },
    })
    const res = await s.fetch('/json')
    expect(res.status).toBe(200)
    expect((await s.fetch('/json')).status).toBe(200)
    expect(s.logger.errors.length).toBeGreaterThanOrEqual(2)
  })

  it.each([
    { name: 'an unknown format', accessLog: { format: 'apache' } },
    { name: 'an unknown destination', accessLog: { destination: 'syslog' } },
    { name: 'an unknown option', accessLog: { level: 'info' } },
    { name: 'a string', accessLog: 'combined' },
  ])('rejects accessLog with $name: X_ERR_HTTP_INVALID_OPTION', ({ accessLog: value }) => {
    let err: unknown
    try {
      new Listener({ port: 0, accessLog: value as never })
    } catch (e) {
      err = e
    }
    expect(isHttpError(err, 'X_ERR_HTTP_INVALID_OPTION')).toBe(true)
  })

  it('passes @x/logging option errors on as the cause', () => {
    let err: unknown
    try {
      new Listener({ port: 0, accessLog: { format: ['ip', 'no_such_attribute' as never] } })
    } catch (e) {
      err = e
    }
    expect(isLoggingError((err as Error).cause, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
  })
})
