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
    'server.ts',
    { PORT: '0' },
    /listening on (http:\/\/localhost:\d+)[\s\S]*Stop with/,
  )
  base = program.match[1]!.replace('localhost', '127.0.0.1')
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

describe('caching example (server)', () => {
  it('answers 200 with Cache-Control, ETag and Last-Modified, then 304 for the same ETag', async () => {
    const first = await request(`${base}/articles/1`)
    expect(first.statusCode).toBe(200)
    expect(first.headers['cache-control']).toBe('public, max-age=60, must-revalidate')
    expect(first.headers.etag).toBe('"article-v1"')
    expect(first.headers['last-modified']).toBe('Thu, 01 Jan 2026 00:00:00 GMT')
    expect(await first.body.json()).toEqual({ title: 'Caching', body: 'Validators save bandwidth.' })

    const second = await request(`${base}/articles/1`, { headers: { 'if-none-match': '"article-v1"' } })
    expect(second.statusCode).toBe(304)
    expect(second.headers.etag).toBe('"article-v1"')
    expect(await second.body.text()).toBe('')

    const since = await request(`${base}/articles/1`, {
      headers: { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' },
    })
    await since.body.dump()
    expect(since.statusCode).toBe(304)
  })

  it('prints curl commands that show 200 then 304', async () => {
    const lines = program
      .output()
      .split('\n')
      .filter((l) => l.trim().startsWith('curl -i '))
    const status = async (line: string) =>
      (await run('sh', ['-c', `${line.trim()} -s -o /dev/null -w '%{http_code}'`])).stdout
    expect(lines).toHaveLength(3)
    expect(await status(lines[0]!)).toBe('200')
    expect(await status(lines[1]!)).toBe('304')
    expect(await status(lines[2]!)).toBe('412')
  })

  it('refuses a PUT with a stale If-Match (412) and takes one with the current ETag', async () => {
    const stale = await request(`${base}/articles/1`, {
      method: 'PUT',
      headers: { 'if-match': '"article-v0"', 'content-type': 'application/json' },
      body: '{"title":"Lost"}',
    })
    expect(stale.statusCode).toBe(412)
    expect(await stale.body.json()).toMatchObject({ code: 'X_ERR_HTTP_PRECONDITION_FAILED' })
    const current = await request(`${base}/articles/1`, {
      method: 'PUT',
      headers: { 'if-match': '"article-v1"', 'content-type': 'application/json' },
      body: '{"title":"Kept"}',
    })
    expect(current.statusCode).toBe(200)
    expect(current.headers.etag).toBe('"article-v2"')
    await current.body.dump()
    const old = await request(`${base}/articles/1`, { headers: { 'if-none-match': '"article-v1"' } })
    expect(old.statusCode).toBe(200)
    expect(await old.body.json()).toMatchObject({ title: 'Kept' })
  })
})
