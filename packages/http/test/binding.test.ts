import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpError, resource, type StandardSchemaV1 } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

const echo = (ctx: { params: unknown; query: unknown; body: unknown }) => ({
  params: ctx.params,
  query: ctx.query,
  body: ctx.body,
})

describe('path parameters', () => {
  it.each([
    { name: 'integer', type: 'integer', raw: '-42', value: -42 },
    { name: 'number', type: 'number', raw: '2.5e3', value: 2500 },
    { name: 'boolean', type: 'boolean', raw: 'TRUE', value: true },
    { name: 'string', type: 'string', raw: 'a%20b', value: 'a b' },
  ] as const)('converts a $name path parameter', async ({ type, raw, value }) => {
    server = await serve({ resources: [{ path: '/v/{p}', params: { p: type }, handler: echo }] })
    const res = await server.fetch(`/v/${raw}`)
    expect(res.status).toBe(200)
    expect(res.json().params).toEqual({ p: value })
  })

  it.each([
    { name: 'a word as integer', type: 'integer', raw: 'x' },
    { name: 'a decimal as integer', type: 'integer', raw: '1.5' },
    { name: 'an unsafe integer', type: 'integer', raw: '9007199254740993' },
    { name: 'hex as number', type: 'number', raw: '0x10' },
    { name: 'Infinity as number', type: 'number', raw: 'Infinity' },
    { name: 'yes as boolean', type: 'boolean', raw: 'yes' },
  ] as const)('answers 400 naming the parameter for $name, not 404', async ({ type, raw }) => {
    server = await serve({ resources: [{ path: '/v/{count}', params: { count: type }, handler: echo }] })
    const res = await server.fetch(`/v/${raw}`)
    expect(res.status).toBe(400)
    expect(res.json()).toMatchObject({ code: 'X_ERR_HTTP_INVALID_PARAM', param: 'count' })
  })
})

describe('query parameters', () => {
  const res = () =>
    resource({
      methods: ['GET'],
      path: '/q',
      query: {
        limit: { type: 'integer', default: 10 },
        tags: { type: 'string[]', optional: true },
        ids: { type: 'integer[]', optional: true },
        exact: { type: 'boolean', optional: true },
        q: 'string',
      },
      handler: (ctx) => ctx.query,
    })

  it('converts declared query parameters and applies defaults', async () => {
    server = await serve({ resources: [res()] })
    const r = await server.fetch('/q?q=hi+there&ids=1&ids=2&tags=a&exact=false')
    expect(r.status).toBe(200)
    expect(r.json()).toEqual({ limit: 10, tags: ['a'], ids: [1, 2], exact: false, q: 'hi there' })
  })

  it.each([
    { name: 'a missing required parameter', query: '?limit=1', param: 'q' },
    { name: 'a non-integer', query: '?q=x&limit=ten', param: 'limit' },
    { name: 'a bad array member', query: '?q=x&ids=1&ids=two', param: 'ids' },
    { name: 'a repeated scalar', query: '?q=x&q=y', param: 'q' },
  ])('answers 400 naming the parameter for $name', async ({ query, param }) => {
    server = await serve({ resources: [res()] })
    const r = await server.fetch(`/q${query}`)
    expect(r.status).toBe(400)
    expect(r.json()).toMatchObject({ code: 'X_ERR_HTTP_INVALID_PARAM', param })
  })

  it('answers 400 for a malformed escape in the query', async () => {
    server = await serve({ resources: [res()] })
    const r = await server.fetch('/q?q=%zz')
    expect(r.status).toBe(400)
    expect(r.json().code).toBe('X_ERR_HTTP_INVALID_PARAM')
  })

  it('keeps __proto__ an ordinary query name', async () => {
    server = await serve({
      resources: [
        {
          path: '/raw',
          handler: (ctx) => ({ keys: Object.keys(ctx.query), proto: Object.getPrototypeOf(ctx.query) }),
        },
      ],
    })
    const r = await server.fetch('/raw?__proto__=x&constructor=y')
    expect(r.json()).toEqual({ keys: ['__proto__', 'constructor'], proto: null })
  })
})

describe('headers', () => {
  it('converts declared headers and splits list headers', async () => {
    server = await serve({
      resources: [
        resource({
          path: '/h',
          headers: {
            'x-count': 'integer',
            'x-tags': 'string[]',
            'x-opt': { type: 'string', optional: true },
          },
          handler: (ctx) => ({
            count: ctx.headers['x-count'],
            tags: ctx.headers['x-tags'],
            opt: ctx.headers['x-opt'] ?? null,
            ua: ctx.headers['user-agent'],
          }),
        }),
      ],
    })
    const r = await server.fetch('/h', {
      headers: { 'x-count': '3', 'x-tags': 'a, b,,c', 'user-agent': 'ua' },
    })
    expect(r.json()).toEqual({ count: 3, tags: ['a', 'b', 'c'], opt: null, ua: 'ua' })
  })

  it('answers 400 naming a header that does not convert', async () => {
    server = await serve({
      resources: [{ path: '/h', headers: { 'x-count': 'integer' }, handler: () => 'ok' }],
    })
    const r = await server.fetch('/h', { headers: { 'x-count': 'many' } })
    expect(r.status).toBe(400)
    expect(r.json()).toMatchObject({ code: 'X_ERR_HTTP_INVALID_PARAM', param: 'x-count' })
  })
})

describe('body', () => {
  it.each([
    {
      name: 'JSON',
      body: 'json',
      type: 'application/json',
      payload: '{"a":[1,{"b":null}]}',
      value: { a: [1, { b: null }] },
    },
    {
      name: 'JSON with a +json type',
      body: 'json',
      type: 'application/vnd.x+json',
      payload: '[1]',
      value: [1],
    },
    { name: 'text', body: 'text', type: 'text/plain; charset=utf-8', payload: 'héllo', value: 'héllo' },
    {
      name: 'latin-1 text',
      body: 'text',
      type: 'text/plain; charset=iso-8859-1',
      payload: Buffer.from([0x68, 0xe9]),
      value: 'hé',
    },
    {
      name: 'a form',
      body: 'form',
      type: 'application/x-www-form-urlencoded',
      payload: 'a=1&b=x+y&a=2',
      value: { a: ['1', '2'], b: 'x y' },
    },
    {
      name: 'bytes',
      body: 'bytes',
      type: 'image/png',
      payload: Buffer.from([1, 2, 3]),
      value: { type: 'Buffer', data: [1, 2, 3] },
    },
  ] as const)('binds a $name body', async ({ body, type, payload, value }) => {
    server = await serve({
      resources: [{ methods: ['POST'], path: '/b', body, handler: (ctx) => ({ body: ctx.body }) }],
    })
    const r = await server.fetch('/b', { method: 'POST', body: payload, headers: { 'content-type': type } })
    expect(r.status).toBe(201)
    expect(r.json()).toEqual({ body: value })
  })

  it('binds a chunked JSON body', async () => {
    server = await serve({ resources: [{ methods: ['POST'], path: '/b', body: 'json', handler: echo }] })
    const r = await server.fetch('/b', {
      method: 'POST',
      body: Readable.from(['{"a":', '1}']),
      headers: { 'content-type': 'application/json' },
    })
    expect(r.json().body).toEqual({ a: 1 })
  })

  it('hands a stream body to the handler', async () => {
    server = await serve({
      resources: [
        {
          methods: ['PUT'],
          path: '/s',
          body: 'stream',
          handler: async (ctx) => {
            let n = 0
            for await (const chunk of ctx.body as Readable) n += (chunk as Buffer).length
            return { n }
          },
        },
      ],
    })
    const r = await server.fetch('/s', {
      method: 'PUT',
      body: Readable.from([Buffer.alloc(1000), Buffer.alloc(24)]),
    })
    expect(r.json()).toEqual({ n: 1024 })
  })

  it.each([
    {
      name: 'malformed JSON',
      body: 'json',
      type: 'application/json',
      payload: '{"a":',
      status: 400,
      code: 'X_ERR_HTTP_INVALID_BODY',
    },
    {
      name: 'JSON sent as text',
      body: 'json',
      type: 'text/plain',
      payload: '{}',
      status: 415,
      code: 'X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'JSON without Content-Type',
      body: 'json',
      type: undefined,
      payload: '{}',
      status: 415,
      code: 'X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'JSON in UTF-16',
      body: 'json',
      type: 'application/json; charset=utf-16',
      payload: '{}',
      status: 415,
      code: 'X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'text in an unknown charset',
      body: 'text',
      type: 'text/plain; charset=klingon',
      payload: 'x',
      status: 415,
      code: 'X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'invalid UTF-8 text',
      body: 'text',
      type: 'text/plain',
      payload: Buffer.from([0xff, 0xfe, 0x41]),
      status: 400,
      code: 'X_ERR_HTTP_INVALID_BODY',
    },
    {
      name: 'a form with a bad escape',
      body: 'form',
      type: 'application/x-www-form-urlencoded',
      payload: 'a=%G1',
      status: 400,
      code: 'X_ERR_HTTP_INVALID_BODY',
    },
    {
      name: 'a missing required body',
      body: 'json',
      type: 'application/json',
      payload: '',
      status: 400,
      code: 'X_ERR_HTTP_INVALID_BODY',
    },
  ] as const)('answers $status for $name', async ({ body, type, payload, status, code }) => {
    server = await serve({ resources: [{ methods: ['POST'], path: '/b', body, handler: echo }] })
    const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type }
    const r = await server.fetch('/b', { method: 'POST', body: payload, headers })
    expect(r.status).toBe(status)
    expect(r.json().code).toBe(code)
  })

  it('binds undefined for an absent optional body', async () => {
    server = await serve({
      resources: [
        {
          methods: ['POST'],
          path: '/b',
          body: { type: 'json', optional: true },
          handler: (ctx) => ({ absent: ctx.body === undefined }),
        },
      ],
    })
    const r = await server.fetch('/b', { method: 'POST' })
    expect(r.json()).toEqual({ absent: true })
  })

  it('answers 400 when the validator rejects the body, and runs the handler when it accepts', async () => {
    const isUser = (v: unknown): v is { name: string } =>
      typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string'
    server = await serve({
      resources: [
        resource({
          methods: ['POST'],
          path: '/u',
          body: { type: 'json', validate: isUser },
          handler: (ctx) => ({ hi: ctx.body.name }),
        }),
      ],
    })
    const bad = await server.fetch('/u', {
      method: 'POST',
      body: '{"name":1}',
      headers: { 'content-type': 'application/json' },
    })
    expect(bad.status).toBe(400)
    expect(bad.json().code).toBe('X_ERR_HTTP_BODY_VALIDATION')
    const good = await server.fetch('/u', {
      method: 'POST',
      body: '{"name":"ada"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(good.json()).toEqual({ hi: 'ada' })
  })

  it('validates with a Standard Schema, binds its output and reports its issues', async () => {
    const schema: StandardSchemaV1<unknown, { age: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (v) => {
          const age = (v as { age?: unknown }).age
          return typeof age === 'number'
            ? { value: { age: age + 1 } }
            : { issues: [{ message: 'age must be a number', path: [{ key: 'age' }] }] }
        },
      },
    }
    server = await serve({
      resources: [
        resource({
          methods: ['POST'],
          path: '/s',
          body: { type: 'json', schema },
          handler: (ctx) => ctx.body,
        }),
      ],
    })
    const ok = await server.fetch('/s', {
      method: 'POST',
      body: '{"age":41}',
      headers: { 'content-type': 'application/json' },
    })
    expect(ok.json()).toEqual({ age: 42 })
    const bad = await server.fetch('/s', {
      method: 'POST',
      body: '{"age":"x"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(bad.status).toBe(400)
    expect(bad.json()).toMatchObject({
      code: 'X_ERR_HTTP_BODY_VALIDATION',
      errors: [{ message: 'age must be a number', path: ['age'] }],
    })
  })

  it('lets a validator answer with its own HttpError', async () => {
    server = await serve({
      resources: [
        {
          methods: ['POST'],
          path: '/b',
          body: {
            type: 'json',
            validate: () => {
              throw new HttpError(422, 'nope')
            },
          },
          handler: echo,
        },
      ],
    })
    const r = await server.fetch('/b', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(r.status).toBe(422)
  })
})

describe('consumes and produces', () => {
  it('answers 415 when Content-Type is not in consumes', async () => {
    server = await serve({
      resources: [{ methods: ['POST'], path: '/c', consumes: ['text/*'], handler: () => 'ok' }],
    })
    const bad = await server.fetch('/c', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(bad.status).toBe(415)
    expect(bad.json().code).toBe('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE')
    const good = await server.fetch('/c', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/csv' },
    })
    expect(good.status).toBe(201)
  })

  it.each([
    { name: 'no Accept', accept: undefined, status: 200, type: 'application/json' },
    { name: 'a matching type', accept: 'application/xml', status: 200, type: 'application/xml' },
    { name: 'a wildcard subtype', accept: 'application/*', status: 200, type: 'application/json' },
    {
      name: 'q-values',
      accept: 'application/json;q=0.5, application/xml',
      status: 200,
      type: 'application/xml',
    },
    {
      name: 'a more specific range with q=0',
      accept: '*/*, application/json;q=0',
      status: 200,
      type: 'application/xml',
    },
    { name: 'nothing acceptable', accept: 'text/html', status: 406, type: 'application/problem+json' },
  ])('negotiates produces with $name', async ({ accept, status, type }) => {
    server = await serve({
      resources: [
        {
          methods: ['GET'],
          path: '/p',
          produces: ['application/json', 'application/xml'],
          handler: (ctx) => (ctx.mediaType === 'application/xml' ? '<x/>' : { x: 1 }),
        },
      ],
    })
    const r = await server.fetch('/p', { headers: accept === undefined ? {} : { accept } })
    expect(r.status).toBe(status)
    expect(r.headers['content-type']).toBe(type)
    if (status === 406) expect(r.json().code).toBe('X_ERR_HTTP_NOT_ACCEPTABLE')
  })
})
