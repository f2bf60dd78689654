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
    { PORT: '0' },
    /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/,
  )
  base = program.match[1]!.replace('localhost', '127.0.0.1')
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

describe('filters example', () => {
  it('serves the public service without a token, with a request id', async () => {
    const res = await request(`${base}/public/health`)
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(await res.body.json()).toEqual({ status: 'up' })
  })

  it('answers 401 with WWW-Authenticate and a request id when the token is missing', async () => {
    const res = await request(`${base}/private/greeting`, { headers: { 'x-request-id': 'r-1' } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    expect(res.headers['x-request-id']).toBe('r-1')
    expect(await res.body.json()).toMatchObject({ status: 401, code: 'X_ERR_HTTP_STATUS' })
  })

  it('greets the user of the documented curl command', async () => {
    const line = program
      .output()
      .split('\n')
      .find((l) => l.includes('Authorization: Bearer'))!
    const { stdout } = await run('sh', ['-c', line.trim()])
    expect(JSON.parse(stdout)).toEqual({ greeting: 'Hello, alice!' })
  })

  it('rejects an unknown token', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Authorization: Bearer wrong',
      `${base}/private/greeting`,
    ])
    expect(stdout).toBe('401')
  })
})
