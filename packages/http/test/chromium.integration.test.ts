// Headless Chromium as the peer that CORS and Server-Sent Events are written for: a page
// served on one loopback port calls Listeners on other ports (fetch with and without
// credentials, preflighted methods and headers, exposed headers) and opens EventSources.
// Needs /usr/bin/chromium (.ci/run installs it).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { type Context, type Filter, HttpError, HttpResponse, Listener } from '../src/index.ts'

let browser: BrowserContext
let profile: string
let page: Page
let site: Listening
let api: Listener
let open: Listener
let closed: Listener
let apiUrl: string
let openUrl: string
let closedUrl: string

const calls: string[] = []
/** Every request the API Listener received, preflights included (Node's own http channel). */
const wire: string[] = []
const onRequest = (message: unknown) => {
  const req = (message as { request: IncomingMessage }).request
  if (api !== undefined && req.socket.localPort === api.port) wire.push(`${req.method} ${req.url}`)
}
const lastEventIds: Array<string | undefined> = []
let connections = 0

/** Requires a bearer token on every request it sees: preflights must never reach it. */
const auth: Filter = {
  request(ctx) {
    calls.push(`filter ${ctx.method} ${ctx.path}`)
    if (ctx.path.startsWith('/api/') && ctx.headers.authorization !== 'Bearer t0k3n') {
      throw new HttpError(401, 'a token is required')
    }
  },
}

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'x-http-chromium-'))
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  site = await listen(
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', connection: 'close' })
      res.end('<!doctype html><title>x-http</title><p>test page</p>')
    }),
  )
  const pageOrigin = site.url

  api = new Listener({ port: 0, host: '127.0.0.1', filters: [auth] })
  api.attach({
    basePath: '/api',
    cors: {
      allowOrigins: [pageOrigin],
      allowCredentials: true,
      allowHeaders: ['authorization', 'content-type', 'x-trace'],
      allowMethods: ['GET', 'PUT', 'POST'],
      exposeHeaders: ['x-total'],
      maxAge: 0,
    },
    resources: [
      {
        methods: ['GET'],
        path: '/items',
        handler: () => {
          calls.push('resource GET /api/items')
          return new HttpResponse({ headers: { 'x-total': '3', 'x-secret': 's' }, body: [1, 2, 3] })
        },
      },
      {
        methods: ['PUT', 'DELETE'],
        path: '/items/{id}',
        body: 'json',
        handler: (ctx) => {
          calls.push(`resource ${ctx.method} /api/items/${ctx.params.id}`)
          return { id: ctx.params.id, body: ctx.body, trace: ctx.headers['x-trace'] }
        },
      },
    ],
  })
  api.attach({
    basePath: '/session',
    cors: { allowOrigins: [pageOrigin], allowCredentials: true },
    resources: [
      {
        methods: ['POST'],
        path: '/login',
        handler: () =>
          new HttpResponse({
            status: 200,
            headers: { 'set-cookie': 'sid=abc123; Path=/; SameSite=Lax; HttpOnly' },
            body: { ok: true },
          }),
      },
      { methods: ['GET'], path: '/whoami', handler: (ctx) => ({ cookie: ctx.headers.cookie ?? null }) },
    ],
  })
  api.attach({
    basePath: '/stream',
    cors: { allowOrigins: [pageOrigin], allowCredentials: true },
    resources: [
      {
        methods: ['GET'],
        path: '/ticks',
        sse: { heartbeat: 0 },
        async *handler(ctx: Context) {
          connections++
          const last = ctx.headers['last-event-id'] as string | undefined
          lastEventIds.push(last)
          const from = Number(last ?? 0)
          if (connections === 1) yield { retry: 50, comment: 'reconnect quickly' }
          yield { id: String(from + 1), data: `tick ${from + 1}` }
          yield { id: String(from + 2), event: 'tock', data: `line one\nline two ${from + 2}` }
          // Then the stream ends: EventSource reconnects with Last-Event-ID.
        },
      },
    ],
  })
  await api.start()
  apiUrl = `http://127.0.0.1:${api.port}`

  // Any origin, no credentials.
  open = new Listener({ port: 0, host: '127.0.0.1' })
  open.attach({
    cors: { allowOrigins: '*' },
    resources: [{ methods: ['GET'], path: '/public', handler: () => ({ public: true }) }],
  })
  await open.start()
  openUrl = `http://127.0.0.1:${open.port}`

  // Only some other origin.
  closed = new Listener({ port: 0, host: '127.0.0.1' })
  closed.attach({
    cors: { allowOrigins: ['https://elsewhere.example'] },
    resources: [
      { methods: ['GET'], path: '/data', handler: () => ({ secret: true }) },
      {
        methods: ['GET'],
        path: '/events',
        sse: true,
        async *handler() {
          yield 'never read'
        },
      },
    ],
  })
  await closed.start()
  closedUrl = `http://127.0.0.1:${closed.port}`

  page = await browser.newPage()
  await page.goto(site.url)
  subscribe('http.server.request.start', onRequest)
}, 60_000)

afterAll(async () => {
  unsubscribe('http.server.request.start', onRequest)
  await page?.close()
  await browser?.close()
  await api?.immediateStop()
  await open?.immediateStop()
  await closed?.immediateStop()
  await site?.close().catch(() => undefined)
  rmSync(profile, { recursive: true, force: true })
})

beforeEach(() => {
  calls.length = 0
  wire.length = 0
})

type Outcome =
  | { ok: true; status: number; body: string; headers: Record<string, string | null> }
  | { ok: false; error: string }

/** Runs fetch in the page and reports what the page can see. */
function pageFetch(url: string, init: RequestInit, read: string[] = []): Promise<Outcome> {
  return page.evaluate(
    async ({ url, init, read }) => {
      try {
        const res = await fetch(url, init)
        const headers: Record<string, string | null> = {}
        for (const name of read) headers[name] = res.headers.get(name)
        return { ok: true as const, status: res.status, body: await res.text(), headers }
      } catch (e) {
        return { ok: false as const, error: String(e) }
      }
    },
    { url, init: init as Record<string, unknown>, read },
  )
}

describe('CORS as Chromium sees it', () => {
  it('lets the page read a simple GET and only the exposed headers', async () => {
    const out = await pageFetch(`${apiUrl}/api/items`, { headers: { authorization: 'Bearer t0k3n' } }, [
      'x-total',
      'x-secret',
      'content-type',
    ])
    expect(out).toEqual({
      ok: true,
      status: 200,
      body: '[1,2,3]',
      headers: { 'x-total': '3', 'x-secret': null, 'content-type': 'application/json' },
    })
    // Authorization is not safelisted: a preflight went first, answered without the filter.
    expect(wire).toEqual(['OPTIONS /api/items', 'GET /api/items'])
    expect(calls).toEqual(['filter GET /api/items', 'resource GET /api/items'])
  })

  it('lets the page read an error answer (401 from a filter) because it carries CORS headers', async () => {
    const out = await pageFetch(`${apiUrl}/api/items`, {})
    expect(out).toMatchObject({ ok: true, status: 401 })
  })

  it('runs a preflighted PUT with JSON and a custom header, the preflight never reaching filter or resource', async () => {
    const out = await pageFetch(`${apiUrl}/api/items/7`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t0k3n', 'content-type': 'application/json', 'x-trace': 'abc' },
      body: JSON.stringify({ name: 'seven' }),
    })
    expect(out).toMatchObject({ ok: true, status: 200 })
    expect(JSON.parse((out as { body: string }).body)).toEqual({
      id: '7',
      body: { name: 'seven' },
      trace: 'abc',
    })
    expect(wire).toEqual(['OPTIONS /api/items/7', 'PUT /api/items/7'])
    expect(calls).toEqual(['filter PUT /api/items/7', 'resource PUT /api/items/7'])
  })

  it('blocks a request with a header the policy does not allow, before it is sent', async () => {
    const out = await pageFetch(`${apiUrl}/api/items/7`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t0k3n', 'content-type': 'application/json', 'x-secret': '1' },
      body: '{}',
    })
    expect(out.ok).toBe(false)
    expect(wire).toEqual(['OPTIONS /api/items/7'])
    expect(calls).toEqual([])
  })

  it('blocks a method the policy does not allow, before it is sent', async () => {
    const out = await pageFetch(`${apiUrl}/api/items/7`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer t0k3n', 'content-type': 'application/json' },
      body: '{}',
    })
    expect(out.ok).toBe(false)
    expect(wire).toEqual(['OPTIONS /api/items/7'])
    expect(calls).toEqual([])
  })

  it('blocks the page from reading any response of a Listener that does not allow its origin', async () => {
    const out = await pageFetch(`${closedUrl}/data`, {})
    expect(out.ok).toBe(false)
  })

  it('sends and receives cookies with credentials: include when credentials are allowed', async () => {
    const login = await pageFetch(`${apiUrl}/session/login`, { method: 'POST', credentials: 'include' })
    expect(login).toMatchObject({ ok: true, status: 200 })
    const who = await pageFetch(`${apiUrl}/session/whoami`, { credentials: 'include' })
    expect(who).toMatchObject({ ok: true, status: 200 })
    expect(JSON.parse((who as { body: string }).body)).toEqual({ cookie: 'sid=abc123' })
    const without = await pageFetch(`${apiUrl}/session/whoami`, { credentials: 'omit' })
    expect(JSON.parse((without as { body: string }).body)).toEqual({ cookie: null })
  })

  it('reads an any-origin resource without credentials and is refused with them', async () => {
    const plain = await pageFetch(`${openUrl}/public`, {})
    expect(plain).toMatchObject({ ok: true, status: 200, body: '{"public":true}' })
    const credentialed = await pageFetch(`${openUrl}/public`, { credentials: 'include' })
    expect(credentialed.ok).toBe(false)
  })
})

describe('EventSource in Chromium against the Listener', () => {
  it('receives events, named events and multi-line data, and reconnects with Last-Event-ID after the server ends the stream', async () => {
    connections = 0
    lastEventIds.length = 0
    const got = await page.evaluate(
      (url) =>
        new Promise<Array<{ type: string; data: string; lastEventId: string }>>((resolve, reject) => {
          const source = new EventSource(url, { withCredentials: true })
          const seen: Array<{ type: string; data: string; lastEventId: string }> = []
          const record = (e: MessageEvent) => {
            seen.push({ type: e.type, data: e.data as string, lastEventId: e.lastEventId })
            if (seen.length === 4) {
              source.close()
              resolve(seen)
            }
          }
          source.onmessage = record
          source.addEventListener('tock', (e) => record(e as MessageEvent))
          setTimeout(() => {
            source.close()
            reject(new Error(`only ${JSON.stringify(seen)}`))
          }, 15_000)
        }),
      `${apiUrl}/stream/ticks`,
    )
    expect(got).toEqual([
      { type: 'message', data: 'tick 1', lastEventId: '1' },
      { type: 'tock', data: 'line one\nline two 2', lastEventId: '2' },
      { type: 'message', data: 'tick 3', lastEventId: '3' },
      { type: 'tock', data: 'line one\nline two 4', lastEventId: '4' },
    ])
    expect(lastEventIds.slice(0, 2)).toEqual([undefined, '2'])
  })

  it('fails an EventSource whose origin the Listener does not allow', async () => {
    const state = await page.evaluate(
      (url) =>
        new Promise<number>((resolve) => {
          const source = new EventSource(url)
          source.onmessage = () => resolve(-1)
          source.onerror = () => {
            // CLOSED (2): a CORS failure is fatal, EventSource does not reconnect.
            resolve(source.readyState)
            source.close()
          }
        }),
      `${closedUrl}/events`,
    )
    expect(state).toBe(2)
  })
})
