// Headless Chromium as a peer no one here wrote: a page the Listener serves on a loopback port
// opens WebSockets to the Listener's upgrade resources on that same port. Needs
// /usr/bin/chromium (.ci/run installs it).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type Filter,
  HttpError,
  HttpResponse,
  Listener,
  resource,
  type WebSocketCaller,
  type WebSocketService,
} from '../src/index.ts'

let browser: BrowserContext
let profile: string
let page: Page
let listener: Listener | undefined

/** Closes, opens and messages the service saw, in order. */
const events: string[] = []
let onEvent: (() => void) | undefined

function record(event: string): void {
  events.push(event)
  onEvent?.()
}

/** Resolves once an event matching `pattern` was recorded. */
function seen(pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (events.some((e) => pattern.test(e))) {
        onEvent = undefined
        resolve()
      }
    }
    onEvent = check
    check()
  })
}

const echo: WebSocketService = {
  onOpen: (c) => record(`open ${String(c.attributes.get('user'))} ${c.negotiatedSubProtocol}`),
  onText: (c, text) => c.pushText(text),
  onBinary: (c, data) => c.pushBinary(data),
  onClose: (_c, code, reason) => record(`close ${code} ${reason}`),
}

const auth: Filter = {
  request(ctx) {
    // A browser cannot set headers on a WebSocket: the token comes in the query.
    if ((ctx.query as { token?: string }).token !== 's3cret') throw new HttpError(401, 'a token is required')
    ctx.state.user = 'alice'
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
  page = await browser.newPage()
}, 60_000)

afterAll(async () => {
  await page?.close()
  await browser?.close()
  rmSync(profile, { recursive: true, force: true })
})

afterEach(async () => {
  await listener?.immediateStop()
  listener = undefined
  events.length = 0
})

/** A Listener serving the test page at `/` and the upgrade resources under `/ws`. */
async function start(service: WebSocketService = echo): Promise<string> {
  listener = new Listener({ port: 0, host: '127.0.0.1', logger: { error() {}, warn() {} } })
  listener.attach({
    resources: [
      {
        methods: ['GET'],
        path: '/',
        handler: () =>
          new HttpResponse({
            headers: { 'content-type': 'text/html; charset=utf-8' },
            body: '<!doctype html><title>x-http</title><p>test page</p>',
          }),
      },
    ],
  })
  listener.attach({
    basePath: '/ws',
    filters: [auth],
    resources: [
      { path: '/echo', upgrade: { service, subProtocols: ['chat.v1'] } },
      resource({
        path: '/rooms/{id}',
        params: { id: 'integer' },
        upgrade: {
          subProtocols: ['chat.v1'],
          service: (ctx) => ({ onOpen: (c: WebSocketCaller) => c.pushText(`room ${ctx.params.id * 2}`) }),
        },
      }),
    ],
  })
  await listener.start()
  const origin = `http://127.0.0.1:${listener.port}`
  await page.goto(`${origin}/`)
  return origin.replace('http', 'ws')
}

/** Runs in the page: opens a WebSocket, sends the messages, collects what comes back and how it closed. */
function session(
  url: string,
  script: { send: Array<string | number[]>; closeWith?: [number, string]; expect?: number },
) {
  return page.evaluate(
    ({ url, script }) =>
      new Promise<{
        received: Array<string | number[]>
        code: number
        reason: string
        protocol: string
        opened: boolean
      }>((resolve) => {
        const ws = new WebSocket(url, ['chat.v1'])
        ws.binaryType = 'arraybuffer'
        const received: Array<string | number[]> = []
        let opened = false
        const wanted = script.expect ?? script.send.length
        ws.onopen = () => {
          opened = true
          for (const m of script.send) ws.send(typeof m === 'string' ? m : new Uint8Array(m))
        }
        ws.onmessage = (e) => {
          received.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data as ArrayBuffer)])
          if (received.length === wanted && script.closeWith) ws.close(...script.closeWith)
        }
        ws.onclose = (e) =>
          resolve({ received, code: e.code, reason: e.reason, protocol: ws.protocol, opened })
      }),
    { url, script },
  )
}

describe('headless Chromium opening WebSockets to Listener resources', () => {
  it('echoes text and binary through the upgrade resource and passes its close code to the service', async () => {
    const base = await start()
    const result = await session(`${base}/ws/echo?token=s3cret`, {
      send: ['héllo wörld', [0, 1, 2, 255]],
      closeWith: [4000, 'browser done'],
    })
    expect(result).toMatchObject({
      received: ['héllo wörld', [0, 1, 2, 255]],
      protocol: 'chat.v1',
      code: 4000,
      reason: 'browser done',
    })
    await seen(/^close 4000 browser done$/)
    expect(events[0]).toBe('open alice chat.v1')
  })

  it('shows the browser the close code and reason the service sends', async () => {
    const base = await start({ onText: (c, text) => c.close(4321, `closing after ${text}`) })
    const result = await session(`${base}/ws/echo?token=s3cret`, { send: ['bye'] })
    expect(result).toMatchObject({ opened: true, code: 4321, reason: 'closing after bye' })
  })

  it('runs the service made for the room the page asked for', async () => {
    const base = await start()
    const result = await session(`${base}/ws/rooms/21?token=s3cret`, {
      send: [],
      expect: 1,
      closeWith: [1000, ''],
    })
    expect(result.received).toEqual(['room 42'])
  })

  it('fails the handshake of a page the filter refuses, and the service never opens', async () => {
    const base = await start()
    const result = await session(`${base}/ws/echo`, { send: ['x'] })
    // A browser sees a refused handshake as a close with 1006, never the HTTP status.
    expect(result).toMatchObject({ opened: false, code: 1006 })
    expect(events).toEqual([])
  })

  it('sends 1001 to the browser on gracefulStop', async () => {
    const base = await start()
    const running = session(`${base}/ws/echo?token=s3cret`, { send: [] })
    await seen(/^open /)
    await listener!.gracefulStop({ timeout: 5_000 })
    listener = undefined
    expect((await running).code).toBe(1001)
  })
})
