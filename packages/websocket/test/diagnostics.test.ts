import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketClient, WebSocketListener } from '../src/index.ts'
import { FakeClock } from './helpers/fake-clock.ts'
import { rawHandshake, upgradeRequest } from './helpers/raw.ts'
import { recorder } from './helpers/recorder.ts'
import { refusedStatus, wsPeer } from './helpers/ws-peer.ts'

const CHANNELS = ['open', 'close', 'error', 'upgrade-rejected', 'heartbeat-timeout', 'reconnect'] as const
type Published = { channel: (typeof CHANNELS)[number]; message: Record<string, unknown> }

let published: Published[] = []
const handlers = CHANNELS.map((channel) => {
  const handler = (message: unknown) =>
    published.push({ channel, message: message as Record<string, unknown> })
  return [`x:websocket:${channel}`, handler] as const
})
const cleanups: Array<() => unknown> = []

function listen(): void {
  published = []
  for (const [name, handler] of handlers) subscribe(name, handler)
}

afterEach(async () => {
  for (const [name, handler] of handlers) unsubscribe(name, handler)
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start(options: Partial<ConstructorParameters<typeof WebSocketListener>[0]> = {}) {
  const listener = new WebSocketListener({ port: 0, host: '127.0.0.1', service: {}, ...options })
  await listener.start()
  cleanups.push(() => listener.immediateStop())
  return listener
}

describe('diagnostics channels', () => {
  it('publishes open, close and error for a connection, and upgrade-rejected for a refused one', async () => {
    listen()
    const rec = recorder()
    const listener = await start({ service: rec.service, maxConnections: 1 })
    const peer = await wsPeer(listener.url)
    const { caller } = await rec.next('open')
    expect(await refusedStatus(listener.url)).toBe(503)
    peer.ws.send(Buffer.from([0xff]), { binary: false }) // invalid UTF-8
    await rec.next('close')
    expect(published.map((p) => p.channel)).toEqual(['open', 'upgrade-rejected', 'error', 'close'])
    expect(published[0]!.message).toMatchObject({ caller, side: 'server' })
    expect(published[1]!.message).toMatchObject({
      statusCode: 503,
      reason: 'capacity',
      remoteAddress: '127.0.0.1',
    })
    expect(published[2]!.message.error).toMatchObject({ code: 'X_ERR_WEBSOCKET_INVALID_UTF8' })
    expect(published[3]!.message).toMatchObject({ caller, side: 'server', code: 1006 })
  })

  it('publishes heartbeat-timeout when the heartbeat ends a silent peer', async () => {
    listen()
    const clock = new FakeClock()
    const rec = recorder()
    const listener = await start({ service: rec.service, heartbeat: { interval: 100 }, clock })
    const silent = await rawHandshake(listener.port, upgradeRequest(listener.port))
    const { caller } = await rec.next('open')
    clock.advance(100)
    clock.advance(100)
    await silent.ended
    expect(published.find((p) => p.channel === 'heartbeat-timeout')?.message).toMatchObject({ caller })
  })

  it('publishes reconnect with the retry number and delay when a client reconnects', async () => {
    const rec = recorder()
    const listener = await start({ service: rec.service })
    const clock = new FakeClock()
    const client = new WebSocketClient(listener.url, { heartbeat: false, clock, retry: { interval: 40 } })
    cleanups.push(() => client.close())
    await client.connect()
    const { caller } = await rec.next('open')
    listen()
    await caller.close(1011, 'restart')
    await clock.waitForTimer(40)
    expect(published.find((p) => p.channel === 'reconnect')?.message).toEqual({ client, retry: 1, delay: 40 })
    expect(
      published.find((p) => p.channel === 'close' && p.message.side === 'client')?.message,
    ).toMatchObject({
      caller: client,
      code: 1011,
    })
  })
})
