import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { problemOf, raw, type Served, serve, statusOf } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

const echo = {
  methods: ['POST'],
  path: '/b',
  body: 'text' as const,
  handler: (ctx: { body: unknown }) => ctx.body,
}
const hello = { methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }

describe('limits', () => {
  it('answers 414 for a URI over maxUriLength', async () => {
    server = await serve({ resources: [hello] }, { maxUriLength: 100 })
    const res = await raw(server.port, `GET /${'a'.repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`)
    expect(statusOf(res)).toBe(414)
    expect(problemOf(res).code).toBe('X_ERR_HTTP_URI_TOO_LONG')
    expect(res).toMatch(/connection: close/i)
  })

  it('answers 414, not Node’s 431, for a URI that overflows the header buffer', async () => {
    server = await serve({ resources: [hello] })
    const res = await raw(server.port, `GET /${'a'.repeat(40_000)} HTTP/1.1\r\nHost: a\r\n\r\n`)
    expect(statusOf(res)).toBe(414)
    expect(problemOf(res).code).toBe('X_ERR_HTTP_URI_TOO_LONG')
  })

  it('answers 431 for headers over maxHeaderSize', async () => {
    server = await serve({ resources: [hello] }, { maxHeaderSize: 4096 })
    const res = await raw(server.port, `GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(8000)}\r\n\r\n`)
    expect(statusOf(res)).toBe(431)
    expect(problemOf(res).code).toBe('X_ERR_HTTP_HEADERS_TOO_LARGE')
  })

  it('answers 431 for more header fields than maxHeaderCount', async () => {
    server = await serve({ resources: [hello] }, { maxHeaderCount: 10 })
    const many = Array.from({ length: 11 }, (_, i) => `X-H${i}: v\r\n`).join('')
    const res = await raw(server.port, `GET /hello HTTP/1.1\r\nHost: a\r\n${many}\r\n`)
    expect(statusOf(res)).toBe(431)
    const ok = await server.fetch('/hello', { headers: { 'x-a': '1' } })
    expect(ok.status).toBe(200)
  })

  it('answers 413 at once for an announced body over maxBodySize, without reading it', async () => {
    server = await serve({ resources: [echo] }, { maxBodySize: 1000 })
    const res = await raw(
      server.port,
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5000000\r\n\r\n',
    )
    expect(statusOf(res)).toBe(413)
    expect(problemOf(res).code).toBe('X_ERR_HTTP_BODY_TOO_LARGE')
    expect(res).toMatch(/connection: close/i)
  })

  it('answers 413 when a chunked body grows past the limit mid-stream', async () => {
    server = await serve({ resources: [echo] }, { maxBodySize: 1000 })
    const chunk = `200\r\n${'x'.repeat(0x200)}\r\n`
    const res = await raw(server.port, [
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n',
      chunk,
      chunk,
      chunk,
    ])
    expect(statusOf(res)).toBe(413)
    expect(res).toMatch(/connection: close/i)
  })

  it('fails a chunked stream body with 413 once it passes the limit', async () => {
    server = await serve({
      resources: [
        {
          methods: ['POST'],
          path: '/s',
          body: { type: 'stream', maxSize: 100 },
          handler: async (ctx) => {
            for await (const _ of ctx.body as Readable) {
              // consume until the limit fails the stream
            }
            return 'unreached'
          },
        },
      ],
    })
    const res = await raw(server.port, [
      'POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      `80\r\n${'x'.repeat(0x80)}\r\n`,
    ])
    expect(statusOf(res)).toBe(413)
  })

  it('lets a resource raise its own body limit', async () => {
    server = await serve(
      { resources: [{ ...echo, body: { type: 'text', maxSize: 10_000 } }] },
      { maxBodySize: 10 },
    )
    const res = await server.fetch('/b', {
      method: 'POST',
      body: 'y'.repeat(5000),
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.status).toBe(201)
    expect(res.text.length).toBe(5000)
  })

  it('answers 413 to Expect: 100-continue without sending 100', async () => {
    server = await serve({ resources: [echo] }, { maxBodySize: 10 })
    const res = await raw(
      server.port,
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n',
    )
    expect(res.startsWith('HTTP/1.1 413')).toBe(true)
    expect(res).not.toContain('100 Continue')
  })

  it('sends 100 Continue once a resource reads the body', async () => {
    server = await serve({ resources: [echo] })
    const socket = connect(server.port, '127.0.0.1')
    let got = ''
    socket.setEncoding('latin1')
    const closed = new Promise<void>((r) => socket.on('close', () => r()))
    await new Promise<void>((r) => socket.on('connect', r))
    socket.write(
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    )
    await new Promise<void>((resolve) => {
      socket.on('data', (d: string) => {
        got += d
        if (got.includes('100 Continue\r\n\r\n')) resolve()
      })
    })
    socket.write('hello')
    await closed
    expect(got.startsWith('HTTP/1.1 100 Continue')).toBe(true)
    expect(got.endsWith('hello')).toBe(true)
  })

  it('answers 408 when the headers arrive too slowly (slowloris)', async () => {
    server = await serve({ resources: [hello] }, { headersTimeout: 300, requestTimeout: 1000 })
    const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ')
    expect(statusOf(res)).toBe(408)
    expect(problemOf(res).code).toBe('X_ERR_HTTP_REQUEST_TIMEOUT')
  })

  it('answers 408 when the body arrives too slowly', async () => {
    server = await serve({ resources: [echo] }, { headersTimeout: 200, requestTimeout: 400 })
    const res = await raw(
      server.port,
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc',
    )
    expect(statusOf(res)).toBe(408)
  })

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    server = await serve({ resources: [hello] }, { keepAliveTimeout: 200 })
    const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n')
    // raw() resolves when the server closes the connection: the test would time out otherwise.
    expect(statusOf(res)).toBe(200)
    expect(res).toMatch(/connection: keep-alive/i)
  })
})

describe('keep-alive policy', () => {
  it('AUTO keeps HTTP/1.1 connections and closes HTTP/1.0 ones', async () => {
    server = await serve({ resources: [hello] }, { keepAliveTimeout: 100 })
    const r11 = await raw(
      server.port,
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    )
    expect(r11.match(/HTTP\/1.1 200/g)).toHaveLength(2)
    const r10 = await raw(server.port, 'GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.0\r\n\r\n')
    expect(r10.match(/HTTP\/1.1 200/g)).toHaveLength(1)
  })

  it('NEVER closes the connection after each response', async () => {
    server = await serve({ resources: [hello] }, { keepAlive: 'NEVER' })
    const res = await raw(
      server.port,
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    )
    expect(res.match(/HTTP\/1.1 200/g)).toHaveLength(1)
    expect(res).toMatch(/connection: close/i)
  })

  it('AUTO closes a connection whose request body was refused unread', async () => {
    server = await serve({ resources: [{ ...echo, body: 'json' as const }, hello] })
    const res = await raw(server.port, [
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
      'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ])
    expect(statusOf(res)).toBe(415)
    expect(res).toMatch(/connection: close/i)
    expect(res.match(/HTTP\/1.1 /g)).toHaveLength(1)
  })

  it('ALWAYS drains a refused request body and keeps the connection', async () => {
    server = await serve({ resources: [{ ...echo, body: 'json' as const }, hello] }, { keepAlive: 'ALWAYS' })
    const res = await raw(server.port, [
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
      'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ])
    expect(statusOf(res)).toBe(415)
    expect(res).toMatch(/HTTP\/1.1 200 OK/)
  })

  it('ALWAYS still closes when the client asks, and after a body over the limit', async () => {
    server = await serve({ resources: [echo, hello] }, { keepAlive: 'ALWAYS', maxBodySize: 10 })
    const asked = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(asked).toMatch(/connection: close/i)
    const big = await raw(
      server.port,
      'POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n',
    )
    expect(statusOf(big)).toBe(413)
    expect(big).toMatch(/connection: close/i)
  })
})

describe('chunking policy', () => {
  const stream = { methods: ['GET'], path: '/s', handler: () => Readable.from(['ab', 'cd']) }

  it('ALWAYS sends a known-length body chunked', async () => {
    server = await serve({ resources: [hello] }, { chunking: 'ALWAYS' })
    const res = await server.fetch('/hello')
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.json()).toEqual({ hello: 'world' })
  })

  it('ALWAYS answers an HTTP/1.0 client with Content-Length, which cannot read chunks', async () => {
    server = await serve({ resources: [hello] }, { chunking: 'ALWAYS' })
    const res = await raw(server.port, 'GET /hello HTTP/1.0\r\n\r\n')
    expect(res).toMatch(/content-length: 17/i)
    expect(res).not.toMatch(/transfer-encoding/i)
  })

  it('NEVER buffers a stream and sends Content-Length', async () => {
    server = await serve({ resources: [stream] }, { chunking: 'NEVER' })
    const res = await server.fetch('/s')
    expect(res.headers['content-length']).toBe('4')
    expect(res.headers['transfer-encoding']).toBeUndefined()
    expect(res.text).toBe('abcd')
  })

  it('takes the resource policy over the service and Listener ones', async () => {
    server = await serve(
      { chunking: 'ALWAYS', resources: [{ ...stream, chunking: 'NEVER' }, hello] },
      { chunking: 'NEVER' },
    )
    expect((await server.fetch('/s')).headers['content-length']).toBe('4')
    expect((await server.fetch('/hello')).headers['transfer-encoding']).toBe('chunked')
  })
})
