// Headless Chromium as a peer no one here wrote: a page served on loopback opens a
// WebSocket to the listener. Needs /usr/bin/chromium (.ci/run installs it).
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { WebSocketListener } from '../src/index.ts'
import { echo, recorder } from './helpers/recorder.ts'

let browser: BrowserContext
let profile: string
let page: Page
let site: Listening

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'x-websocket-chromium-'))
  // playwright takes the fresh profile directory as the persistent context's userDataDir.
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
  // The page the browser loads: its origin is this loopback server.
  site = await listen(
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', connection: 'close' })
      res.end('<!doctype html><title>x-websocket</title><p>test page</p>')
    }),
  )
  page = await browser.newPage()
  await page.goto(site.url)
}, 60_000)

afterAll(async () => {
  await page?.close()
  await browser?.close()
  await site?.close().catch(() => undefined)
  rmSync(profile, { recursive: true, force: true })
})

/** Runs in the page: opens a WebSocket, sends the messages, collects what comes back and how it closed. */
async function session(
  url: string,
  script: { send: Array<string | number[]>; closeWith?: [number, string] },
) {
  return page.evaluate(
    ({ url, script }) =>
      new Promise<{ received: Array<string | number[]>; code: number; reason: string; protocol: string }>(
        (resolve, reject) => {
          const ws = new WebSocket(url, ['chat.v1'])
          ws.binaryType = 'arraybuffer'
          const received: Array<string | number[]> = []
          ws.onerror = () => reject(new Error('websocket error'))
          ws.onopen = () => {
            for (const m of script.send) ws.send(typeof m === 'string' ? m : new Uint8Array(m))
          }
          ws.onmessage = (e) => {
            received.push(typeof e.data === 'string' ? e.data : [...new Uint8Array(e.data as ArrayBuffer)])
            if (received.length === script.send.length && script.closeWith) ws.close(...script.closeWith)
          }
          ws.onclose = (e) => resolve({ received, code: e.code, reason: e.reason, protocol: ws.protocol })
        },
      ),
    { url, script },
  )
}

describe('headless Chromium as a client', () => {
  it('echoes text and binary, negotiates the sub-protocol and passes its close code to the service', async () => {
    const rec = recorder(echo)
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: rec.service,
      subProtocols: ['chat.v1'],
    })
    await listener.start()
    try {
      const result = await session(listener.url, {
        send: ['héllo wörld', [0, 1, 2, 255]],
        closeWith: [4000, 'browser done'],
      })
      expect(result.received).toEqual(['héllo wörld', [0, 1, 2, 255]])
      expect(result.protocol).toBe('chat.v1')
      expect(await rec.next('close')).toMatchObject({ code: 4000, reason: 'browser done' })
      const { caller } = await rec.next('open')
      expect(caller.negotiatedSubProtocol).toBe('chat.v1')
    } finally {
      await listener.gracefulStop()
    }
  })

  it('shows the browser the close code and reason the service sends', async () => {
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      subProtocols: ['chat.v1'],
      service: { onText: (c, text) => c.close(4321, `closing after ${text}`) },
    })
    await listener.start()
    try {
      const result = await session(listener.url, { send: ['bye'] })
      expect(result).toMatchObject({ code: 4321, reason: 'closing after bye' })
    } finally {
      await listener.gracefulStop()
    }
  })

  it('sends 1001 to the browser on gracefulStop', async () => {
    const rec = recorder()
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: rec.service,
      subProtocols: ['chat.v1'],
    })
    await listener.start()
    const running = session(listener.url, { send: [] })
    await rec.next('open')
    await listener.gracefulStop()
    expect((await running).code).toBe(1001)
  })

  it('refuses the page with 403 when its origin is not allowed, and accepts it when it is', async () => {
    const denied = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: echo,
      subProtocols: ['chat.v1'],
      allowedOrigins: ['https://elsewhere.example'],
    })
    const allowed = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: echo,
      subProtocols: ['chat.v1'],
      allowedOrigins: [site.url],
    })
    await denied.start()
    await allowed.start()
    try {
      await expect(session(denied.url, { send: ['x'] })).rejects.toThrow()
      expect(denied.connectionCount).toBe(0)
      const ok = await session(allowed.url, { send: ['x'], closeWith: [1000, ''] })
      expect(ok.received).toEqual(['x'])
    } finally {
      await denied.gracefulStop()
      await allowed.gracefulStop()
    }
  })
})
