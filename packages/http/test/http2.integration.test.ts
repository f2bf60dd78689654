// HTTP/2 interop with real peers: curl (--http2 over TLS, --http2-prior-knowledge in
// cleartext, --http1.1 on the shared port), nghttp (h2c and TLS) and undici with allowH2.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cert, key } from '../../../test-support/tls.ts'
import { resource, type Service } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

const run = promisify(execFile)

const service: Service = {
  resources: [
    resource({
      methods: ['GET'],
      path: '/hello/{name}',
      handler: (ctx) => ({ hello: ctx.params.name, version: ctx.request.httpVersion }),
    }),
    resource({
      methods: ['POST'],
      path: '/upload',
      body: 'bytes',
      handler: (ctx) => ({ bytes: ctx.body.length }),
    }),
    {
      methods: ['GET'],
      path: '/stream',
      handler: async function* () {
        yield 'one,'
        yield 'two'
      },
    },
  ],
}

let cleartext: Served
let secure: Served
let tlsDir: string
const certFile = () => `${tlsDir}/cert.pem`

beforeAll(async () => {
  cleartext = await serve(service, { httpVersion: '2' })
  secure = await serve(service, { httpVersion: '2', secureSocket: { key: { cert, key } } })
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  tlsDir = mkdtempSync(join(tmpdir(), 'x-http2-'))
  writeFileSync(join(tlsDir, 'cert.pem'), cert)
})

afterAll(async () => {
  await cleartext?.close()
  await secure?.close()
  const { rmSync } = await import('node:fs')
  if (tlsDir !== undefined) rmSync(tlsDir, { recursive: true, force: true })
})

/** curl's status line and body (`-i`), split. */
async function curl(...args: string[]): Promise<{ status: string; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-i', ...args])
  const end = stdout.lastIndexOf('\r\n\r\n')
  const head = stdout.slice(0, end)
  return { status: head.split('\r\n')[0]!.trim(), headers: head.toLowerCase(), body: stdout.slice(end + 4) }
}

describe('curl', () => {
  it('speaks h2c with prior knowledge', async () => {
    const res = await curl('--http2-prior-knowledge', `${cleartext.url}/hello/curl`)
    expect(res.status).toBe('HTTP/2 200')
    expect(JSON.parse(res.body)).toEqual({ hello: 'curl', version: '2.0' })
  })

  it('speaks HTTP/1.1 on the same cleartext port', async () => {
    const res = await curl('--http1.1', `${cleartext.url}/hello/curl`)
    expect(res.status).toBe('HTTP/1.1 200 OK')
    expect(JSON.parse(res.body)).toEqual({ hello: 'curl', version: '1.1' })
  })

  it('gets HTTP/1.1 when it asks to upgrade to h2c', async () => {
    const res = await curl('--http2', `${cleartext.url}/hello/curl`)
    expect(res.status).toBe('HTTP/1.1 200 OK')
  })

  it('speaks h2 over TLS', async () => {
    const res = await curl('--http2', '--cacert', certFile(), `https://localhost:${secure.port}/hello/tls`)
    expect(res.status).toBe('HTTP/2 200')
    expect(JSON.parse(res.body)).toEqual({ hello: 'tls', version: '2.0' })
  })

  it('uploads a body over h2c and gets a streamed answer without chunked coding', async () => {
    const upload = await curl(
      '--http2-prior-knowledge',
      '--data-binary',
      'x'.repeat(100_000),
      '-H',
      'content-type: application/octet-stream',
      `${cleartext.url}/upload`,
    )
    expect(JSON.parse(upload.body)).toEqual({ bytes: 100_000 })
    const streamed = await curl('--http2-prior-knowledge', `${cleartext.url}/stream`)
    expect(streamed.body).toBe('one,two')
    expect(streamed.headers).not.toContain('transfer-encoding')
  })
})

describe('nghttp', () => {
  it.each([
    { name: 'h2c', base: () => cleartext.url },
    { name: 'TLS', base: () => `https://localhost:${secure.port}` },
  ])('gets answers over $name, three streams on one connection', async ({ base }) => {
    const urls = ['a', 'b', 'c'].map((n) => `${base()}/hello/${n}`)
    const { stdout } = await run('nghttp', ['-v', ...urls])
    expect(stdout.match(/recv \(stream_id=\d+\) :status: 200/g)).toHaveLength(3)
    for (const n of ['a', 'b', 'c']) expect(stdout).toContain(`{"hello":"${n}","version":"2.0"}`)
    // One connection: the server's SETTINGS arrive once, and it never sends GOAWAY.
    expect(stdout.match(/recv SETTINGS frame <length=\d+, flags=0x00/g)).toHaveLength(1)
    expect(stdout).not.toContain('recv GOAWAY')
  })
})

describe('undici with allowH2', () => {
  it('negotiates h2 over TLS and reuses one connection', async () => {
    const agent = new Agent({ allowH2: true, connect: { ca: cert } })
    try {
      const answers = await Promise.all(
        ['a', 'b', 'c'].map(async (name) => {
          const res = await request(`https://localhost:${secure.port}/hello/${name}`, { dispatcher: agent })
          return res.body.json()
        }),
      )
      expect(answers).toEqual([
        { hello: 'a', version: '2.0' },
        { hello: 'b', version: '2.0' },
        { hello: 'c', version: '2.0' },
      ])
      const upload = await request(`https://localhost:${secure.port}/upload`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(70_000),
      })
      expect(await upload.body.json()).toEqual({ bytes: 70_000 })
    } finally {
      await agent.close()
    }
  })
})
