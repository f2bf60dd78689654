import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, readFileSync, rmSync, watch } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { type AccessLog, type AccessRecord, accessLog, isLoggingError } from '../src/index.ts'
import { capture } from './helpers/capture.ts'
import { rawExchange, readThenVanish } from './helpers/raw.ts'

// One combined line, field by field. nginx's escaping leaves no bare quote inside a field.
const COMBINED =
  /^(\S+) - (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/

function parseCombined(line: string) {
  const m = COMBINED.exec(line)
  if (m === null) throw new Error(`not a combined line: ${line}`)
  const [, addr, user, time, req, status, bytes, referer, agent] = m
  return { addr, user, time, request: req, status: Number(status), bytes: Number(bytes), referer, agent }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function serve(log: AccessLog, handler: Handler): Promise<Listening & { dispatcher: Agent }> {
  const server = createServer((req, res) => {
    log.attach(req, res, req.headers['x-request-id'] as string | undefined)
    handler(req, res)
  })
  const l = await listen(server)
  cleanups.push(async () => {
    await l.drained()
    await l.close()
  })
  // Closed before the server (cleanups run in reverse), so no keep-alive socket is left open.
  const dispatcher = new Agent()
  cleanups.push(() => dispatcher.close())
  return Object.assign(l, { dispatcher })
}

/** A record with the given target; other fields as a plain GET. */
function record(target: string): AccessRecord {
  return {
    remoteAddress: '10.0.0.1',
    method: 'GET',
    target,
    protocol: 'HTTP/1.1',
    headers: {},
    status: 200,
    bodyBytes: 0,
    requestBodyBytes: 0,
    startTime: Date.now(),
    durationMs: 1,
    requestId: undefined,
    aborted: false,
  }
}

/** Resolves at the next change to `file` (a write reaching it). */
function fileChanged(file: string): Promise<void> {
  return new Promise((resolve) => {
    const w = watch(file, () => {
      w.close()
      resolve()
    })
  })
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'x-logging-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('accessLog to a file', () => {
  it('writes nginx combined lines asynchronously, one per request, with the status and bytes sent', async () => {
    const file = join(tmp(), 'sub', 'access.log')
    const log = accessLog({ destination: { file } })
    cleanups.push(() => log.close())
    await log.ready()
    const l = await serve(log, (req, res) => {
      if (req.url === '/missing') {
        res.statusCode = 404
        res.end('no such thing')
      } else res.end('hello')
    })
    const started = Date.now()
    for (const path of ['/a?x=1', '/missing']) {
      const r = await request(`${l.url}${path}`, {
        dispatcher: l.dispatcher,
        headers: { 'user-agent': 'test-agent/1.0', referer: 'http://example.test/from' },
      })
      await r.body.text()
    }
    await log.flush()
    const lines = readFileSync(file, 'utf8').split('\n')
    expect(lines.pop()).toBe('')
    expect(lines).toHaveLength(2)
    const [a, b] = lines.map(parseCombined)
    expect(a).toMatchObject({
      addr: expect.stringMatching(/127\.0\.0\.1$/),
      user: '-',
      request: 'GET /a?x=1 HTTP/1.1',
      status: 200,
      bytes: 5,
      referer: 'http://example.test/from',
      agent: 'test-agent/1.0',
    })
    expect(b).toMatchObject({ request: 'GET /missing HTTP/1.1', status: 404, bytes: 13 })
    // $time_local is the time of the log write, to the second, in local time.
    const t = a!.time!
    const [, day, mon, year, hh, mm, ss] = /^(\d+)\/(\w+)\/(\d+):(\d+):(\d+):(\d+)/.exec(t)!
    const when = new Date(`${mon} ${day} ${year} ${hh}:${mm}:${ss}`).getTime()
    expect(when).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000)
    expect(when).toBeLessThanOrEqual(Date.now())
  })

  it('drops and counts lines beyond maxBufferBytes instead of growing memory', async () => {
    const file = join(tmp(), 'small.log')
    const log = accessLog({ format: ['request_uri'], destination: { file, maxBufferBytes: 100 } })
    await log.ready()
    const record = (target: string) => ({
      remoteAddress: undefined,
      method: 'GET',
      target,
      protocol: 'HTTP/1.1',
      headers: {},
      status: 200,
      bodyBytes: 0,
      requestBodyBytes: 0,
      startTime: Date.now(),
      durationMs: 0,
      requestId: undefined,
      aborted: false,
    })
    const drops: unknown[] = []
    const onDrop = (m: unknown) => drops.push(m)
    subscribe('x:logging:drop', onDrop)
    cleanups.push(() => {
      unsubscribe('x:logging:drop', onDrop)
    })
    log.log(record(`/${'x'.repeat(200)}`))
    await log.flush()
    expect(drops).toEqual([{ destination: file, reason: 'buffer-full', dropped: 1 }])
    log.log(record('/short'))
    await log.close()
    expect(log.stats()).toEqual({ written: 1, dropped: 1 })
    expect(readFileSync(file, 'utf8')).toBe('/short\n')
  })

  it('holds lines for flushIntervalMs and writes them together', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    cleanups.push(() => {
      vi.useRealTimers()
    })
    const file = join(tmp(), 'batched.log')
    const log = accessLog({ format: ['request_uri'], destination: { file, flushIntervalMs: 250 } })
    cleanups.push(() => log.close())
    await log.ready()
    log.log(record('/a'))
    log.log(record('/b'))
    // A whole event-loop turn passes: nothing is written before the interval.
    await new Promise((resolve) => setImmediate(resolve))
    expect(readFileSync(file, 'utf8')).toBe('')
    const written = fileChanged(file)
    vi.advanceTimersByTime(250)
    await written
    await log.flush()
    expect(readFileSync(file, 'utf8')).toBe('/a\n/b\n')
  })

  it('writes at once, whatever the interval, when 64 KiB of lines are waiting', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    cleanups.push(() => {
      vi.useRealTimers()
    })
    const file = join(tmp(), 'full.log')
    const log = accessLog({ format: ['request_uri'], destination: { file, flushIntervalMs: 60_000 } })
    cleanups.push(() => log.close())
    await log.ready()
    const written = fileChanged(file)
    const target = `/${'x'.repeat(1023)}`
    for (let i = 0; i < 64; i++) log.log(record(target))
    await written
    await log.flush()
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(65)
  })

  it('writes once per event-loop turn with flushIntervalMs: 0', async () => {
    const file = join(tmp(), 'turn.log')
    const log = accessLog({ format: ['request_uri'], destination: { file, flushIntervalMs: 0 } })
    cleanups.push(() => log.close())
    await log.ready()
    const written = fileChanged(file)
    log.log(record('/now'))
    await written
    await log.flush()
    expect(readFileSync(file, 'utf8')).toBe('/now\n')
  })

  it('rejects ready() with X_ERR_LOGGING_DESTINATION_FAILED when the file cannot be opened', async () => {
    const dir = tmp()
    const log = accessLog({ destination: { file: join(dir, 'x', 'a.log'), mkdir: false } })
    const err = await log.ready().catch((e: unknown) => e)
    expect(isLoggingError(err, 'X_ERR_LOGGING_DESTINATION_FAILED')).toBe(true)
    await log.close()
  })
})

describe('accessLog fields', () => {
  it('escapes a quote, a backslash, a tab and non-ASCII bytes in the user agent as nginx does', async () => {
    const cap = capture()
    const log = accessLog({ destination: { stream: cap.stream } })
    const l = await serve(log, (_req, res) => res.end('ok'))
    const agent = Buffer.concat([
      Buffer.from('Mozilla "quoted" back\\slash\ttab '),
      Buffer.from([0xe9, 0x20, 0xc3, 0xa9]), // a latin1 é, then a UTF-8 é
    ])
    const req = Buffer.concat([
      Buffer.from('GET /p?q="x" HTTP/1.1\r\nHost: a\r\nConnection: close\r\nUser-Agent: '),
      agent,
      Buffer.from('\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n'),
    ])
    await rawExchange(l.port, req)
    const [line] = await cap.waitFor(1)
    const f = parseCombined(line!)
    expect(f.agent).toBe('Mozilla \\x22quoted\\x22 back\\x5Cslash\\x09tab \\xE9 \\xC3\\xA9')
    expect(f.request).toBe('GET /p?q=\\x22x\\x22 HTTP/1.1')
    expect(f.user).toBe('user')
    expect(f.referer).toBe('-')
    expect(line).toBe(
      `${f.addr} - user [${f.time}] "GET /p?q=\\x22x\\x22 HTTP/1.1" 200 2 "-" "Mozilla \\x22quoted\\x22 back\\x5Cslash\\x09tab \\xE9 \\xC3\\xA9"`,
    )
  })

  it('counts only the body bytes written before the client went away mid-response', async () => {
    const cap = capture()
    const log = accessLog({ destination: { stream: cap.stream } })
    let lateWrite: Promise<Error | null | undefined> | undefined
    const l = await serve(log, (_req, res) => {
      res.writeHead(200, { 'content-length': '5000' })
      res.write(Buffer.alloc(1000, 97))
      res.on('close', () => {
        // A write after the client left is refused and must not be counted.
        lateWrite = new Promise((resolve) => res.write(Buffer.alloc(500, 98), (err) => resolve(err)))
      })
    })
    const { head, body } = await readThenVanish(l.port, 'GET /big HTTP/1.1\r\nHost: a\r\n\r\n', 1000)
    expect(head).toMatch(/^HTTP\/1.1 200/)
    expect(body.length).toBe(1000)
    const [line] = await cap.waitFor(1)
    expect(parseCombined(line!)).toMatchObject({ status: 200, bytes: 1000 })
    expect(await lateWrite).toBeInstanceOf(Error)
    await l.drained()
  })

  it('logs 499 and 0 bytes when the client goes away before any response', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    let arrived!: () => void
    const seen = new Promise<void>((r) => {
      arrived = r
    })
    const l = await serve(log, () => arrived())
    const socket = (await import('node:net')).connect(l.port, '127.0.0.1')
    socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await seen
    socket.resetAndDestroy()
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ status: 499, body_bytes_sent: 0, aborted: true, uri: '/slow' })
  })

  it('counts chunked response writes without their framing and calls the caller callbacks', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const callbacks: Array<Error | null | undefined> = []
    const l = await serve(log, (_req, res) => {
      res.write('héllo ', (err) => callbacks.push(err))
      res.write(Buffer.alloc(70000, 1), (err) => {
        callbacks.push(err)
        res.end('end', 'latin1')
      })
    })
    const r = await request(`${l.url}/chunked`, { dispatcher: l.dispatcher })
    const got = Buffer.from(await r.body.arrayBuffer())
    expect(got.length).toBe(7 + 70000 + 3)
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ body_bytes_sent: 70010, aborted: false })
    expect(callbacks).toHaveLength(2)
    expect(callbacks.every((e) => e == null)).toBe(true)
  })

  it.each([
    { name: 'HEAD', method: 'HEAD', status: 200 },
    { name: '204', method: 'GET', status: 204 },
    { name: '304', method: 'GET', status: 304 },
  ])('counts no body bytes for $name, whose body node:http drops', async ({ method, status }) => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const l = await serve(log, (_req, res) => {
      res.statusCode = status
      res.write('ignored')
      res.end('also ignored')
    })
    const r = await request(l.url, { dispatcher: l.dispatcher, method })
    await r.body.dump()
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ status, body_bytes_sent: 0 })
  })

  it('counts request body bytes exactly, for Content-Length and chunked uploads', async () => {
    const cap = capture()
    const log = accessLog({
      format: ['request_method', 'request_body_size', 'response_body_size'],
      destination: { stream: cap.stream },
    })
    const l = await serve(log, (req, res) => {
      req.resume()
      req.on('end', () => res.end('done'))
    })
    await (
      await request(l.url, { dispatcher: l.dispatcher, method: 'POST', body: 'x'.repeat(12345) })
    ).body.dump()
    const chunks = ['abc', 'defgh', 'é'.repeat(100)]
    await (
      await request(l.url, {
        dispatcher: l.dispatcher,
        method: 'PUT',
        body: Readable.from(chunks),
      })
    ).body.dump()
    const lines = await cap.waitFor(2)
    expect(lines).toEqual(['POST 12345 4', `PUT ${3 + 5 + 200} 4`])
  })

  it('counts the request bytes received before the client aborted an upload', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    let received = 0
    let gotSome!: () => void
    const some = new Promise<void>((r) => {
      gotSome = r
    })
    const l = await serve(log, (req) => {
      req.on('data', (d: Buffer) => {
        received += d.length
        if (received >= 3000) gotSome()
      })
      req.on('error', () => {})
    })
    const socket = (await import('node:net')).connect(l.port, '127.0.0.1')
    socket.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(3000)}`)
    await some
    socket.resetAndDestroy()
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!)).toMatchObject({ request_body_bytes: 3000, status: 499, aborted: true })
  })

  it('logs pipelined requests on one connection in order, each with its own bytes', async () => {
    const cap = capture()
    const log = accessLog({
      format: ['request_uri', 'status', 'response_body_size'],
      destination: { stream: cap.stream },
    })
    const l = await serve(log, (req, res) => {
      res.end(req.url === '/one' ? '1' : '22')
    })
    await rawExchange(
      l.port,
      'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    )
    expect(await cap.waitFor(2)).toEqual(['/one 200 1', '/two 200 2'])
  })

  it('ties the JSON line to the request id and reports protocol and duration', async () => {
    const cap = capture()
    const log = accessLog({ format: 'json', destination: { stream: cap.stream } })
    const l = await serve(log, (_req, res) => res.end('{}'))
    await (
      await request(`${l.url}/j`, { dispatcher: l.dispatcher, headers: { 'x-request-id': 'req-42' } })
    ).body.dump()
    const [line] = await cap.waitFor(1)
    const j = JSON.parse(line!)
    expect(j).toMatchObject({
      level: 30,
      protocol: 'HTTP/1.1',
      request_id: 'req-42',
      method: 'GET',
      uri: '/j',
      status: 200,
    })
    expect(typeof j.duration_ms).toBe('number')
    expect(j.duration_ms).toBeGreaterThanOrEqual(0)
    expect(typeof j.time).toBe('number')
  })

  it('writes a record the caller built through log(), in every format', async () => {
    const cap = capture()
    const log = accessLog({ format: 'common', destination: { stream: cap.stream } })
    const record: AccessRecord = {
      remoteAddress: '10.0.0.1',
      method: 'GET',
      target: '/stream',
      protocol: 'HTTP/2.0',
      headers: {},
      status: 200,
      bodyBytes: 42,
      requestBodyBytes: 0,
      startTime: Date.now(),
      durationMs: 1.5,
      requestId: undefined,
      aborted: false,
    }
    log.log(record)
    const [line] = await cap.waitFor(1)
    expect(line).toMatch(/^10\.0\.0\.1 - - \[[^\]]+\] "GET \/stream HTTP\/2\.0" 200 42$/)
    expect(log.format(record)).toBe(line)
  })

  it('drops and counts lines written after close()', async () => {
    const cap = capture()
    const log = accessLog({ destination: { stream: cap.stream } })
    const l = await serve(log, (_req, res) => res.end('x'))
    await (await request(l.url, { dispatcher: l.dispatcher })).body.dump()
    await cap.waitFor(1)
    await log.close()
    await (await request(l.url, { dispatcher: l.dispatcher })).body.dump()
    await l.close().catch(() => {})
    expect(cap.lines).toHaveLength(1)
    expect(log.stats()).toEqual({ written: 1, dropped: 1 })
  })
})

describe('accessLog timed', () => {
  it.each([
    { name: 'combined', format: 'combined', timed: false },
    { name: 'common', format: 'common', timed: false },
    { name: 'json', format: 'json', timed: true },
    { name: 'attributes without times', format: ['ip', 'status'], timed: false },
    { name: 'attributes with request_time', format: ['ip', 'request_time'], timed: true },
    {
      name: 'json-style attributes with date_time',
      format: { attributes: ['date_time'], style: 'json' },
      timed: true,
    },
  ])('says whether $name reads durations or arrival times: $timed', ({ format, timed }) => {
    const log = accessLog({ format: format as never, destination: { stream: { write() {} } } })
    cleanups.push(() => log.close())
    expect(log.timed).toBe(timed)
  })
})

describe('accessLog options', () => {
  it.each([
    { name: 'unknown format', options: { format: 'apache' } },
    { name: 'empty attribute list', options: { format: [] } },
    { name: 'unknown attribute', options: { format: ['ip', 'nope'] } },
    { name: 'repeated attribute', options: { format: ['ip', 'ip'] } },
    { name: 'bad header attribute', options: { format: ['http_'] } },
    { name: 'bad style', options: { format: { attributes: ['ip'], style: 'xml' } } },
    { name: 'bad destination', options: { destination: 'stdout' } },
    { name: 'empty file', options: { destination: { file: '' } } },
    { name: 'file with NUL', options: { destination: { file: 'a\0b' } } },
    { name: 'non-boolean sync', options: { destination: { file: '/tmp/x.log', sync: 'yes' } } },
    { name: 'zero buffer', options: { destination: { file: '/tmp/x.log', maxBufferBytes: 0 } } },
    {
      name: 'negative flush interval',
      options: { destination: { file: '/tmp/x.log', flushIntervalMs: -1 } },
    },
    {
      name: 'flush interval over a minute',
      options: { destination: { file: '/tmp/x.log', flushIntervalMs: 60_001 } },
    },
    {
      name: 'string flush interval',
      options: { destination: { file: '/tmp/x.log', flushIntervalMs: '1s' } },
    },
    { name: 'unknown signal', options: { destination: { file: '/tmp/x.log', reopenOnSignal: 'SIGNOPE' } } },
    {
      name: 'uncatchable signal',
      options: { destination: { file: '/tmp/x.log', reopenOnSignal: 'SIGKILL' } },
    },
    { name: 'stream without write', options: { destination: { stream: {} } } },
    { name: 'socket for an access log', options: { destination: { host: '127.0.0.1', port: 9 } } },
    { name: 'unknown option', options: { fromat: 'json' } },
  ])('rejects $name with X_ERR_LOGGING_INVALID_OPTION', ({ options }) => {
    let err: unknown
    try {
      accessLog(options as never)
    } catch (e) {
      err = e
    }
    expect(isLoggingError(err, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
  })
})
