// Server-Sent Events: the Listener's encoder and stream (flush per event, heartbeat, iterator
// returned when the client leaves or the Listener stops), the client's spec-exact parser
// (against a reference on random chunkings), and client.sse() reconnecting with Last-Event-ID.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import fc from 'fast-check'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import { EventStream, type SseConnect } from '../src/client/event-stream.ts'
import { EventStreamParser, type SseEvent } from '../src/client/sse-parser.ts'
import { Client, type Context, HttpResponse, isClientError, Listener, type Service } from '../src/index.ts'
import { encodeEvent } from '../src/listener/sse.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served | undefined
let client: Client | undefined
let agent = new Agent()
afterEach(async () => {
  await client?.close()
  client = undefined
  await agent.close()
  agent = new Agent()
  await server?.close()
  server = undefined
})

/** Resolves when `signal` aborts: what a generator awaits so that it ends when the client leaves. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

/** A gate a test opens to let a generator go on. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

function parseAll(
  text: string,
  chunks?: number[],
): { events: SseEvent[]; retries: number[]; lastEventId: string } {
  const events: SseEvent[] = []
  const retries: number[] = []
  const parser = new EventStreamParser(
    '',
    (e) => events.push(e),
    (ms) => retries.push(ms),
    1_000_000,
  )
  const bytes = Buffer.from(text)
  if (chunks === undefined) parser.push(bytes)
  else {
    let at = 0
    for (const size of chunks) {
      parser.push(bytes.subarray(at, at + size))
      at += size
    }
    parser.push(bytes.subarray(at))
  }
  parser.end()
  return { events, retries, lastEventId: parser.lastEventId }
}

describe('encodeEvent', () => {
  it.each([
    { name: 'a string as data', event: 'hello', wire: 'data: hello\n\n' },
    { name: 'data with LF', event: { data: 'a\nb' }, wire: 'data: a\ndata: b\n\n' },
    { name: 'data with CRLF and CR', event: { data: 'a\r\nb\rc' }, wire: 'data: a\ndata: b\ndata: c\n\n' },
    { name: 'a trailing newline', event: { data: 'a\n' }, wire: 'data: a\ndata: \n\n' },
    { name: 'empty data', event: { data: '' }, wire: 'data: \n\n' },
    { name: 'an object as JSON', event: { data: { n: 1 } }, wire: 'data: {"n":1}\n\n' },
    {
      name: 'every field',
      event: { comment: 'c', event: 'tick', id: '7', retry: 1500, data: 'x' },
      wire: ': c\nevent: tick\nid: 7\nretry: 1500\ndata: x\n\n',
    },
    { name: 'a numeric id', event: { id: 42, data: 'x' }, wire: 'id: 42\ndata: x\n\n' },
    { name: 'an empty id (resets it)', event: { id: '', data: 'x' }, wire: 'id: \ndata: x\n\n' },
    { name: 'a comment alone', event: { comment: 'keep\nalive' }, wire: ': keep\n: alive\n\n' },
    { name: 'data starting with a space', event: { data: ' x' }, wire: 'data:  x\n\n' },
  ])('encodes $name', ({ event, wire }) => {
    expect(encodeEvent(event)).toBe(wire)
  })

  it.each([
    { name: 'an event type with LF', event: { event: 'a\nb', data: 'x' } },
    { name: 'an event type with CR', event: { event: 'a\rb', data: 'x' } },
    { name: 'an id with NUL', event: { id: 'a\0b', data: 'x' } },
    { name: 'an id with LF', event: { id: 'a\nb', data: 'x' } },
    { name: 'a negative retry', event: { retry: -1 } },
    { name: 'a fractional retry', event: { retry: 1.5 } },
    { name: 'a number as the event', event: 42 },
    { name: 'null', event: null },
    { name: 'data that does not serialise', event: { data: () => 1 } },
  ])('refuses $name with X_ERR_HTTP_INVALID_EVENT', ({ event }) => {
    expect(() => encodeEvent(event)).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_EVENT' }))
  })

  it('round-trips any event through the client parser', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 })
    fc.assert(
      fc.property(
        fc.record({
          data: text,
          event: fc.option(
            text.filter((s) => !/[\r\n]/.test(s) && s.length > 0),
            { nil: undefined },
          ),
          id: fc.option(
            text.filter((s) => !/[\r\n\0]/.test(s)),
            { nil: undefined },
          ),
        }),
        (ev) => {
          const wire = encodeEvent(ev)
          const { events } = parseAll(wire)
          expect(events).toEqual([
            {
              event: ev.event ?? 'message',
              data: ev.data.replace(/\r\n|\r/g, '\n'),
              id: ev.id ?? '',
            },
          ])
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('the client parser', () => {
  it.each([
    { name: 'a simple event', wire: 'data: hi\n\n', events: [{ event: 'message', data: 'hi', id: '' }] },
    { name: 'a leading BOM', wire: '\uFEFFdata: hi\n\n', events: [{ event: 'message', data: 'hi', id: '' }] },
    { name: 'only the first BOM dropped', wire: '\uFEFF\uFEFFdata: hi\n\n', events: [] },
    {
      name: 'CRLF line ends',
      wire: 'data: a\r\ndata: b\r\n\r\n',
      events: [{ event: 'message', data: 'a\nb', id: '' }],
    },
    {
      name: 'CR line ends',
      wire: 'data: a\rdata: b\r\r',
      events: [{ event: 'message', data: 'a\nb', id: '' }],
    },
    {
      name: 'mixed line ends',
      wire: 'data: a\r\ndata: b\rdata: c\n\n',
      events: [{ event: 'message', data: 'a\nb\nc', id: '' }],
    },
    {
      name: 'no space after the colon',
      wire: 'data:x\n\n',
      events: [{ event: 'message', data: 'x', id: '' }],
    },
    {
      name: 'only one space removed',
      wire: 'data:  x\n\n',
      events: [{ event: 'message', data: ' x', id: '' }],
    },
    {
      name: 'a field name alone (empty value)',
      wire: 'data\n\n',
      events: [{ event: 'message', data: '', id: '' }],
    },
    {
      name: 'a named event type',
      wire: 'event: tick\ndata: 1\n\n',
      events: [{ event: 'tick', data: '1', id: '' }],
    },
    {
      name: 'an empty event type as message',
      wire: 'event:\ndata: 1\n\n',
      events: [{ event: 'message', data: '1', id: '' }],
    },
    {
      name: 'the event type reset after dispatch',
      wire: 'event: a\ndata: 1\n\ndata: 2\n\n',
      events: [
        { event: 'a', data: '1', id: '' },
        { event: 'message', data: '2', id: '' },
      ],
    },
    {
      name: 'comments ignored',
      wire: ': hello\ndata: x\n: bye\n\n',
      events: [{ event: 'message', data: 'x', id: '' }],
    },
    {
      name: 'unknown fields ignored',
      wire: 'foo: bar\ndata: x\n\n',
      events: [{ event: 'message', data: 'x', id: '' }],
    },
    { name: 'no event without data', wire: 'event: a\nid: 3\n\n', events: [] },
    {
      name: 'an id kept for later events',
      wire: 'id: 1\ndata: a\n\ndata: b\n\n',
      events: [
        { event: 'message', data: 'a', id: '1' },
        { event: 'message', data: 'b', id: '1' },
      ],
    },
    {
      name: 'an id with NUL ignored',
      wire: 'id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n',
      events: [
        { event: 'message', data: 'a', id: '1' },
        { event: 'message', data: 'b', id: '1' },
      ],
    },
    {
      name: 'an empty id resetting it',
      wire: 'id: 1\ndata: a\n\nid\ndata: b\n\n',
      events: [
        { event: 'message', data: 'a', id: '1' },
        { event: 'message', data: 'b', id: '' },
      ],
    },
    {
      name: 'an unterminated event discarded',
      wire: 'data: a\n\ndata: b\n',
      events: [{ event: 'message', data: 'a', id: '' }],
    },
    { name: 'a field named with a space (not data)', wire: 'data : x\n\n', events: [] },
    {
      name: 'invalid UTF-8 replaced',
      wire: Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a]).toString('latin1'),
      events: [{ event: 'message', data: 'ÿ', id: '' }],
    },
  ])('reads $name', ({ wire, events }) => {
    expect(parseAll(wire).events).toEqual(events)
  })

  it('reads invalid UTF-8 bytes as U+FFFD', () => {
    const events: SseEvent[] = []
    const parser = new EventStreamParser(
      '',
      (e) => events.push(e),
      () => {},
      1000,
    )
    parser.push(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a]))
    expect(events).toEqual([{ event: 'message', data: '\uFFFD', id: '' }])
  })

  it.each([
    { name: 'digits', wire: 'retry: 1500\n', retries: [1500] },
    { name: 'zero', wire: 'retry: 0\n', retries: [0] },
    { name: 'a sign', wire: 'retry: +15\nretry: -15\n', retries: [] },
    { name: 'a decimal point', wire: 'retry: 1.5\n', retries: [] },
    { name: 'spaces', wire: 'retry:  15\nretry: 15 \n', retries: [] },
    { name: 'empty', wire: 'retry:\n', retries: [] },
    { name: 'non-ASCII digits', wire: 'retry: ١٢\n', retries: [] },
  ])('takes retry with $name only when it is ASCII digits', ({ wire, retries }) => {
    expect(parseAll(wire).retries).toEqual(retries)
  })

  it('reads a CRLF split across chunks as one line end', () => {
    expect(parseAll('data: a\r\n\r\n', [8]).events).toEqual([{ event: 'message', data: 'a', id: '' }])
    expect(parseAll('data: a\r\r\n', [8]).events).toEqual([{ event: 'message', data: 'a', id: '' }])
  })

  it('reads the same events however the bytes are split', () => {
    const wire =
      '\uFEFF: hi\r\nevent: a\rdata: ü1\r\ndata: 2\n\nid: 9\nretry: 5\ndata: €\r\r' +
      'data\n\ndata: tail\r\n\r\n'
    const whole = parseAll(wire)
    const length = Buffer.byteLength(wire)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: length }), { maxLength: 12 }), (cuts) => {
        const sorted = [...new Set(cuts)].sort((a, b) => a - b)
        const sizes = sorted.map((c, i) => c - (sorted[i - 1] ?? 0))
        expect(parseAll(wire, sizes)).toEqual(whole)
      }),
      { numRuns: 1_000 },
    )
  })

  it('throws past the size limit for a line or an event', () => {
    const p = new EventStreamParser(
      '',
      () => {},
      () => {},
      10,
    )
    expect(() => p.push(Buffer.from('data: 0123456789'))).toThrow()
    const q = new EventStreamParser(
      '',
      () => {},
      () => {},
      10,
    )
    expect(() => q.push(Buffer.from('data: 012\ndata: 345\ndata: 678\n'))).toThrow()
  })
})

/** A service that ticks `count` events with ids, then ends (or runs until the client leaves). */
function ticking(
  options: { count?: number; heartbeat?: number; onStart?: () => void; onEnd?: () => void } = {},
): Service {
  return {
    resources: [
      {
        methods: ['GET'],
        path: '/events',
        sse: { heartbeat: options.heartbeat ?? 0 },
        async *handler(ctx: Context) {
          try {
            options.onStart?.()
            const from = Number(ctx.headers['last-event-id'] ?? 0)
            for (let i = from + 1; i <= from + (options.count ?? 3); i++) {
              yield { id: String(i), event: 'tick', data: `tick ${i}\nsecond line` }
            }
            if (options.count === undefined) await aborted(ctx.signal)
          } finally {
            options.onEnd?.()
          }
        },
      },
    ],
  }
}

describe('the Listener streaming events', () => {
  it('streams text/event-stream with no-cache, each event as written', async () => {
    server = await serve(ticking({ count: 2 }))
    const res = await request(`${server.url}/events`, { dispatcher: agent })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/event-stream')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(await res.body.text()).toBe(
      'event: tick\nid: 1\ndata: tick 1\ndata: second line\n\n' +
        'event: tick\nid: 2\ndata: tick 2\ndata: second line\n\n',
    )
  })

  it('flushes the head and each event at once, never waiting for the next', async () => {
    const next = gate()
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: true,
          async *handler() {
            yield { data: 'first' }
            await next.opened
            yield { data: 'second' }
          },
        },
      ],
    })
    const res = await request(`${server.url}/events`, {
      dispatcher: agent,
      headers: { 'accept-encoding': 'gzip' },
    })
    const it = res.body[Symbol.asyncIterator]()
    expect(String((await it.next()).value)).toBe('data: first\n\n')
    next.open()
    expect(String((await it.next()).value)).toBe('data: second\n\n')
    expect((await it.next()).done).toBe(true)
  })

  it('sends a comment heartbeat after a silence', async () => {
    server = await serve(ticking({ heartbeat: 50 }))
    const res = await request(`${server.url}/events`, { dispatcher: agent })
    let text = ''
    for await (const chunk of res.body) {
      text += String(chunk)
      if (text.includes(':\n\n')) break
    }
    expect(text).toContain('id: 3\n')
    expect(text.endsWith(':\n\n')).toBe(true)
  })

  it('returns the iterator (its finally runs) when the client goes away', async () => {
    const ended = gate()
    server = await serve(ticking({ onEnd: ended.open }))
    const res = await request(`${server.url}/events`, { dispatcher: agent })
    const it = res.body[Symbol.asyncIterator]()
    await it.next()
    res.body.destroy()
    await ended.opened
    await server.drained()
  })

  it('returns a generator that never awaits the signal, as soon as it yields again', async () => {
    const ended = gate()
    const more = gate()
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: true,
          async *handler() {
            try {
              yield { data: 'one' }
              await more.opened
              yield { data: 'two' }
              yield { data: 'never sent' }
            } finally {
              ended.open()
            }
          },
        },
      ],
    })
    const res = await request(`${server.url}/events`, { dispatcher: agent })
    await res.body[Symbol.asyncIterator]().next()
    res.body.destroy()
    await server.drained()
    more.open()
    await ended.opened
  })

  it('answers HEAD with the event-stream head and no body, without starting the generator body', async () => {
    let started = false
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: true,
          async *handler() {
            started = true
            yield 'x'
          },
        },
      ],
    })
    const res = await request(`${server.url}/events`, { method: 'HEAD', dispatcher: agent })
    expect(res.headers['content-type']).toBe('text/event-stream')
    await res.body.dump()
    expect(started).toBe(false)
  })

  it('lets the handler answer otherwise: a 204 from an SSE resource tells the client to stop', async () => {
    server = await serve({
      resources: [
        { methods: ['GET'], path: '/events', sse: true, handler: () => new HttpResponse({ status: 204 }) },
      ],
    })
    const res = await request(`${server.url}/events`, { dispatcher: agent })
    expect(res.statusCode).toBe(204)
  })

  it('closes the connection (truncated stream) and logs when the iterator throws or yields a bad event', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/throws',
          sse: true,
          async *handler() {
            yield 'ok'
            throw new Error('boom')
          },
        },
        {
          methods: ['GET'],
          path: '/bad',
          sse: true,
          async *handler() {
            yield { event: 'a\nb', data: 'x' }
          },
        },
      ],
    })
    for (const path of ['/throws', '/bad']) {
      const res = await request(`${server.url}${path}`, { dispatcher: agent })
      await expect(res.body.text()).rejects.toThrow()
    }
    expect(server.logger.errors).toHaveLength(2)
  })

  it('ends every open stream on gracefulStop, so clients reconnect elsewhere', async () => {
    const ended = gate()
    const listener = new Listener({ port: 0, host: '127.0.0.1' })
    listener.attach(ticking({ onEnd: ended.open }))
    await listener.start()
    const res = await request(`http://127.0.0.1:${listener.port}/events`, { dispatcher: agent })
    const text = res.body.text()
    const stopped = listener.gracefulStop({ timeout: 10_000 })
    expect(await text).toContain('id: 3\n')
    await ended.opened
    await stopped
  })

  it('carries the CORS headers, so an EventSource on another origin can read it', async () => {
    server = await serve({ cors: { allowOrigins: ['http://app.example'] }, ...ticking({ count: 1 }) })
    const res = await request(`${server.url}/events`, {
      dispatcher: agent,
      headers: { origin: 'http://app.example' },
    })
    expect(res.headers['access-control-allow-origin']).toBe('http://app.example')
    await res.body.dump()
  })

  it.each([
    { name: 'a negative heartbeat', sse: { heartbeat: -1 } },
    { name: 'an unknown option', sse: { heartbeet: 5 } },
    { name: 'a string', sse: 'yes' },
  ])('refuses $name at attach', ({ sse }) => {
    const listener = new Listener({ port: 0 })
    expect(() =>
      listener.attach({ resources: [{ path: '/', sse, handler: () => 1 }] } as unknown as Service),
    ).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
  })
})

describe('client.sse()', () => {
  it('yields parsed events from the Listener and ends with the stream', async () => {
    server = await serve(ticking({ count: 3 }))
    client = new Client(server.url)
    const got: SseEvent[] = []
    for await (const e of client.sse('/events', { maxReconnects: 0 })) got.push(e)
    expect(got).toEqual(
      [1, 2, 3].map((i) => ({ event: 'tick', data: `tick ${i}\nsecond line`, id: String(i) })),
    )
  })

  it('reconnects after the server drops the connection, with Last-Event-ID, waiting the server retry', async () => {
    const seen: Array<string | undefined> = []
    let connections = 0
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: true,
          async *handler(ctx: Context) {
            connections++
            seen.push(ctx.headers['last-event-id'] as string | undefined)
            const from = Number(ctx.headers['last-event-id'] ?? 0)
            if (connections === 1) yield { retry: 20 }
            yield { id: String(from + 1), data: `n${from + 1}` }
            yield { id: String(from + 2), data: `n${from + 2}` }
            // The stream ends here: the client reconnects.
          },
        },
      ],
    })
    const reconnects: Array<{ attempt: number; delayMs: number; lastEventId: string }> = []
    const onReconnect = (m: unknown) => reconnects.push(m as (typeof reconnects)[number])
    subscribe('x:http:client:sse-reconnect', onReconnect)
    try {
      client = new Client(server.url)
      const stream = client.sse('/events')
      const data: string[] = []
      for await (const e of stream) {
        data.push(e.data)
        if (data.length === 6) break
      }
      expect(data).toEqual(['n1', 'n2', 'n3', 'n4', 'n5', 'n6'])
      expect(seen).toEqual([undefined, '2', '4'])
      expect(stream.retry).toBe(20)
      expect(stream.lastEventId).toBe('6')
      // The third stream's end may be seen before the loop breaks: the first two reconnections matter.
      expect(reconnects.slice(0, 2).map((r) => [r.attempt, r.delayMs, r.lastEventId])).toEqual([
        [1, 20, '2'],
        [1, 20, '4'],
      ])
      expect(stream.closed).toBe(true)
    } finally {
      unsubscribe('x:http:client:sse-reconnect', onReconnect)
    }
  })

  it('reconnects after the connection is destroyed mid-stream', async () => {
    let connections = 0
    const site = await listen(
      createServer((req: IncomingMessage, res: ServerResponse) => {
        connections++
        if (connections !== 3) res.writeHead(200, { 'content-type': 'text/event-stream' })
        if (connections === 1) {
          res.write('retry: 1\nid: a\ndata: first\n\ndata: half an ev')
          setImmediate(() => res.socket?.destroy())
          return
        }
        if (connections === 3) {
          res.writeHead(204).end()
          return
        }
        res.end(`id: b\ndata: after ${req.headers['last-event-id']}\n\n`)
      }),
    )
    try {
      client = new Client(site.url)
      const got: SseEvent[] = []
      for await (const e of client.sse('/', { maxReconnects: 1 })) got.push(e)
      expect(got).toEqual([
        { event: 'message', data: 'first', id: 'a' },
        { event: 'message', data: 'after a', id: 'b' },
      ])
      await client.close()
      client = undefined
      await site.drained()
    } finally {
      await site.close()
    }
  })

  it('gives up after maxReconnects failed attempts in a row with the connection error', async () => {
    const site = await listen(createServer())
    const url = site.url
    await site.close()
    client = new Client(url)
    const attempts: number[] = []
    const onReconnect = (m: unknown) => attempts.push((m as { attempt: number }).attempt)
    subscribe('x:http:client:sse-reconnect', onReconnect)
    try {
      const stream = client.sse('/events', { retry: 1, maxReconnects: 3 })
      await expect(stream.next()).rejects.toSatisfy((e) => isClientError(e, 'X_ERR_CLIENT_CONNECT_FAILED'))
      expect(attempts).toEqual([1, 2, 3])
      expect(await stream.next()).toEqual({ value: undefined, done: true })
    } finally {
      unsubscribe('x:http:client:sse-reconnect', onReconnect)
    }
  })

  it('sends lastEventId on the first connection and the headers given', async () => {
    let seen: IncomingMessage['headers'] | undefined
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: true,
          async *handler(ctx: Context) {
            seen = ctx.headers
            yield 'x'
          },
        },
      ],
    })
    client = new Client(server.url)
    for await (const _ of client.sse('/events', {
      lastEventId: 'ü-42',
      headers: { 'x-token': 't' },
      maxReconnects: 0,
    })) {
      // drain
    }
    expect(seen?.['last-event-id']).toBe(Buffer.from('ü-42').toString('latin1'))
    expect(seen?.accept).toBe('text/event-stream')
    expect(seen?.['cache-control']).toBe('no-cache')
    expect(seen?.['accept-encoding']).toBe('identity')
    expect(seen?.['x-token']).toBe('t')
  })

  it('closes the connection when the loop breaks, and the server returns its iterator', async () => {
    const ended = gate()
    server = await serve(ticking({ onEnd: ended.open }))
    client = new Client(server.url)
    for await (const e of client.sse('/events')) {
      expect(e.id).toBe('1')
      break
    }
    await ended.opened
  })

  it('ends on close() while a next() is pending', async () => {
    const ended = gate()
    const started = gate()
    server = await serve(ticking({ count: 0, onStart: started.open, onEnd: ended.open }))
    client = new Client(server.url)
    const stream = client.sse('/events')
    const pending = stream.next()
    await started.opened
    stream.close()
    expect(await pending).toEqual({ value: undefined, done: true })
    await ended.opened
  })

  it('rejects with X_ERR_CLIENT_ABORTED when its signal aborts', async () => {
    server = await serve(ticking({ count: 1 }))
    client = new Client(server.url)
    const ac = new AbortController()
    const stream = client.sse('/events', { signal: ac.signal })
    expect((await stream.next()).value?.data).toContain('tick 1')
    const pending = stream.next()
    ac.abort()
    await expect(pending).rejects.toSatisfy((e) => isClientError(e, 'X_ERR_CLIENT_ABORTED'))
  })

  it('stops without reconnecting on 204', async () => {
    let calls = 0
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          handler: () => {
            calls++
            return new HttpResponse({ status: 204 })
          },
        },
      ],
    })
    client = new Client(server.url)
    expect(await client.sse('/events', { retry: 1 }).next()).toEqual({ value: undefined, done: true })
    expect(calls).toBe(1)
  })

  it.each([
    { name: 'a 404', status: 404, type: 'application/problem+json' },
    { name: 'a 500', status: 500, type: 'text/event-stream' },
    { name: 'a 200 with another type', status: 200, type: 'application/json' },
  ])('fails with X_ERR_CLIENT_SSE_REFUSED on $name, without reconnecting', async ({ status, type }) => {
    let calls = 0
    const site = await listen(
      createServer((_req, res) => {
        calls++
        res.writeHead(status, { 'content-type': type }).end('{}')
      }),
    )
    try {
      client = new Client(site.url, { retryConfig: { count: 0 } })
      const stream = client.sse('/', { retry: 1 })
      await expect(stream.next()).rejects.toSatisfy(
        (e) =>
          isClientError(e, 'X_ERR_CLIENT_SSE_REFUSED') &&
          (e as { statusCode?: number }).statusCode === status,
      )
      expect(calls).toBe(1)
      await client.close()
      client = undefined
      await site.drained()
    } finally {
      await site.close()
    }
  })

  it('fails with X_ERR_CLIENT_SSE_EVENT_TOO_LARGE on an endless line', async () => {
    const site = await listen(
      createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        const chunk = 'x'.repeat(16_384)
        const pump = () => {
          while (res.write(chunk)) {
            // fill the socket
          }
        }
        res.on('drain', pump)
        pump()
      }),
    )
    try {
      client = new Client(site.url)
      await expect(client.sse('/', { maxEventSize: 100_000 }).next()).rejects.toSatisfy((e) =>
        isClientError(e, 'X_ERR_CLIENT_SSE_EVENT_TOO_LARGE'),
      )
      await client.close()
      client = undefined
      await site.drained()
    } finally {
      await site.close()
    }
  })

  it('treats a silent connection as dropped after idleTimeout and reconnects', async () => {
    let connections = 0
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/events',
          sse: { heartbeat: 0 },
          async *handler(ctx: Context) {
            connections++
            if (connections > 1) {
              yield { data: 'after the silence' }
              return
            }
            await aborted(ctx.signal)
          },
        },
      ],
    })
    client = new Client(server.url)
    const stream = client.sse('/events', { idleTimeout: 100, retry: 1 })
    expect((await stream.next()).value?.data).toBe('after the silence')
    stream.close()
  })

  it('pauses the connection while events pile up unread, and resumes as they are read', () => {
    // The stream against its handler contract: a controller that records pause and resume.
    const calls: string[] = []
    const controller = {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      abort: () => calls.push('abort'),
      paused: false,
      aborted: false,
      reason: null,
      rawHeaders: null,
      rawTrailers: null,
    }
    let handler!: Parameters<SseConnect>[2]
    const stream = new EventStream(
      'http://x/events',
      (_h, _idle, h) => {
        handler = h
      },
      { retry: 1, maxReconnects: 0, maxEventSize: 1000, idleTimeout: 0, lastEventId: '' },
    )
    void stream.next()
    handler.onRequestStart?.(controller, {})
    handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK')
    handler.onResponseData?.(controller, Buffer.from('data: x\n\n'.repeat(100)))
    expect(calls).toEqual(['pause'])
    return (async () => {
      for (let i = 0; i < 70; i++) await stream.next()
      expect(calls).toEqual(['pause', 'resume'])
      stream.close()
      expect(calls).toEqual(['pause', 'resume', 'abort'])
    })()
  })

  it.each([
    { name: 'a negative retry', options: { retry: -1 } },
    { name: 'a fractional maxReconnects', options: { maxReconnects: 1.5 } },
    { name: 'a zero maxEventSize', options: { maxEventSize: 0 } },
    { name: 'a lastEventId with LF', options: { lastEventId: 'a\nb' } },
    { name: 'a signal that is not one', options: { signal: {} } },
    { name: 'a header with CR', options: { headers: { 'x-a': 'a\rb' } } },
  ])('throws at once for $name', ({ options }) => {
    client = new Client('http://127.0.0.1:1')
    expect(() => client!.sse('/events', options as never)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^X_ERR_CLIENT_INVALID_(REQUEST|HEADER)$/) }),
    )
  })

  it('throws X_ERR_CLIENT_CLOSED on a closed client', async () => {
    client = new Client('http://127.0.0.1:1')
    await client.close()
    expect(() => client!.sse('/events')).toThrow(expect.objectContaining({ code: 'X_ERR_CLIENT_CLOSED' }))
  })
})
