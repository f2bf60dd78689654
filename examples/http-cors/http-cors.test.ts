import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

let program: Program & { match: RegExpMatchArray }
let api: string
let pageUrl: string
let origin: string

beforeAll(async () => {
  program = await startProgram(
    dir,
    'main.ts',
    { PORT: '0' },
    /API listening on (http:\/\/localhost:\d+), page on (http:\/\/localhost:\d+)[\s\S]*Stop with/,
  )
  api = program.match[1]!.replace('localhost', '127.0.0.1')
  pageUrl = program.match[2]!.replace('localhost', '127.0.0.1')
  origin = program.match[2]!
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

function cors(headers: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('access-control-')))
}

describe('http-cors example', () => {
  it('serves the page that calls the API', async () => {
    const res = await request(pageUrl)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(await res.body.text()).toContain(program.match[1]!)
  })

  it('answers the page origin preflight with the CORS headers', async () => {
    const res = await request(`${api}/api/books/1`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    })
    await res.body.dump()
    expect(res.statusCode).toBe(204)
    expect(cors(res.headers)).toEqual({
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '600',
    })
  })

  it.each([
    { name: 'another origin', origin: 'https://evil.example', method: 'PUT' },
    { name: 'a method not allowed', origin: undefined, method: 'DELETE' },
  ])('refuses a preflight from $name with 403 and no CORS header', async (c) => {
    const res = await request(`${api}/api/books/1`, {
      method: 'OPTIONS',
      headers: { origin: c.origin ?? origin, 'access-control-request-method': c.method },
    })
    expect(res.statusCode).toBe(403)
    expect(cors(res.headers)).toEqual({})
    expect(await res.body.json()).toMatchObject({ code: 'X_ERR_HTTP_CORS_REJECTED' })
  })

  it('exposes x-total-count to the page origin only', async () => {
    const allowed = await request(`${api}/api/books`, { headers: { origin } })
    expect(cors(allowed.headers)).toEqual({
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-total-count',
    })
    expect(await allowed.body.json()).toEqual([{ title: 'Dune' }, { title: 'Solaris' }])
    const refused = await request(`${api}/api/books`, { headers: { origin: 'https://evil.example' } })
    await refused.body.dump()
    expect(cors(refused.headers)).toEqual({})
    expect(refused.headers.vary).toBe('Origin')
  })

  it('gets 204 for the documented curl preflight and 403 for the other one', async () => {
    const lines = program
      .output()
      .split('\n')
      .filter((l) => l.includes('curl -i -X OPTIONS'))
    expect(lines).toHaveLength(2)
    const status = async (line: string) => {
      const { stdout } = await run('sh', ['-c', `${line.trim()} -s -o /dev/null -w '%{http_code}'`])
      return stdout
    }
    expect(await status(lines[0]!)).toBe('204')
    expect(await status(lines[1]!)).toBe('403')
  })
})
