import { execFile } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))
const READY = /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/

interface Entry {
  level: number
  side: 'server' | 'client'
  direction: 'inbound' | 'outbound'
  kind: string
  requestId: string
  method: string
  url: string
  status?: number
  headers?: Record<string, string>
  payload?: string
}

const programs: Program[] = []
afterEach(async () => {
  for (const p of programs.splice(0)) expect(await p.stop()).toBe(0)
})

/** The trace entries among the lines a program wrote (its own messages are plain text). */
function entries(text: string): Entry[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Entry)
}

/** Resolves with get()'s first defined answer, asking again each time `emitter` emits `event`. */
function until<T>(emitter: EventEmitter, event: string, get: () => T | undefined, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const v = get()
      if (v === undefined) return
      clearTimeout(timer)
      emitter.off(event, check)
      resolve(v)
    }
    const timer = setTimeout(() => {
      emitter.off(event, check)
      reject(new Error(`no ${what} within 20 s`))
    }, 20_000)
    emitter.on(event, check)
    check()
  })
}

/** Every line of one request id: the front service's, the Client's and the greeting service's. */
const FLOW = [
  'server inbound request /hello',
  'client outbound request /greeting',
  'server inbound request /greeting',
  'server outbound response /greeting',
  'server outbound response-body /greeting',
  'client inbound response /greeting',
  'client inbound response-body /greeting',
  'server outbound response /hello',
  'server outbound response-body /hello',
]

function flow(es: Entry[], id: string): string[] {
  return es
    .filter((e) => e.requestId === id)
    .map((e) => `${e.side} ${e.direction} ${e.kind} ${new URL(e.url, 'http://x').pathname}`)
}

describe('http-trace-logs example', () => {
  it('traces the documented curl call at level TRACE on the console, every line under its request id', async () => {
    const program = await startProgram(dir, 'main.ts', { PORT: '0' }, READY)
    programs.push(program)
    expect(program.output()).toContain('trace log: console (stdout)')
    const line = program
      .output()
      .split('\n')
      .find((l) => l.includes('X-Request-Id: demo-1'))!
    const { stdout } = await run('sh', ['-c', line.trim()])
    expect(stdout).toBe('Hello, World!')
    const es = await until(
      program.child.stdout!,
      'data',
      () => {
        const got = entries(program.output())
        return flow(got, 'demo-1').length >= FLOW.length ? got : undefined
      },
      'trace lines',
    )
    expect(flow(es, 'demo-1').sort()).toEqual([...FLOW].sort())
    expect(es.every((e) => e.level === 10)).toBe(true)
    const answer = es.find((e) => e.kind === 'response-body' && e.url === '/hello')!
    expect(answer).toMatchObject({ status: 200, payload: 'Hello, World!' })
  })

  it('generates a request id when the caller sends none, and echoes it', async () => {
    const program = await startProgram(dir, 'main.ts', { PORT: '0' }, READY)
    programs.push(program)
    const base = program.match[1]!.replace('localhost', '127.0.0.1')
    const res = await fetch(`${base}/hello`, { headers: { authorization: 'Bearer secret' } })
    expect(await res.text()).toBe('Hello, World!')
    const id = res.headers.get('x-request-id')!
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/)
    const es = await until(
      program.child.stdout!,
      'data',
      () => {
        const got = entries(program.output())
        return flow(got, id).length >= FLOW.length ? got : undefined
      },
      'trace lines',
    )
    const inbound = es.find((e) => e.requestId === id && e.kind === 'request' && e.side === 'server')!
    expect(inbound.headers!.authorization).toBe('[Redacted]')
  })

  it('sends the trace lines to a TCP log collector, and keeps serving while the collector is down', async () => {
    const received: string[] = []
    const sockets = new Set<Socket>()
    const events = new EventEmitter()
    const collector = createServer((socket) => {
      sockets.add(socket)
      events.emit('change')
      socket.setEncoding('utf8')
      let partial = ''
      socket.on('data', (d: string) => {
        partial += d
        const parts = partial.split('\n')
        partial = parts.pop()!
        received.push(...parts)
        events.emit('change')
      })
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
    const port = (collector.address() as { port: number }).port
    try {
      const program = await startProgram(
        dir,
        'main.ts',
        { PORT: '0', TRACE_LOG_HOST: '127.0.0.1', TRACE_LOG_PORT: String(port) },
        READY,
      )
      programs.push(program)
      expect(program.output()).toContain(`trace log: tcp://127.0.0.1:${port}`)
      const base = program.match[1]!.replace('localhost', '127.0.0.1')
      await until(events, 'change', () => (sockets.size > 0 ? true : undefined), 'collector connection')
      const res = await fetch(`${base}/hello`, { headers: { 'x-request-id': 'tcp-1' } })
      expect(await res.text()).toBe('Hello, World!')
      const es = await until(
        events,
        'change',
        () => {
          const got = received.map((l) => JSON.parse(l) as Entry)
          return flow(got, 'tcp-1').length >= FLOW.length ? got : undefined
        },
        'trace lines over TCP',
      )
      expect(flow(es, 'tcp-1').sort()).toEqual([...FLOW].sort())
      expect(entries(program.output())).toEqual([])
      // The collector goes away: the service still answers.
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => collector.close(() => resolve()))
      const again = await fetch(`${base}/hello`)
      expect(await again.text()).toBe('Hello, World!')
    } finally {
      if (collector.listening) collector.close()
    }
  })
})
