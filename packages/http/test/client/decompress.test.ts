import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { ClientPool } from '@x/client-pool'
import { fetch, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { decompress, isClientError } from '../../src/index.js'
import { client, onCleanup, server } from './helpers.ts'

const text = 'hello compressed world '.repeat(200)

/** `mib` MiB of zeros as gzip: one 1 MiB member repeated (gunzip reads every member). */
function bomb(mib: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024))
  return Buffer.concat(Array.from({ length: mib }, () => member))
}

const encoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: gzipSync,
  'x-gzip': gzipSync,
  br: brotliCompressSync,
  deflate: deflateSync,
  'raw-deflate': deflateRawSync,
}

/** Serves `text` encoded as the path says (`/gzip`, `/br`, `/gzip,br`, ...). */
async function encoding() {
  const seen: Array<string | undefined> = []
  const s = await server((req, res) => {
    seen.push(req.headers['accept-encoding'])
    const names = decodeURIComponent(req.url!.slice(1))
      .split(',')
      .filter((n) => n !== '')
    let body: Buffer = Buffer.from(text)
    for (const n of names) body = n === 'identity' ? body : encoders[n]!(body)
    const header = names.map((n) => (n === 'raw-deflate' ? 'deflate' : n)).join(', ')
    res.writeHead(200, {
      'content-type': 'text/plain',
      ...(header === '' ? {} : { 'content-encoding': header }),
    })
    res.end(body)
  })
  return Object.assign(s, { seen })
}

describe('decompression', () => {
  it.each([
    { name: 'gzip', path: '/gzip' },
    { name: 'x-gzip', path: '/x-gzip' },
    { name: 'brotli', path: '/br' },
    { name: 'zlib deflate', path: '/deflate' },
    { name: 'raw deflate', path: '/raw-deflate' },
    { name: 'gzip then brotli', path: '/gzip,br' },
    { name: 'identity', path: '/identity' },
    { name: 'no encoding', path: '/' },
  ])('asks for compression and decodes $name', async ({ path }) => {
    const s = await encoding()
    const c = client(s.url)
    const res = await c.get(path)
    expect(await res.text()).toBe(text)
    expect(res.headers['content-encoding']).toBe(path === '/identity' ? 'identity' : undefined)
    expect(s.seen).toEqual(['br, gzip, deflate'])
  })

  it('fails a decompression bomb with X_ERR_CLIENT_DECODED_TOO_LARGE, not out of memory', async () => {
    // 50 MiB of zeros in about 50 KiB.
    const body = bomb(50)
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(body)
    })
    const c = client(s.url, { maxDecodedSize: 1024 * 1024 })
    const res = await c.get('/')
    const err = await res.bytes().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DECODED_TOO_LARGE')).toBe(true)
  })

  it('stops a bomb with the default limit too', async () => {
    const body = bomb(64)
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(body)
    })
    const c = client(s.url)
    let seen = 0
    const res = await c.get('/')
    const err = await (async () => {
      for await (const chunk of res.body) seen += (chunk as Buffer).length
    })().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DECODED_TOO_LARGE')).toBe(true)
    expect(seen).toBeLessThanOrEqual(32 * 1024 * 1024)
  })

  it('fails a corrupt body with X_ERR_CLIENT_DECODE_FAILED', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(Buffer.from('this is not gzip at all'))
    })
    const c = client(s.url)
    const err = await (await c.get('/')).text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DECODE_FAILED')).toBe(true)
  })

  it('fails a truncated gzip body with X_ERR_CLIENT_DECODE_FAILED', async () => {
    const whole = gzipSync(Buffer.from(text))
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' })
      res.end(whole.subarray(0, whole.length - 10))
    })
    const c = client(s.url)
    const err = await (await c.get('/')).text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DECODE_FAILED')).toBe(true)
  })

  it('refuses more than five stacked codings with X_ERR_CLIENT_DECODE_FAILED', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip' })
      res.end('x')
    })
    const c = client(s.url)
    expect(isClientError(await c.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_DECODE_FAILED')).toBe(true)
  })

  it('passes an unknown coding through with its Content-Encoding', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'snappy' })
      res.end('raw bytes')
    })
    const c = client(s.url)
    const res = await c.get('/')
    expect(res.headers['content-encoding']).toBe('snappy')
    expect(await res.text()).toBe('raw bytes')
  })

  it('decodes an encoded error response and an empty encoded body', async () => {
    const s = await server((req, res) => {
      if (req.url === '/empty') {
        res.writeHead(200, { 'content-encoding': 'gzip' }).end()
        return
      }
      res.writeHead(500, { 'content-encoding': 'gzip' }).end(gzipSync('failure details'))
    })
    const c = client(s.url)
    const r = await c.get('/err')
    expect(r.status).toBe(500)
    expect(await r.text()).toBe('failure details')
    expect(await (await c.get('/empty')).text()).toBe('')
  })

  it("AUTO leaves a caller's own Accept-Encoding alone and hands back the encoded body", async () => {
    const s = await encoding()
    const c = client(s.url)
    const res = await c.get('/gzip', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(Buffer.from(await res.bytes()).equals(gzipSync(Buffer.from(text)))).toBe(true)
    expect(s.seen).toEqual(['gzip'])
  })

  it("ALWAYS replaces a caller's Accept-Encoding and decodes", async () => {
    const s = await encoding()
    const c = client(s.url, { compression: 'ALWAYS' })
    expect(await (await c.get('/br', { headers: { 'accept-encoding': 'identity' } })).text()).toBe(text)
    expect(s.seen).toEqual(['br, gzip, deflate'])
  })

  it('NEVER neither asks nor decodes', async () => {
    const s = await encoding()
    const c = client(s.url, { compression: 'NEVER' })
    const res = await c.get('/gzip')
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(s.seen).toEqual([undefined])
    await res.bytes()
  })

  it('HEAD keeps the encoding headers and reads no body', async () => {
    const s = await encoding()
    const c = client(s.url)
    const res = await c.head('/gzip')
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(await res.text()).toBe('')
  })
})

describe('decompress() as an interceptor', () => {
  it('works under fetch and undici.request with a mandatory limit', async () => {
    const s = await encoding()
    const pool = new ClientPool()
    onCleanup(() => pool.close())
    const d = pool.compose(decompress({ maxSize: 1024 * 1024 }))
    expect(await (await fetch(`${s.url}/gzip`, { dispatcher: d })).text()).toBe(text)
    expect(await (await request(`${s.url}/br`, { dispatcher: d })).body.text()).toBe(text)
  })

  it.each([
    { name: 'no options', options: undefined },
    { name: 'no maxSize', options: {} },
    { name: 'a zero maxSize', options: { maxSize: 0 } },
    { name: 'an unknown mode', options: { maxSize: 10, mode: 'SOMETIMES' } },
  ])('refuses $name with X_ERR_CLIENT_INVALID_OPTION', ({ options }) => {
    let err: unknown
    try {
      decompress(options as never)
    } catch (e) {
      err = e
    }
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_OPTION')).toBe(true)
  })
})
