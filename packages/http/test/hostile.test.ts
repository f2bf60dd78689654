// Bad input over raw sockets: each case gets its status or a clean close, the server keeps
// serving, and no socket stays open (serve().close() fails on a leaked server socket; the
// process-wide TCP handle count is compared before and after).
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { problemOf, raw, type Served, serve, statusOf } from './helpers/serve.ts'

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
}

let server: Served
let handlesBefore: number
let handlerCalls = 0

beforeAll(async () => {
  handlesBefore = tcpHandles()
  server = await serve(
    {
      resources: [
        { methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) },
        {
          methods: ['POST'],
          path: '/echo',
          body: 'text',
          handler: (ctx) => {
            handlerCalls++
            return ctx.body
          },
        },
      ],
    },
    { headersTimeout: 500, requestTimeout: 1000, maxHeaderSize: 8192 },
  )
})

afterAll(async () => {
  await server.close()
  expect(tcpHandles()).toBe(handlesBefore)
})

async function stillServes(): Promise<void> {
  const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  expect(statusOf(res)).toBe(200)
  await server.drained()
}

describe('hostile input', () => {
  it.each([
    { name: 'a malformed request line', data: 'GARBAGE\r\n\r\n', status: 400 },
    { name: 'an unknown HTTP version', data: 'GET /hello HTTP/9.9\r\nHost: a\r\n\r\n', status: 400 },
    { name: 'a space in the target', data: 'GET /he llo HTTP/1.1\r\nHost: a\r\n\r\n', status: 400 },
    {
      name: 'a control byte in a header name',
      data: 'GET /hello HTTP/1.1\r\nHost: a\r\nX\x01Bad: 1\r\n\r\n',
      status: 400,
    },
    {
      name: 'a NUL in a header value',
      data: 'GET /hello HTTP/1.1\r\nHost: a\r\nX-Bad: a\x00b\r\n\r\n',
      status: 400,
    },
    {
      name: 'a header without colon',
      data: 'GET /hello HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n',
      status: 400,
    },
    { name: 'a missing Host in HTTP/1.1', data: 'GET /hello HTTP/1.1\r\n\r\n', status: 400 },
    {
      name: 'Content-Length with Transfer-Encoding (smuggling)',
      data: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      status: 400,
    },
    {
      name: 'two different Content-Lengths',
      data: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      status: 400,
    },
    {
      name: 'a negative Content-Length',
      data: 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
      status: 400,
    },
    {
      name: 'a malformed chunk size',
      data: 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\nzz\r\nab\r\n0\r\n\r\n',
      status: 400,
    },
    { name: 'a target that is not a path', data: 'GET hello HTTP/1.1\r\nHost: a\r\n\r\n', status: 400 },
    {
      name: 'oversize headers',
      data: `GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
      status: 431,
    },
  ])('answers $name with $status and closes the connection', async ({ data, status }) => {
    const res = await raw(server.port, data)
    expect(statusOf(res)).toBe(status)
    expect(problemOf(res).status).toBe(status)
    expect(res).toMatch(/connection: close/i)
    await server.drained()
    await stillServes()
  })

  it('answers the request, then closes, for a body longer than announced', async () => {
    const res = await raw(
      server.port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello, and more bytes that are no request\r\n\r\n',
    )
    expect(statusOf(res)).toBe(201)
    expect(res).toMatch(/connection: close/i)
    expect(res.endsWith('\r\n\r\nhello')).toBe(true)
    await server.drained()
    await stillServes()
  })

  it('closes cleanly on a truncated body, without running the handler', async () => {
    const before = handlerCalls
    const res = await raw(
      server.port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly part',
      { end: true },
    )
    expect(res).toBe('')
    expect(handlerCalls).toBe(before)
    await server.drained()
    await stillServes()
  })

  it('answers 408 to headers that never finish', async () => {
    const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow')
    expect(statusOf(res)).toBe(408)
    await server.drained()
    await stillServes()
  })

  it('survives a client that disconnects mid-body', async () => {
    const before = handlerCalls
    const socket = connect(server.port, '127.0.0.1')
    await new Promise<void>((r) => socket.on('connect', r))
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    )
    socket.destroy()
    await server.drained()
    expect(handlerCalls).toBe(before)
    await stillServes()
  })

  it('survives a client that disconnects while its response is written', async () => {
    const socket = connect(server.port, '127.0.0.1')
    await new Promise<void>((r) => socket.on('connect', r))
    socket.end('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n')
    socket.destroy()
    await server.drained()
    await stillServes()
  })

  it('survives a flood of pipelined requests on one connection', async () => {
    const one = 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n'
    const res = await raw(
      server.port,
      `${one.repeat(200)}GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    )
    expect(res.match(/HTTP\/1.1 200 OK/g)).toHaveLength(201)
    await server.drained()
  })

  it('keeps serving after all of the above, with no server socket left open', async () => {
    await stillServes()
    expect(server.openSockets()).toBe(0)
  })
})
