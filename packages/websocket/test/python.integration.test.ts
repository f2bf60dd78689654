// Python's `websockets` (Debian python3-websockets, run with /usr/bin/python3) as a client
// of the listener and as a server for WebSocketClient. .ci/run installs it.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketClient, WebSocketListener } from '../src/index.ts'
import { FakeClock } from './helpers/fake-clock.ts'
import { echo, recorder } from './helpers/recorder.ts'

const PYTHON = '/usr/bin/python3'
const run = promisify(execFile)
const script = (name: string) => fileURLToPath(new URL(`python/${name}`, import.meta.url))

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function pythonClient(url: string, mode: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(PYTHON, [script('client.py'), url, mode], { timeout: 15_000 })
  return JSON.parse(stdout.trim()) as Record<string, unknown>
}

/** Starts server.py and resolves with its URL once it prints its port. */
function pythonServer(): Promise<string> {
  const child: ChildProcess = spawn(PYTHON, [script('server.py')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  cleanups.push(() => {
    child.stdin?.end()
    return exited
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.stdout!.once('data', (chunk: Buffer) => resolve(`ws://127.0.0.1:${chunk.toString().trim()}`))
  })
}

describe('Python websockets as a client of WebSocketListener', () => {
  it('echoes text and binary, answers its ping and hears its close code', async () => {
    const rec = recorder(echo)
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      service: rec.service,
      subProtocols: ['chat.v1'],
    })
    await listener.start()
    cleanups.push(() => listener.gracefulStop())
    const out = await pythonClient(listener.url, 'echo')
    expect(out).toEqual({
      subprotocol: 'chat.v1',
      text: 'hello from python',
      binary: [0, 1, 2, 255],
      pong: true,
      code: 4000,
      reason: 'py done',
    })
    expect(await rec.next('close')).toMatchObject({ code: 4000, reason: 'py done' })
  })

  it('receives the close code and reason the service sends', async () => {
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      subProtocols: ['chat.v1'],
      service: { onText: (c) => c.close(4100, 'service closes') },
    })
    await listener.start()
    cleanups.push(() => listener.gracefulStop())
    const out = await pythonClient(listener.url, 'server-closes')
    expect(out).toMatchObject({ code: 4100, reason: 'service closes' })
  })
})

describe('WebSocketClient against a Python websockets server', () => {
  it('echoes, reconnects after the server drops the connection, and stops after a normal close', async () => {
    const url = await pythonServer()
    const clock = new FakeClock()
    const rec = recorder()
    const client = new WebSocketClient(url, {
      callbackService: rec.service,
      subProtocols: ['chat.v1'],
      heartbeat: false,
      clock,
      retry: { interval: 250 },
    })
    cleanups.push(() => client.close())
    await client.connect()
    expect(client.negotiatedSubProtocol).toBe('chat.v1')
    await client.pushText('ping from node')
    expect((await rec.next('text')).text).toBe('ping from node')

    await client.pushText('drop')
    expect((await rec.next('close')).code).toBe(1006)
    await clock.waitForTimer(250)
    clock.advance(250)
    await rec.nth('open', 2)
    await client.pushBinary(Buffer.from([7, 7]))
    expect((await rec.next('binary')).data).toEqual(Buffer.from([7, 7]))

    await client.pushText('bye')
    expect(await rec.next('close')).toMatchObject({ code: 1000, reason: 'python says bye' })
    expect(client.state).toBe('closed')
    expect(clock.pending()).toEqual([])
  })
})
