// WebSocket upgrades from HTTP resources of a Listener: routing, filters, binding, the answers
// to bad handshakes, plain HTTP on the same port, limits, stopping and socket hygiene.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { ResourceConfig, type ResourceConfigContext, ServiceConfig } from '../src/decorators.ts'
import {
  type Filter,
  HttpError,
  HttpResponse,
  isHttpError,
  Listener,
  resource,
  type Service,
  type WebSocketCaller,
  type WebSocketService,
} from '../src/index.ts'
import { raw, type Served, serve, statusOf } from './helpers/serve.ts'
import { frame, handshake, rawConnection, wsPeer, wsRefusal } from './helpers/ws.ts'

let server: Served | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

const echo: WebSocketService = {
  onText: (caller, text) => caller.pushText(text),
  onBinary: (caller, data) => caller.pushBinary(data),
}

/** A bearer-token filter that refuses with 401 and shares the user through ctx.state. */
const auth: Filter = {
  request(ctx) {
    const token = ctx.headers.authorization ?? (ctx.query as Record<string, string | undefined>).token
    const user = token === 'Bearer s3cret' || token === 's3cret' ? 'alice' : undefined
    if (user === undefined) {
      throw new HttpError(401, 'a token is required', { headers: { 'www-authenticate': 'Bearer' } })
    }
    ctx.state.user = user
    return ctx.next()
  },
}

/** Stamps every response, so a test can tell that response filters ran. */
const stamp: Filter = {
  response(_ctx, response) {
    response.headers['x-stamp'] = 'yes'
  },
}

function ws(path: string): string {
  return `${server!.url.replace('http', 'ws')}${path}`
}

/** Waits for `n` events published on a diagnostics channel. */
function published(name: string, n = 1): Promise<unknown[]> {
  const seen: unknown[] = []
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      seen.push(m)
      if (seen.length === n) {
        unsubscribe(name, on)
        resolve(seen)
      }
    }
    subscribe(name, on)
  })
}

describe('upgrade through a Listener resource', () => {
  it('echoes text and binary over ws and keeps serving HTTP on the same port', async () => {
    server = await serve({
      basePath: '/',
      resources: [
        { methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) },
        { path: '/echo', upgrade: { service: echo } },
      ],
    })
    const peer = await wsPeer(ws('/echo'))
    peer.ws.send('héllo')
    expect(await peer.message()).toBe('héllo')
    peer.ws.send(Buffer.from([0, 1, 2, 255]))
    expect(await peer.message()).toEqual(Buffer.from([0, 1, 2, 255]))
    // HTTP requests on the same port, on a keep-alive connection of their own, while the WebSocket is open.
    for (let i = 0; i < 3; i++) {
      const res = await server.fetch('/hello')
      expect(res.status).toBe(200)
      expect(res.json()).toEqual({ hello: 'world' })
    }
    peer.ws.send('still here')
    expect(await peer.message()).toBe('still here')
    peer.ws.close(4000, 'done')
    expect(await peer.closed).toEqual({ code: 4000, reason: 'done' })
  })

  it('refuses with the 401 of a filter: no upgrade, the problem body, response filters ran, the socket closed', async () => {
    const opened: WebSocketCaller[] = []
    server = await serve(
      {
        basePath: '/chat',
        filters: [auth],
        resources: [{ path: '/', upgrade: { service: { onOpen: (c) => void opened.push(c) } } }],
      },
      { filters: [stamp] },
    )
    const refusal = await wsRefusal(ws('/chat'))
    expect(refusal.status).toBe(401)
    expect(refusal.headers['www-authenticate']).toBe('Bearer')
    expect(refusal.headers['x-stamp']).toBe('yes')
    expect(refusal.headers.connection).toBe('close')
    expect(refusal.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(refusal.body)).toMatchObject({ status: 401, code: 'X_ERR_HTTP_STATUS' })
    await server.drained()
    expect(opened).toHaveLength(0)
  })

  it('hands what a filter shared to the service as attributes, once the filter accepts', async () => {
    let onOpen!: (c: WebSocketCaller) => void
    const opened = new Promise<WebSocketCaller>((r) => {
      onOpen = r
    })
    server = await serve({
      basePath: '/chat',
      filters: [auth],
      resources: [
        {
          path: '/',
          upgrade: {
            service: {
              onOpen: (c) => onOpen(c),
              onText: (c, text) => c.pushText(`${c.attributes.get('user')}: ${text}`),
            },
          },
        },
      ],
    })
    const peer = await wsPeer(ws('/chat'), [], { headers: { authorization: 'Bearer s3cret' } })
    const caller = await opened
    expect(caller.attributes.get('user')).toBe('alice')
    peer.ws.send('hi')
    expect(await peer.message()).toBe('alice: hi')
    peer.ws.close(1000)
    await peer.closed
  })

  it('gives a service factory the typed path, query and filter values, and runs its service per connection', async () => {
    const rooms = resource({
      path: '/rooms/{id}',
      params: { id: 'integer' },
      query: { nick: { type: 'string', default: 'anon' } },
      upgrade: {
        subProtocols: ['chat.v1'],
        service: (ctx) => {
          const id: number = ctx.params.id
          const nick: string = ctx.query.nick
          const user = ctx.state.user
          return {
            onOpen: (c) => c.pushText(`${String(user)} as ${nick} in room ${id + 1 - 1} (${typeof id})`),
            onText: (c, text) => c.pushText(`#${id} ${nick}: ${text}`),
          }
        },
      },
    })
    server = await serve({ basePath: '/', filters: [auth], resources: [rooms] })
    const first = await wsPeer(ws('/rooms/7?nick=al&token=s3cret'), ['chat.v1'])
    expect(first.headers['sec-websocket-protocol']).toBe('chat.v1')
    expect(await first.message()).toBe('alice as al in room 7 (number)')
    const second = await wsPeer(ws('/rooms/8?token=s3cret'))
    expect(await second.message()).toBe('alice as anon in room 8 (number)')
    first.ws.send('one')
    second.ws.send('two')
    expect(await first.message()).toBe('#7 al: one')
    expect(await second.message()).toBe('#8 anon: two')
    first.ws.close(1000)
    second.ws.close(1000)
    await Promise.all([first.closed, second.closed])
  })

  it('answers 400 naming the parameter when a path parameter of a handshake does not convert', async () => {
    server = await serve({
      resources: [resource({ path: '/rooms/{id}', params: { id: 'integer' }, upgrade: { service: echo } })],
    })
    const refusal = await wsRefusal(ws('/rooms/seven'))
    expect(refusal.status).toBe(400)
    expect(JSON.parse(refusal.body)).toMatchObject({ code: 'X_ERR_HTTP_INVALID_PARAM', param: 'id' })
  })

  it('lets a service factory refuse with an HttpError, and answers 500 when it fails otherwise', async () => {
    server = await serve({
      resources: [
        {
          path: '/closed',
          upgrade: {
            service: async () => {
              throw new HttpError(403, 'this room is closed')
            },
          },
        },
        {
          path: '/broken',
          upgrade: {
            service: () => {
              throw new Error('secret detail')
            },
          },
        },
        { path: '/nothing', upgrade: { service: () => 42 as unknown as WebSocketService } },
      ],
    })
    const closed = await wsRefusal(ws('/closed'))
    expect(closed.status).toBe(403)
    expect(JSON.parse(closed.body)).toMatchObject({ detail: 'this room is closed' })
    for (const path of ['/broken', '/nothing']) {
      const broken = await wsRefusal(ws(path))
      expect(broken.status).toBe(500)
      expect(broken.body).not.toContain('secret')
      expect(JSON.parse(broken.body)).toMatchObject({ code: 'X_ERR_HTTP_INTERNAL' })
    }
    expect(server.logger.errors).toHaveLength(2)
  })

  it('shows filters a handshake as the same context with upgrade set, and plain requests without it', async () => {
    const seen: Array<[string, string | undefined]> = []
    const watch: Filter = {
      request(ctx) {
        seen.push([ctx.path, ctx.upgrade])
      },
    }
    server = await serve(
      {
        resources: [
          { path: '/ws', upgrade: { service: echo } },
          { methods: ['GET'], path: '/plain', handler: () => 'plain' },
        ],
      },
      { filters: [watch] },
    )
    const peer = await wsPeer(ws('/ws'))
    expect((await server.fetch('/plain')).text).toBe('plain')
    expect((await server.fetch('/ws')).status).toBe(426)
    expect(seen).toEqual([
      ['/ws', 'websocket'],
      ['/plain', undefined],
      ['/ws', undefined],
    ])
    peer.ws.close(1000)
    await peer.closed
  })
})

describe('plain requests to an upgrade resource', () => {
  it('answers 426 with Upgrade: websocket when the resource has no handler', async () => {
    server = await serve({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const res = await server.fetch('/ws')
    expect(res.status).toBe(426)
    expect(res.headers.upgrade).toBe('websocket')
    expect(res.headers.connection).toBe('upgrade, close')
    expect(res.json()).toMatchObject({ status: 426, code: 'X_ERR_HTTP_UPGRADE_REQUIRED' })
    const post = await server.fetch('/ws', { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD, OPTIONS')
  })

  it('runs the resource handler for plain requests when it has one, and upgrades handshakes', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET', 'POST'],
          path: '/live',
          body: { type: 'text', optional: true },
          upgrade: { service: echo },
          handler: (ctx) =>
            ctx.method === 'GET' ? 'connect with a WebSocket' : `posted ${String(ctx.body)}`,
        },
      ],
    })
    expect((await server.fetch('/live')).text).toBe('connect with a WebSocket')
    expect((await server.fetch('/live', { method: 'POST', body: 'x' })).text).toBe('posted x')
    const peer = await wsPeer(ws('/live'))
    peer.ws.send('up')
    expect(await peer.message()).toBe('up')
    peer.ws.close(1000)
    await peer.closed
  })
})

describe('bad handshakes answered through the Listener', () => {
  it.each([
    {
      name: 'a wrong Sec-WebSocket-Version',
      headers: { 'Sec-WebSocket-Version': '12' },
      status: 426,
      code: 'X_ERR_HTTP_UPGRADE_REQUIRED',
      header: ['sec-websocket-version', '13, 8'],
    },
    {
      name: 'no Sec-WebSocket-Key',
      headers: { 'Sec-WebSocket-Key': undefined },
      status: 400,
      code: 'X_ERR_HTTP_WEBSOCKET_HANDSHAKE',
    },
    {
      name: 'a malformed Sec-WebSocket-Key',
      headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=' },
      status: 400,
      code: 'X_ERR_HTTP_WEBSOCKET_HANDSHAKE',
    },
    {
      name: 'an origin that is not allowed',
      headers: { Origin: 'https://evil.example' },
      status: 403,
      code: 'X_ERR_HTTP_ORIGIN_NOT_ALLOWED',
    },
  ])('answers $status ($code) to $name, through the response filters, and closes', async (c) => {
    server = await serve(
      {
        resources: [{ path: '/ws', upgrade: { service: echo, allowedOrigins: ['https://app.example'] } }],
      },
      { filters: [stamp] },
    )
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/ws', c.headers))
    await conn.closed
    const text = conn.received()
    expect(statusOf(text)).toBe(c.status)
    expect(text).toMatch(/\r\nx-stamp: yes\r\n/i)
    expect(text).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/i)
    expect(text).toContain(`"code":"${c.code}"`)
    if (c.header) expect(text.toLowerCase()).toContain(`\r\n${c.header[0]}: ${c.header[1]}\r\n`)
  })

  it('answers 503 with Retry-After at the resource connection cap, and serves again once one closes', async () => {
    server = await serve({ resources: [{ path: '/ws', upgrade: { service: echo, maxConnections: 1 } }] })
    const first = await wsPeer(ws('/ws'))
    const refusal = await wsRefusal(ws('/ws'))
    expect(refusal.status).toBe(503)
    expect(refusal.headers['retry-after']).toBe('1')
    expect(JSON.parse(refusal.body)).toMatchObject({ code: 'X_ERR_HTTP_UNAVAILABLE' })
    expect(server.logger.errors).toHaveLength(0)
    first.ws.close(1000)
    await first.closed
    const second = await wsPeer(ws('/ws'))
    second.ws.close(1000)
    await second.closed
  })

  it('answers 404 to a handshake where no resource is, and still serves', async () => {
    server = await serve({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const refusal = await wsRefusal(ws('/nowhere'))
    expect(refusal.status).toBe(404)
    expect(JSON.parse(refusal.body)).toMatchObject({ code: 'X_ERR_HTTP_NOT_FOUND' })
    const peer = await wsPeer(ws('/ws'))
    peer.ws.close(1000)
    await peer.closed
  })

  it('serves a handshake to a resource that does not upgrade as a plain request, then closes', async () => {
    server = await serve({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        { methods: ['GET'], path: '/page', handler: () => 'a page' },
      ],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/page'))
    await conn.closed
    expect(statusOf(conn.received())).toBe(200)
    expect(conn.received()).toMatch(/\r\n\r\na page$/)
  })
})

describe('limits on handshakes', () => {
  it.each([
    {
      name: 'a URI over maxUriLength',
      request: (port: number) => handshake(port, `/ws?${'a'.repeat(300)}`),
      status: 414,
    },
    {
      name: 'more header fields than maxHeaderCount',
      request: (port: number) =>
        handshake(port, '/ws', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-h${i}`, 'v']))),
      status: 431,
    },
    {
      name: 'headers over maxHeaderSize',
      request: (port: number) => handshake(port, '/ws', { 'x-big': 'b'.repeat(3000) }),
      status: 431,
    },
    {
      name: 'no Host header',
      request: (port: number) => handshake(port, '/ws', { Host: undefined }),
      status: 400,
    },
  ])('answers $status to a handshake with $name and opens no WebSocket', async ({ request, status }) => {
    const opened: unknown[] = []
    server = await serve(
      { resources: [{ path: '/ws', upgrade: { service: { onOpen: (c) => void opened.push(c) } } }] },
      { maxUriLength: 256, maxHeaderCount: 20, maxHeaderSize: 2048 },
    )
    const answer = await raw(server.port, request(server.port))
    expect(statusOf(answer)).toBe(status)
    expect(opened).toHaveLength(0)
  })
})

describe('requests that ask for another upgrade', () => {
  it('serves an Upgrade: h2c POST with its body as plain HTTP and keeps the connection', async () => {
    server = await serve({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        { methods: ['POST'], path: '/echo', body: 'text', handler: (ctx) => `got ${ctx.body}` },
        { methods: ['GET'], path: '/next', handler: (ctx) => `next ${ctx.headers.upgrade ?? 'none'}` },
      ],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    )
    await conn.until(/got hello$/)
    conn.socket.write(
      'GET /next HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' +
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    )
    await conn.until(/got abc$/)
    const text = conn.received()
    expect(text.match(/HTTP\/1\.1 20[01] /g)).toEqual(['HTTP/1.1 201 ', 'HTTP/1.1 200 ', 'HTTP/1.1 201 '])
    expect(text).toContain('next h2c')
    expect(text).not.toMatch(/connection: close/i)
    // The same connection still takes a WebSocket handshake.
    conn.socket.write(handshake(server.port, '/ws'))
    await conn.until(/101 Switching Protocols/)
    conn.socket.destroy()
    await conn.closed
  })
})

describe('pipelined handshakes', () => {
  it('answers a handshake pipelined behind a slow request only after that request', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    server = await serve({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        {
          methods: ['GET'],
          path: '/slow',
          handler: async () => {
            await gate
            return 'slow done'
          },
        },
      ],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write(`GET /slow HTTP/1.1\r\nHost: x\r\n\r\n${handshake(server.port, '/ws')}`)
    const reached = published('x:http:listener-upgrade')
    setImmediate(release)
    await conn.until(/101 Switching Protocols/)
    await reached
    const text = conn.received()
    expect(text.indexOf('slow done')).toBeGreaterThan(0)
    expect(text.indexOf('slow done')).toBeLessThan(text.indexOf('101 Switching Protocols'))
    conn.socket.destroy()
    await conn.closed
  })
})

describe('stopping', () => {
  it('sends close 1001 to every WebSocket peer on gracefulStop and resolves once they are gone', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    await listener.start()
    const url = `ws://127.0.0.1:${listener.port}/ws`
    const peers = await Promise.all([wsPeer(url), wsPeer(url), wsPeer(url)])
    await listener.gracefulStop({ timeout: 5_000 })
    for (const p of peers) expect(await p.closed).toEqual({ code: 1001, reason: 'going away' })
  })

  it('bounds the wait by the stop timeout when a peer never answers the close', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    await listener.start()
    // A raw peer completes the handshake, then reads nothing and answers nothing.
    const conn = await rawConnection(listener.port)
    conn.socket.write(handshake(listener.port, '/ws'))
    await conn.until(/101 Switching Protocols/)
    const stopped = await stopWatched(() => listener.gracefulStop({ timeout: 200 }))
    expect(stopped).toMatchObject({ graceful: true })
    await conn.closed
  })

  it('ends WebSocket connections at once on immediateStop', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    await listener.start()
    const peer = await wsPeer(`ws://127.0.0.1:${listener.port}/ws`)
    await listener.immediateStop()
    expect((await peer.closed).code).toBe(1006)
  })

  it('refuses with 503 a handshake still in its filters when gracefulStop begins', async () => {
    let entered!: () => void
    const inFilter = new Promise<void>((r) => {
      entered = r
    })
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const slow: Filter = {
      async request() {
        entered()
        await gate
      },
    }
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({ filters: [slow], resources: [{ path: '/ws', upgrade: { service: echo } }] })
    await listener.start()
    const conn = await rawConnection(listener.port)
    conn.socket.write(handshake(listener.port, '/ws'))
    await inFilter
    const stopped = listener.gracefulStop({ timeout: 5_000 })
    release()
    await conn.closed
    await stopped
    expect(statusOf(conn.received())).toBe(503)
    expect(conn.received()).toContain('"code":"X_ERR_HTTP_UNAVAILABLE"')
  })

  it('leaves a handshake pipelined behind the last response of a stopping Listener unanswered', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered!: () => void
    const inHandler = new Promise<void>((r) => {
      entered = r
    })
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        {
          methods: ['GET'],
          path: '/slow',
          handler: async () => {
            entered()
            await gate
            return 'ok'
          },
        },
      ],
    })
    await listener.start()
    const conn = await rawConnection(listener.port)
    conn.socket.write(`GET /slow HTTP/1.1\r\nHost: x\r\n\r\n${handshake(listener.port, '/ws')}`)
    await inHandler
    const stopped = listener.gracefulStop({ timeout: 5_000 })
    release()
    await conn.closed
    await stopped
    // The slow request closes its connection (the Listener is stopping): the handshake behind it gets no answer.
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*connection: close/i)
    expect(conn.received()).not.toContain('101')
  })

  it('keeps the connections of a detached service open until they close or the Listener stops', async () => {
    const chat: Service = { basePath: '/chat', resources: [{ path: '/', upgrade: { service: echo } }] }
    server = await serve(chat)
    const peer = await wsPeer(ws('/chat'))
    expect(server.listener.detach(chat)).toBe(true)
    expect((await wsRefusal(ws('/chat'))).status).toBe(404)
    peer.ws.send('still open')
    expect(await peer.message()).toBe('still open')
    await server.listener.gracefulStop({ timeout: 5_000 })
    expect((await peer.closed).code).toBe(1001)
  })
})

async function stopWatched(stop: () => Promise<void>): Promise<unknown> {
  const seen = published('x:http:listener-stop')
  await stop()
  return (await seen)[0]
}

describe('hostile handshakes', () => {
  it('survives a client that goes away while an async filter runs, and leaks no socket', async () => {
    let entered!: () => void
    const inFilter = new Promise<void>((r) => {
      entered = r
    })
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let aborted: boolean | undefined
    let left!: () => void
    const done = new Promise<void>((r) => {
      left = r
    })
    const slowAuth: Filter = {
      async request(ctx) {
        const signal = ctx.signal
        entered()
        await gate
        aborted = signal.aborted
        left()
      },
    }
    const opened: unknown[] = []
    server = await serve({
      filters: [slowAuth],
      resources: [{ path: '/ws', upgrade: { service: { onOpen: (c) => void opened.push(c) } } }],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/ws'))
    await inFilter
    conn.socket.destroy()
    await conn.closed
    // The server notices at once (it reads the socket during the filters) and closes its side.
    await server.drained()
    release()
    await done
    // The pipeline goes on from the filter's promise within this turn of the event loop.
    await new Promise((r) => setImmediate(r))
    expect(aborted).toBe(true)
    expect(opened).toHaveLength(0)
    expect(server.logger.errors).toHaveLength(0)
  })

  it('serves a handshake that carries a body as a plain request (426), not as an upgrade', async () => {
    server = await serve({ resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const answer = await raw(server.port, [
      handshake(server.port, '/ws', { 'Content-Length': '4' }).replace(/\r\n\r\n$/, '\r\n\r\n'),
      'abcd',
    ])
    expect(statusOf(answer)).toBe(426)
  })

  it('rejects declarations it cannot serve at attach, with X_ERR_HTTP_INVALID_SERVICE', () => {
    const listener = new Listener({ port: 0 })
    const cases: unknown[] = [
      { path: '/a', upgrade: { service: echo, maxMessageSize: 0 } },
      { path: '/b', upgrade: { service: echo, unknownOption: 1 } },
      { path: '/c', upgrade: { service: 'echo' } },
      { path: '/d', upgrade: {} },
      { path: '/e', upgrade: echo },
      { path: '/f', methods: ['POST'], upgrade: { service: echo }, handler: () => 'x' },
      { path: '/g' },
    ]
    for (const r of cases) {
      let thrown: unknown
      try {
        listener.attach({ resources: [r] } as unknown as Service)
      } catch (e) {
        thrown = e
      }
      expect(isHttpError(thrown, 'X_ERR_HTTP_INVALID_SERVICE')).toBe(true)
    }
  })
})

describe('a handler answering through HttpResponse', () => {
  it('keeps HttpResponse answers of a filter for a handshake', async () => {
    const teapot: Filter = {
      request: (ctx) => (ctx.upgrade ? new HttpResponse({ status: 418, body: 'no' }) : undefined),
    }
    server = await serve({ filters: [teapot], resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const refusal = await wsRefusal(ws('/ws'))
    expect(refusal).toMatchObject({ status: 418, body: 'no' })
  })
})

describe('upgrade options and events', () => {
  it('applies the WebSocket options of the resource: a message over maxMessageSize closes with 1009', async () => {
    server = await serve({ resources: [{ path: '/ws', upgrade: { service: echo, maxMessageSize: 16 } }] })
    const peer = await wsPeer(ws('/ws'))
    peer.ws.send('x'.repeat(16))
    expect(await peer.message()).toBe('x'.repeat(16))
    peer.ws.send('x'.repeat(17))
    expect((await peer.closed).code).toBe(1009)
  })

  it('publishes x:http:listener-upgrade with the request, the template and the caller', async () => {
    server = await serve({
      basePath: '/api',
      resources: [{ path: '/ws/{room}', upgrade: { service: echo } }],
    })
    const event = published('x:http:listener-upgrade')
    const peer = await wsPeer(ws('/api/ws/blue'))
    const [message] = (await event) as Array<{ template: string; caller: WebSocketCaller; request: unknown }>
    expect(message!.template).toBe('/api/ws/{room}')
    expect(message!.caller.isOpen).toBe(true)
    expect((message!.request as { url: string }).url).toBe('/api/ws/blue')
    peer.ws.close(1000)
    await peer.closed
  })

  it('delivers a frame the client sent before the 101 (while the filters ran) to the service', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered!: () => void
    const inFilter = new Promise<void>((r) => {
      entered = r
    })
    const slow: Filter = {
      async request() {
        entered()
        await gate
      },
    }
    server = await serve({ filters: [slow], resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/ws'))
    await inFilter
    conn.socket.write(frame(1, 'early'))
    release()
    // The echo comes back as an unmasked server text frame: 0x81, length 5, "early".
    const frameEcho = `${String.fromCharCode(0x81, 0x05)}early`
    await conn.until(/early$/)
    expect(conn.received().endsWith(frameEcho)).toBe(true)
    conn.socket.destroy()
    await conn.closed
  })

  it('closes a handshake whose client sends more than 64 KiB before its answer', async () => {
    let entered!: () => void
    const inFilter = new Promise<void>((r) => {
      entered = r
    })
    const never: Filter = {
      request() {
        entered()
        return new Promise(() => {})
      },
    }
    server = await serve({ filters: [never], resources: [{ path: '/ws', upgrade: { service: echo } }] })
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/ws'))
    await inFilter
    conn.socket.write(Buffer.alloc(70_000))
    await conn.closed
    expect(conn.received()).toBe('')
  })
})

describe('a Listener without upgrade resources', () => {
  it('serves WebSocket handshakes and h2c upgrades as plain requests and keeps the connection', async () => {
    server = await serve({
      resources: [
        { methods: ['GET'], path: '/page', handler: () => 'page' },
        { methods: ['POST'], path: '/echo', body: 'text', handler: (ctx) => `got ${ctx.body}` },
      ],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write(handshake(server.port, '/page'))
    await conn.until(/\r\n\r\npage$/)
    conn.socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi',
    )
    await conn.until(/got hi$/)
    expect(conn.received()).not.toMatch(/connection: close/i)
    conn.socket.end()
    await conn.closed
  })
})

describe('connections parsed again after an ignored upgrade', () => {
  it('are closed after keepAliveTimeout when idle', async () => {
    server = await serve(
      {
        resources: [
          { path: '/ws', upgrade: { service: echo } },
          { path: '/page', handler: () => 'page' },
        ],
      },
      { keepAliveTimeout: 100 },
    )
    const conn = await rawConnection(server.port)
    conn.socket.write('GET /page HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
    await conn.until(/page$/)
    await conn.closed
    expect(conn.received()).toMatch(/keep-alive: timeout=0/i)
  })

  it('are closed by gracefulStop when idle', async () => {
    const listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
    listener.attach({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        { path: '/page', handler: () => 'page' },
      ],
    })
    await listener.start()
    const conn = await rawConnection(listener.port)
    conn.socket.write('GET /page HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
    await conn.until(/page$/)
    await listener.gracefulStop({ timeout: 5_000 })
    await conn.closed
  })

  it('answer a malformed request after the ignored upgrade with 400 and close', async () => {
    server = await serve({
      resources: [
        { path: '/ws', upgrade: { service: echo } },
        { path: '/page', handler: () => 'page' },
      ],
    })
    const conn = await rawConnection(server.port)
    conn.socket.write('GET /page HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
    await conn.until(/page$/)
    conn.socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
    await conn.closed
    expect(conn.received()).toMatch(
      /page\r?\n?HTTP\/1\.1 400 Bad Request[\s\S]*"code":"X_ERR_HTTP_BAD_REQUEST"/,
    )
  })
})

@ServiceConfig({ basePath: '/decorated' })
class DecoratedChat {
  prefix = 'room'

  /** The method makes the service of each connection, as Ballerina's upgrade resource does. */
  @ResourceConfig({ path: '/rooms/{id}', params: { id: 'integer' }, upgrade: { subProtocols: ['chat.v1'] } })
  room(ctx: ResourceConfigContext<{ path: '/rooms/{id}'; params: { id: 'integer' } }>): WebSocketService {
    const name = `${this.prefix}-${ctx.params.id * 2}`
    return { onText: (c, text) => c.pushText(`${name}: ${text}`) }
  }

  /** A static service; the method answers plain requests. */
  @ResourceConfig({ methods: ['GET'], path: '/echo', upgrade: { service: echo } })
  echoInfo() {
    return 'open a WebSocket here'
  }
}

describe('decorated services', () => {
  it('upgrade through a method that returns the service, and through a static service', async () => {
    server = await serve(new DecoratedChat() as unknown as Service)
    const room = await wsPeer(ws('/decorated/rooms/21'), ['chat.v1'])
    room.ws.send('hi')
    expect(await room.message()).toBe('room-42: hi')
    expect((await server.fetch('/decorated/rooms/21')).status).toBe(426)
    expect((await server.fetch('/decorated/echo')).text).toBe('open a WebSocket here')
    const e = await wsPeer(ws('/decorated/echo'))
    e.ws.send('back')
    expect(await e.message()).toBe('back')
    room.ws.close(1000)
    e.ws.close(1000)
    await Promise.all([room.closed, e.closed])
  })
})
