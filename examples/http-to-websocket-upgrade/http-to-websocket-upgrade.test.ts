import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

let program: Program & { match: RegExpMatchArray }
let base: string

beforeAll(async () => {
  program = await startProgram(
    dir,
    'main.ts',
    { PORT: '0' },
    /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/,
  )
  base = program.match[1]!.replace('localhost', '127.0.0.1')
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

/** The printed line that contains `fragment` (or matches it). */
function printed(fragment: string | RegExp): string {
  const lines = program
    .output()
    .split('\n')
    .map((l) => l.trim())
  const line = lines.find((l) => (typeof fragment === 'string' ? l.includes(fragment) : fragment.test(l)))
  if (line === undefined) throw new Error(`no printed line matches ${fragment}`)
  return line
}

interface Member {
  readonly ws: WebSocket
  next(): Promise<string>
  readonly closed: Promise<number>
}

/** Joins a room as the owner of `token`, and reads what the room says. */
function join(room: string, token: string): Promise<Member> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/chat/rooms/${room}?token=${token}`, ['chat.v1'])
  const queue: string[] = []
  const waiting: Array<(s: string) => void> = []
  ws.on('message', (data) => {
    const text = String(data)
    const w = waiting.shift()
    if (w) w(text)
    else queue.push(text)
  })
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () =>
      resolve({
        ws,
        closed,
        next: () => {
          const m = queue.shift()
          return m === undefined ? new Promise((r) => waiting.push(r)) : Promise.resolve(m)
        },
      }),
    )
  })
}

describe('http-to-websocket-upgrade example', () => {
  it('serves the public HTTP resource', async () => {
    const { stdout } = await run('sh', ['-c', printed('/api/hello')])
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(stdout).toContain('{"hello":"world"}')
  })

  it('answers the room without a token with 401, as the printed curl command shows', async () => {
    const { stdout } = await run('sh', ['-c', printed(/^curl -i http:\S+\/chat\/rooms\/lobby$/)])
    expect(stdout).toMatch(/^HTTP\/1\.1 401 Unauthorized/)
    expect(stdout).toMatch(/www-authenticate: Bearer/i)
  })

  it('refuses a WebSocket without a token with 401 and no upgrade', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/chat/rooms/lobby`)
      ws.on('error', () => {})
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        ws.terminate()
      })
    })
    expect(status).toBe(401)
  })

  it('upgrades with a token, broadcasts in the room, and lists the members on a plain GET', async () => {
    const alice = await join('kitchen', 'secret-token')
    expect(await alice.next()).toBe('alice joined kitchen')
    const bob = await join('kitchen', 'other-token')
    expect(await bob.next()).toBe('bob joined kitchen')
    expect(await alice.next()).toBe('bob joined kitchen')
    expect(alice.ws.protocol).toBe('chat.v1')

    const res = await request(`${base}/chat/rooms/kitchen`, {
      headers: { authorization: 'Bearer secret-token' },
    })
    expect(await res.body.json()).toEqual({ room: 'kitchen', members: ['alice', 'bob'] })

    bob.ws.send('hi all')
    expect(await alice.next()).toBe('bob: hi all')
    expect(await bob.next()).toBe('bob: hi all')
    bob.ws.close(1000)
    expect(await alice.next()).toBe('bob left kitchen')
    alice.ws.close(1000)
    await Promise.all([alice.closed, bob.closed])
  })

  it('switches protocols for the printed curl handshake', async () => {
    const line = printed('Upgrade: websocket')
    // curl keeps the WebSocket open until its --max-time, then exits with 28.
    const out = await run('sh', ['-c', line]).catch((e: { stdout: string; code: number }) => e)
    expect(out.stdout).toMatch(/^HTTP\/1\.1 101 Switching Protocols/)
    expect(out.stdout).toContain('alice joined lobby')
  })

  it("talks to Python's websockets client as printed", async () => {
    const line = printed('python3 -m websockets').replace(/^python3/, '/usr/bin/python3')
    const child = spawn('sh', ['-c', line], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await new Promise<void>((resolve) => {
      const check = () => {
        if (out.includes('alice joined lobby')) resolve()
      }
      child.stdout.on('data', check)
      check()
    })
    child.stdin.write('hello from python\n')
    await new Promise<void>((resolve) => {
      const check = () => {
        if (out.includes('alice: hello from python')) resolve()
      }
      child.stdout.on('data', check)
      check()
    })
    child.stdin.end()
    expect(await exited).toBe(0)
  })

  it('answers a plain GET to the WebSocket-only resource with 426', async () => {
    const res = await request(`${base}/chat/echo?token=secret-token`)
    expect(res.statusCode).toBe(426)
    expect(res.headers.upgrade).toBe('websocket')
    await res.body.dump()
  })
})
