import { execFile } from 'node:child_process'
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

describe('showcase', () => {
  it('prints the curl commands to try', () => {
    expect(program.output()).toContain(
      `curl -X POST ${program.match[1]}/helloWorld/Alice -H 'Content-Type: text/plain' -d 'Nice to meet you.'`,
    )
  })

  it('answers the documented curl command', async () => {
    const line = program
      .output()
      .split('\n')
      .find((l) => l.includes('curl -X POST'))!
    const { stdout } = await run('sh', ['-c', line.trim()])
    expect(stdout).toBe("Hello, World! I'm Alice. Nice to meet you.")
  })

  it('answers undici with 201 and a text body', async () => {
    const res = await request(`${base}/helloWorld/Bob`, {
      method: 'POST',
      body: 'How are you?',
      headers: { 'content-type': 'text/plain' },
    })
    expect(res.statusCode).toBe(201)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(await res.body.text()).toBe("Hello, World! I'm Bob. How are you?")
  })

  it('prints the WebSocket echo address and echoes text and binary on the same port', async () => {
    const printed = program
      .output()
      .match(/WebSocket echo on the same port: (ws:\/\/localhost:\d+\/ws\/echo)/)
    expect(printed).not.toBeNull()
    const ws = new WebSocket(printed![1]!.replace('localhost', '127.0.0.1'))
    const messages: Array<{ data: Buffer; binary: boolean }> = []
    const received = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (messages.length >= n) resolve()
        }
        ws.on('message', (data: Buffer, binary: boolean) => {
          messages.push({ data, binary })
          check()
        })
        check()
      })
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const both = received(2)
    ws.send('hello, echo')
    ws.send(Buffer.from([1, 2, 3]))
    await both
    expect(messages[0]).toEqual({ data: Buffer.from('hello, echo'), binary: false })
    expect(messages[1]).toEqual({ data: Buffer.from([1, 2, 3]), binary: true })
    // HTTP keeps working on the port while the WebSocket is open.
    const res = await request(`${base}/helloWorld/Eve`, { method: 'POST', body: 'Hi.' })
    expect(await res.body.text()).toBe("Hello, World! I'm Eve. Hi.")
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.close(1000)
    expect(await closed).toBe(1000)
  })

  it('answers curl with 405 and Allow for another method', async () => {
    const { stdout } = await run('curl', ['-si', '-X', 'DELETE', `${base}/helloWorld/Alice`])
    expect(stdout).toMatch(/^HTTP\/1.1 405/)
    expect(stdout).toMatch(/allow: OPTIONS, POST/i)
    expect(stdout).toContain('application/problem+json')
  })
})
