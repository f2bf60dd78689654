// The Listener against curl, a client it did not grow up with.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resource } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

const run = promisify(execFile)
let server: Served

beforeAll(async () => {
  server = await serve(
    {
      basePath: '/helloWorld',
      resources: [
        resource({
          methods: ['POST'],
          path: '/{name}',
          body: 'text',
          handler: (ctx) => `Hello, World! I'm ${ctx.params.name}. ${ctx.body}`,
        }),
        resource({
          methods: ['PUT'],
          path: '/upload',
          body: 'bytes',
          handler: (ctx) => ({ bytes: ctx.body.length }),
        }),
        { methods: ['GET'], path: '/json', handler: () => ({ hello: 'world' }) },
      ],
    },
    { maxBodySize: 64 * 1024 },
  )
})

afterAll(async () => {
  await server.close()
})

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', ...args])
  return stdout
}

describe('curl', () => {
  it('posts a text body and reads the greeting', async () => {
    const out = await curl(
      '-X',
      'POST',
      `${server.url}/helloWorld/Alice`,
      '-H',
      'Content-Type: text/plain',
      '-d',
      'Nice to meet you.',
    )
    expect(out).toBe("Hello, World! I'm Alice. Nice to meet you.")
  })

  it('reads HEAD headers with -I', async () => {
    const out = await curl('-I', `${server.url}/helloWorld/json`)
    expect(out).toMatch(/^HTTP\/1.1 200 OK/)
    expect(out).toMatch(/content-length: 17/i)
  })

  it('uploads with Expect: 100-continue', async () => {
    const out = await curl(
      '-X',
      'PUT',
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'x'.repeat(40_000),
      `${server.url}/helloWorld/upload`,
    )
    expect(JSON.parse(out)).toEqual({ bytes: 40_000 })
  })

  it('uploads a chunked body', async () => {
    const out = await curl(
      '-X',
      'PUT',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'y'.repeat(30_000),
      `${server.url}/helloWorld/upload`,
    )
    expect(JSON.parse(out)).toEqual({ bytes: 30_000 })
  })

  it('gets 413 without uploading when the body is over the limit', async () => {
    const out = await curl(
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'z'.repeat(100_000),
      `${server.url}/helloWorld/upload`,
    )
    expect(out).toBe('413')
  })

  it('speaks HTTP/1.0', async () => {
    const out = await curl('--http1.0', '-i', `${server.url}/helloWorld/json`)
    expect(out).toMatch(/connection: close/i)
    expect(out.endsWith('{"hello":"world"}')).toBe(true)
  })

  it('reuses one connection for several requests', async () => {
    const out = await curl(
      '-w',
      '%{num_connects}\\n',
      `${server.url}/helloWorld/json`,
      `${server.url}/helloWorld/json`,
    )
    expect(out).toBe('{"hello":"world"}1\n{"hello":"world"}0\n')
  })
})
