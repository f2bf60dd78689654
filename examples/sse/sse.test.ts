import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

let program: Program & { match: RegExpMatchArray }
let base: string

beforeAll(async () => {
  program = await startProgram(
    dir,
    'main.ts',
    { PORT: '0', TICK_MS: '20' },
    /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/,
  )
  base = program.match[1]!.replace('localhost', '127.0.0.1')
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

describe('sse example', () => {
  it('streams ticks as text/event-stream, each with an id', async () => {
    const res = await request(`${base}/ticks`, { headers: { origin: 'http://page.example' } })
    expect(res.headers['content-type']).toBe('text/event-stream')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['access-control-allow-origin']).toBe('*')
    let text = ''
    for await (const chunk of res.body) {
      text += String(chunk)
      if (text.includes('id: 2\n')) break
    }
    expect(text).toMatch(/^retry: 2000\n\nevent: tick\nid: 1\ndata: \{"n":1,"at":"[^"]+"\}\n\n/)
  })

  it('resumes after Last-Event-ID', async () => {
    const res = await request(`${base}/ticks`, { headers: { 'last-event-id': '41' } })
    let text = ''
    for await (const chunk of res.body) {
      text += String(chunk)
      if (text.includes('\n\nevent: tick')) break
    }
    expect(text).toContain('id: 42\n')
  })

  it('is read by client.ts with client.sse()', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'client.ts'], {
      cwd: dir,
      env: { ...process.env, URL: `${base}/ticks`, COUNT: '3' },
    })
    const lines = stdout.trim().split('\n')
    expect(lines.slice(0, 3).map((l) => l.replace(/ at .*/, ''))).toEqual([
      'tick #1: n=1',
      'tick #2: n=2',
      'tick #3: n=3',
    ])
    expect(lines[3]).toBe('read 3 events, last id 3')
  })
})
