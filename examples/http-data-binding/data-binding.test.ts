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

async function json(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const res = await request(`${base}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    body: init.body ?? null,
    headers: init.headers ?? {},
  })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

describe('http-data-binding example', () => {
  it('adds an album from the documented curl command (JSON body)', async () => {
    const line = program
      .output()
      .split('\n')
      .find((l) => l.includes('curl -X POST'))!
    const { stdout } = await run('sh', ['-c', line.trim()])
    expect(JSON.parse(stdout)).toEqual({ id: 1, title: 'Blue Train', artist: 'John Coltrane', year: 1957 })
  })

  it('binds an integer path parameter, and answers 400 naming it when it does not convert', async () => {
    expect(await json('/store/albums/1')).toMatchObject({ status: 200, body: { title: 'Blue Train' } })
    expect(await json('/store/albums/one')).toMatchObject({
      status: 400,
      body: { code: 'X_ERR_HTTP_INVALID_PARAM', param: 'id' },
    })
    expect(await json('/store/albums/99')).toMatchObject({ status: 404 })
  })

  it('binds typed query parameters and a header with defaults', async () => {
    await json('/store/albums', {
      method: 'POST',
      body: '{"title":"Kind of Blue","artist":"Miles Davis","year":1959}',
      headers: { 'content-type': 'application/json' },
    })
    const all = await json('/store/albums?limit=5', { headers: { 'x-currency': 'USD' } })
    expect(all.body).toMatchObject({ currency: 'USD', albums: [{ id: 1 }, { id: 2 }] })
    const { stdout } = await run('curl', ['-s', `${base}/store/albums?artist=Miles%20Davis&before=1960`])
    expect(JSON.parse(stdout)).toEqual({
      currency: 'EUR',
      albums: [{ id: 2, title: 'Kind of Blue', artist: 'Miles Davis', year: 1959 }],
    })
    expect(await json('/store/albums?limit=many')).toMatchObject({ status: 400, body: { param: 'limit' } })
  })

  it('rejects a body that is no album (400) or not JSON (415)', async () => {
    const notAlbum = await json('/store/albums', {
      method: 'POST',
      body: '{"title":1}',
      headers: { 'content-type': 'application/json' },
    })
    expect(notAlbum).toMatchObject({ status: 400, body: { code: 'X_ERR_HTTP_BODY_VALIDATION' } })
    const notJson = await json('/store/albums', {
      method: 'POST',
      body: 'title=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(notJson).toMatchObject({ status: 415 })
  })
})
