// Content codings: Accept-Encoding negotiation (q-values, wildcards, hostile values, compared
// with a naive reference), compressed responses (policy, threshold, types, never for 204 /
// 304 / HEAD / ranges / encoded bodies, streamed without buffering), and decoded request bodies.
import { Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import fc from 'fast-check'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpResponse, Listener, type ListenerOptions, type Service } from '../src/index.ts'
import { HAS_ZSTD, negotiateEncoding } from '../src/listener/compression.ts'
import { raw, type Served, serve, statusOf } from './helpers/serve.ts'

let server: Served | undefined
let agent = new Agent()
afterEach(async () => {
  await agent.close()
  agent = new Agent()
  await server?.close()
  server = undefined
})

const ALL = ['br', 'zstd', 'gzip', 'deflate'] as const
const BIG = { items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item number ${i}` })) }
const BIG_JSON = JSON.stringify(BIG)

function decode(coding: string | undefined, body: Buffer): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gunzipSync(body)
    case 'deflate':
      return zlib.inflateSync(body)
    case 'br':
      return zlib.brotliDecompressSync(body)
    case 'zstd':
      return (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(body)
    default:
      return body
  }
}

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await request(`${server!.url}${path}`, { method: method as 'GET', headers, dispatcher: agent })
  const body = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers, body }
}

describe('Accept-Encoding negotiation', () => {
  it.each([
    { name: 'one coding', header: 'gzip', want: 'gzip' },
    { name: 'x-gzip as gzip', header: 'x-gzip', want: 'gzip' },
    { name: 'the server order on a tie', header: 'gzip, deflate, br', want: 'br' },
    { name: 'the highest q', header: 'br;q=0.5, gzip;q=0.8', want: 'gzip' },
    { name: 'q=1.000 as 1', header: 'deflate;q=1.000, br;q=0.999', want: 'deflate' },
    { name: 'case-insensitive names and q', header: 'GZIP;Q=0.5', want: 'gzip' },
    { name: 'whitespace around members', header: '  gzip ; q=0.5 ,\tdeflate ', want: 'deflate' },
    { name: 'a wildcard', header: '*', want: 'br' },
    { name: 'a wildcard below an explicit coding', header: '*;q=0.1, gzip', want: 'gzip' },
    { name: 'an explicit q=0 under a wildcard', header: 'br;q=0, *', want: 'gzip' },
    { name: 'nothing acceptable', header: 'compress, exi', want: null },
    { name: 'every coding refused', header: 'br;q=0, gzip;q=0, deflate;q=0', want: null },
    { name: 'an empty value', header: '', want: null },
    { name: 'identity only', header: 'identity', want: null },
    { name: 'identity weighted above every coding', header: 'gzip;q=0.5, identity', want: null },
    { name: 'identity weighted below a coding', header: 'gzip, identity;q=0.5', want: 'gzip' },
    { name: 'a q above 1 (member ignored)', header: 'br;q=2, gzip;q=0.1', want: 'gzip' },
    { name: 'a negative q (member ignored)', header: 'br;q=-1, gzip;q=0.1', want: 'gzip' },
    { name: 'four decimals (member ignored)', header: 'br;q=0.5555, gzip;q=0.1', want: 'gzip' },
    { name: 'an exponent (member ignored)', header: 'br;q=1e0, gzip;q=0.1', want: 'gzip' },
    { name: 'NaN (member ignored)', header: 'br;q=NaN, gzip;q=0.1', want: 'gzip' },
    { name: 'an empty q (member ignored)', header: 'br;q=, gzip;q=0.1', want: 'gzip' },
    { name: '1.5 (member ignored)', header: 'br;q=1.5, gzip;q=0.1', want: 'gzip' },
    { name: 'a member that is not a token', header: 'g(zip), deflate', want: 'deflate' },
    { name: 'empty members', header: ',,, ,gzip,,', want: 'gzip' },
    { name: 'a repeated coding (first wins)', header: 'gzip;q=0, gzip', want: null },
  ])('picks $want for $name', ({ header, want }) => {
    expect(negotiateEncoding(header, ['br', 'gzip', 'deflate'])).toBe(want)
  })

  it('stays linear on a huge hostile header', () => {
    const header = `${'x;q=0.1;'.repeat(20_000)}, ${'gzip;'.repeat(10_000)}`
    const started = performance.now()
    negotiateEncoding(header, ['br', 'gzip', 'deflate'])
    // A backtracking parser takes seconds here; a linear one a few ms even on a loaded machine.
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('agrees with a naive reference on generated headers', () => {
    const qs = ['', ';q=0', ';q=1', ';q=0.5', ';q=0.25', ';q=1.0', ';q=0.001', ';q=2', ';q=abc', ';Q=0.7']
    const names = ['gzip', 'br', 'deflate', 'identity', '*', 'zstd', 'compress', 'x-gzip', 'GZIP', 'b r']
    const member = fc.tuple(fc.constantFrom(...names), fc.constantFrom(...qs)).map(([n, q]) => `${n}${q}`)
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), fc.constantFrom(', ', ',', ' ,  '), (members, sep) => {
        const header = members.join(sep)
        expect(negotiateEncoding(header, ['br', 'gzip', 'deflate'])).toBe(naive(header))
      }),
      { numRuns: 2_000 },
    )
  })
})

/** The reference: RFC 9110 §12.5.3 read literally, with regular expressions and no care for speed. */
function naive(header: string): string | null {
  const weights: Record<string, number> = {}
  for (const raw of header.split(',')) {
    const m = /^\s*([^;\s]+)\s*(?:;\s*q\s*=\s*(\S*))?\s*$/i.exec(raw)
    if (m === null) continue
    const name = m[1]!.toLowerCase()
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) continue
    let q = 1
    if (m[2] !== undefined) {
      if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(m[2])) continue
      q = Number(m[2])
    }
    const key = name === 'x-gzip' ? 'gzip' : name
    if (!(key in weights)) weights[key] = q
  }
  let best: string | null = null
  let bestQ = 0
  for (const c of ['br', 'gzip', 'deflate']) {
    const q = weights[c] ?? weights['*'] ?? 0
    if (q > bestQ) {
      best = c
      bestQ = q
    }
  }
  if (best !== null && weights.identity !== undefined && weights.identity > bestQ) return null
  return best
}

const resources: Service = {
  resources: [
    { methods: ['GET'], path: '/big', handler: () => BIG },
    { methods: ['GET'], path: '/small', handler: () => ({ small: true }) },
    {
      methods: ['GET'],
      path: '/bytes',
      handler: () => Buffer.alloc(50_000, 'a'),
    },
    {
      methods: ['GET'],
      path: '/encoded',
      handler: () =>
        new HttpResponse({
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: zlib.gzipSync(BIG_JSON),
        }),
    },
    {
      methods: ['GET'],
      path: '/range',
      handler: () =>
        new HttpResponse({
          status: 206,
          headers: { 'content-type': 'text/plain', 'content-range': 'bytes 0-19999/40000' },
          body: 'x'.repeat(20_000),
        }),
    },
    { methods: ['GET'], path: '/empty', handler: () => new HttpResponse({ status: 204 }) },
    { methods: ['GET'], path: '/never', compression: 'NEVER', handler: () => BIG },
    { methods: ['GET'], path: '/always', compression: 'ALWAYS', handler: () => ({ tiny: 1 }) },
    {
      methods: ['GET'],
      path: '/threshold',
      compression: { threshold: 10 },
      handler: () => ({ tiny: 'just over ten' }),
    },
    {
      methods: ['GET'],
      path: '/csv',
      compression: { contentTypes: ['text/csv'] },
      handler: () =>
        new HttpResponse({ headers: { 'content-type': 'text/csv' }, body: 'a,b\n'.repeat(1000) }),
    },
    {
      methods: ['GET'],
      path: '/gzip-only',
      compression: { encodings: ['gzip'] },
      handler: () => BIG,
    },
    {
      methods: ['GET'],
      path: '/stream',
      handler: () =>
        new HttpResponse({
          headers: { 'content-type': 'application/x-ndjson' },
          body: Readable.from(
            Array.from({ length: 200 }, (_, i) => `{"line":${i},"pad":"${'p'.repeat(50)}"}\n`),
          ),
        }),
    },
    {
      methods: ['GET'],
      path: '/tagged',
      handler: () => new HttpResponse({ headers: { etag: '"v1"' }, body: BIG }),
    },
  ],
}

describe('compressed responses', () => {
  it.each(ALL.filter((c) => c !== 'zstd' || HAS_ZSTD).map((coding) => ({ name: coding, coding })))(
    'sends $name when asked, with Vary and the encoded length, and the body decodes',
    async ({ coding }) => {
      server = await serve(resources)
      const res = await get('/big', { 'accept-encoding': coding })
      expect(res.status).toBe(200)
      expect(res.headers['content-encoding']).toBe(coding)
      expect(res.headers.vary).toBe('Accept-Encoding')
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
      expect(res.body.length).toBeLessThan(BIG_JSON.length / 3)
      expect(JSON.parse(decode(coding, res.body).toString())).toEqual(BIG)
    },
  )

  // zstd needs Node 22.15+ (zlib.createZstdCompress); this Node has it or the case above covers it.
  it.skipIf(HAS_ZSTD)('never offers zstd where the running Node lacks it', async () => {
    server = await serve(resources)
    const res = await get('/big', { 'accept-encoding': 'zstd' })
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBe('Accept-Encoding')
  })

  it('sends identity, still with Vary, when the client asks for nothing it can use', async () => {
    server = await serve(resources)
    for (const header of [undefined, '', 'identity', 'compress', 'gzip;q=0', 'br;q=7']) {
      const res = await get('/big', header === undefined ? {} : { 'accept-encoding': header })
      expect(res.headers['content-encoding']).toBeUndefined()
      expect(res.headers.vary).toBe('Accept-Encoding')
      expect(JSON.parse(res.body.toString())).toEqual(BIG)
    }
  })

  it.each([
    { name: 'a body under the threshold', path: '/small' },
    { name: 'bytes (not a compressible type)', path: '/bytes' },
    { name: 'a body the handler encoded itself', path: '/encoded' },
    { name: 'a partial (206) response', path: '/range' },
    { name: 'a 204', path: '/empty' },
    { name: 'a resource with compression NEVER', path: '/never' },
  ])('leaves $name alone', async ({ path }) => {
    server = await serve(resources)
    const res = await get(path, { 'accept-encoding': 'gzip, br' })
    if (path === '/encoded') {
      expect(res.headers['content-encoding']).toBe('gzip')
      expect(JSON.parse(zlib.gunzipSync(res.body).toString())).toEqual(BIG)
    } else expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
  })

  it('never compresses HEAD, whose headers still carry Vary', async () => {
    server = await serve(resources)
    const res = await get('/big', { 'accept-encoding': 'gzip' }, 'HEAD')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers['content-length']).toBe(String(BIG_JSON.length))
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(res.body.length).toBe(0)
  })

  it('follows ALWAYS, a lower threshold, its own types and its own codings per resource', async () => {
    server = await serve(resources)
    const always = await get('/always', { 'accept-encoding': 'gzip' })
    expect(always.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(zlib.gunzipSync(always.body).toString())).toEqual({ tiny: 1 })
    const threshold = await get('/threshold', { 'accept-encoding': 'gzip' })
    expect(threshold.headers['content-encoding']).toBe('gzip')
    const csv = await get('/csv', { 'accept-encoding': 'gzip' })
    expect(csv.headers['content-encoding']).toBe('gzip')
    const json = await get('/big', { 'accept-encoding': 'deflate' })
    expect(json.headers['content-encoding']).toBe('deflate')
    const only = await get('/gzip-only', { 'accept-encoding': 'br, deflate' })
    expect(only.headers['content-encoding']).toBeUndefined()
  })

  it('takes the policy from the Listener, then the service, then the resource', async () => {
    server = await serve(
      [
        { basePath: '/on', compression: 'AUTO', resources: [{ path: '/', handler: () => BIG }] },
        { basePath: '/off', resources: [{ path: '/', handler: () => BIG }] },
      ],
      { compression: 'NEVER' },
    )
    expect((await get('/on', { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe('gzip')
    expect((await get('/off', { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBeUndefined()
  })

  it('gives the compressed representation its own strong ETag', async () => {
    server = await serve(resources)
    const identity = await get('/tagged', { 'accept-encoding': 'identity' })
    const gzip = await get('/tagged', { 'accept-encoding': 'gzip' })
    const br = await get('/tagged', { 'accept-encoding': 'br' })
    expect(identity.headers.etag).toBe('"v1"')
    expect(gzip.headers.etag).toBe('"v1-gzip"')
    expect(br.headers.etag).toBe('"v1-br"')
  })

  it('compresses a stream as it goes and never buffers it', async () => {
    // The source waits for the client's first compressed bytes before it produces the rest:
    // a server that collected the body before compressing would never send them.
    let clientGotBytes!: () => void
    const firstBytes = new Promise<void>((resolve) => {
      clientGotBytes = resolve
    })
    const chunk = (i: number) =>
      `${Array.from({ length: 400 }, (_, j) => `{"i":${i},"j":${j},"r":${(i * 7919 + j * 104729) % 99991}}`).join('\n')}\n`
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/live',
          handler: () =>
            new HttpResponse({
              headers: { 'content-type': 'application/x-ndjson' },
              body: (async function* () {
                for (let i = 0; i < 40; i++) yield chunk(i)
                await firstBytes
                for (let i = 40; i < 80; i++) yield chunk(i)
              })(),
            }),
        },
      ],
    })
    const res = await request(`${server.url}/live`, {
      headers: { 'accept-encoding': 'gzip' },
      dispatcher: agent,
    })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.headers['transfer-encoding']).toBe('chunked')
    const parts: Buffer[] = []
    for await (const part of res.body) {
      parts.push(part as Buffer)
      clientGotBytes()
    }
    const text = zlib.gunzipSync(Buffer.concat(parts)).toString()
    expect(text).toBe(Array.from({ length: 80 }, (_, i) => chunk(i)).join(''))
  })

  it('compresses a streamed body of a compressible type (no size known)', async () => {
    server = await serve(resources)
    const res = await get('/stream', { 'accept-encoding': 'br' })
    expect(res.headers['content-encoding']).toBe('br')
    expect(zlib.brotliDecompressSync(res.body).toString().split('\n')).toHaveLength(201)
  })

  it('compresses a stream buffered by chunking NEVER, with its Content-Length', async () => {
    server = await serve(resources, { chunking: 'NEVER' })
    const res = await get('/stream', { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(Number(res.headers['content-length'])).toBe(res.body.length)
    expect(zlib.gunzipSync(res.body).toString().split('\n')).toHaveLength(201)
  })

  it('sends a compressed body chunked under chunking ALWAYS', async () => {
    server = await serve(resources, { chunking: 'ALWAYS' })
    const res = await get('/big', { 'accept-encoding': 'gzip' })
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(JSON.parse(zlib.gunzipSync(res.body).toString())).toEqual(BIG)
  })

  it.each([
    { name: 'an unknown policy', compression: 'SOMETIMES' },
    { name: 'a negative threshold', compression: { threshold: -1 } },
    { name: 'an unknown coding', compression: { encodings: ['lzma'] } },
    { name: 'an empty coding list', compression: { encodings: [] } },
    { name: 'a brotli level of 12', compression: { levels: { br: 12 } } },
    { name: 'a level for an unknown coding', compression: { levels: { lzma: 1 } } },
    { name: 'a malformed media type', compression: { contentTypes: ['json'] } },
    { name: 'an unknown option', compression: { polcy: 'AUTO' } },
  ])('refuses $name in the Listener, a service and a resource', ({ compression }) => {
    expect(() => new Listener({ port: 0, compression } as unknown as ListenerOptions)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
    const listener = new Listener({ port: 0 })
    expect(() =>
      listener.attach({ compression, resources: [{ path: '/', handler: () => 1 }] } as unknown as Service),
    ).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
    expect(() =>
      listener.attach({ resources: [{ path: '/', compression, handler: () => 1 }] } as unknown as Service),
    ).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
  })
})

describe('compressed request bodies', () => {
  const echo: Service = {
    resources: [
      { methods: ['POST'], path: '/json', body: 'json', handler: (ctx) => ({ got: ctx.body }) },
      {
        methods: ['POST'],
        path: '/text',
        body: { type: 'text', maxSize: 1_000_000 },
        handler: (ctx) => ({ length: (ctx.body as string).length }),
      },
      {
        methods: ['POST'],
        path: '/stream',
        body: { type: 'stream', maxSize: 100_000 },
        handler: async (ctx) => {
          let n = 0
          for await (const c of ctx.body as Readable) n += (c as Buffer).length
          return { length: n }
        },
      },
    ],
  }

  function post(path: string, body: Buffer, headers: Record<string, string>) {
    return server!.fetch(path, { method: 'POST', body, headers })
  }

  it.each([
    { name: 'gzip', encode: (b: Buffer) => zlib.gzipSync(b), header: 'gzip' },
    { name: 'x-gzip', encode: (b: Buffer) => zlib.gzipSync(b), header: 'x-gzip' },
    { name: 'deflate', encode: (b: Buffer) => zlib.deflateSync(b), header: 'deflate' },
    { name: 'br', encode: (b: Buffer) => zlib.brotliCompressSync(b), header: 'br' },
    { name: 'identity', encode: (b: Buffer) => b, header: 'identity' },
    {
      name: 'gzip then br (stacked)',
      encode: (b: Buffer) => zlib.brotliCompressSync(zlib.gzipSync(b)),
      header: 'gzip, br',
    },
  ])('decodes a $name body before binding it', async ({ encode, header }) => {
    server = await serve(echo)
    const res = await post('/json', encode(Buffer.from(BIG_JSON)), {
      'content-type': 'application/json',
      'content-encoding': header,
    })
    expect(res.status).toBe(201)
    expect(res.json()).toEqual({ got: BIG })
  })

  it('decodes a streamed body, chunk by chunk', async () => {
    server = await serve(echo)
    const res = await post('/stream', zlib.gzipSync(Buffer.alloc(90_000, 'z')), {
      'content-encoding': 'gzip',
    })
    expect(res.json()).toEqual({ length: 90_000 })
  })

  it('answers 413 to a decompression bomb and closes the connection; the server keeps serving', async () => {
    server = await serve(echo, { maxBodySize: 1_048_576 })
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(100_000)
    const res = await post('/json', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    expect(res.status).toBe(413)
    expect(res.json()).toMatchObject({ code: 'X_ERR_HTTP_BODY_TOO_LARGE' })
    const streamed = await post('/stream', zlib.gzipSync(Buffer.alloc(10_000_000)), {
      'content-encoding': 'gzip',
    })
    expect(streamed.status).toBe(413)
    const ok = await post('/text', zlib.gzipSync(Buffer.from('fine')), {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
    })
    expect(ok.json()).toEqual({ length: 4 })
  })

  it.each([
    { name: 'an unknown coding', header: 'compress' },
    { name: 'zstd where Node lacks it, or lzma', header: HAS_ZSTD ? 'lzma' : 'zstd' },
    { name: 'three stacked codings', header: 'gzip, gzip, gzip' },
  ])('answers 415 with Accept-Encoding to $name', async ({ header }) => {
    server = await serve(echo)
    const res = await post('/json', Buffer.from('{}'), {
      'content-type': 'application/json',
      'content-encoding': header,
    })
    expect(res.status).toBe(415)
    expect(res.headers['accept-encoding']).toBe(HAS_ZSTD ? 'br, zstd, gzip, deflate' : 'br, gzip, deflate')
  })

  it.each([
    { name: 'garbage as gzip', body: Buffer.from('this is not gzip at all'), header: 'gzip' },
    {
      name: 'a truncated gzip stream',
      body: zlib.gzipSync(Buffer.from(BIG_JSON)).subarray(0, 200),
      header: 'gzip',
    },
    { name: 'raw deflate labelled deflate', body: zlib.deflateRawSync(Buffer.from('{}')), header: 'deflate' },
    { name: 'gzip labelled br', body: zlib.gzipSync(Buffer.from('{}')), header: 'br' },
  ])('answers 400 to $name', async ({ body, header }) => {
    server = await serve(echo)
    const res = await post('/json', body, { 'content-type': 'application/json', 'content-encoding': header })
    expect(res.status).toBe(400)
    expect(res.json()).toMatchObject({ code: 'X_ERR_HTTP_INVALID_BODY' })
  })

  it('answers 400 when the client stops sending an encoded body, and keeps serving', async () => {
    server = await serve(echo)
    const part = zlib.gzipSync(Buffer.from(BIG_JSON)).subarray(0, 300)
    const head =
      'POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n' +
      `Content-Length: ${part.length + 1000}\r\n\r\n`
    const answer = await raw(server.port, [head, part], { end: true })
    expect([400, 0]).toContain(answer.length === 0 ? 0 : statusOf(answer))
    const ok = await server.fetch('/json', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    })
    expect(ok.status).toBe(201)
  })

  it('does not decode or even look at a body the resource does not read', async () => {
    server = await serve({ resources: [{ methods: ['POST'], path: '/ignore', handler: () => 'ok' }] })
    const res = await post('/ignore', Buffer.from('garbage'), { 'content-encoding': 'lzma' })
    expect(res.status).toBe(201)
  })
})

describe('the writer under load', () => {
  it('answers many concurrent compressed requests with correct bodies', async () => {
    server = await serve(resources)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => get('/big', { 'accept-encoding': i % 2 ? 'gzip' : 'br' })),
    )
    for (const r of results)
      expect(JSON.parse(decode(r.headers['content-encoding'] as string, r.body).toString())).toEqual(BIG)
  })

  it('drops a compressed answer quietly when the client is gone before it is written', async () => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/huge',
          handler: () => ({ data: 'x'.repeat(4_000_000) }),
        },
      ],
    })
    const ac = new AbortController()
    const pending = request(`${server.url}/huge`, {
      headers: { 'accept-encoding': 'gzip' },
      signal: ac.signal,
      dispatcher: agent,
    })
    ac.abort()
    await expect(pending).rejects.toThrow()
    await server.drained()
    const again = await get('/huge', { 'accept-encoding': 'gzip' })
    expect(again.status).toBe(200)
    expect(server.logger.errors).toEqual([])
  })
})
