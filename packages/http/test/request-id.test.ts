import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { listen } from '../../../test-support/listen.ts'
import {
  Client,
  HttpError,
  HttpResponse,
  Listener,
  type ListenerOptions,
  type Service,
} from '../src/index.ts'
import { raw, type Served, serve } from './helpers/serve.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function served(
  services: Service | Service[],
  options: Partial<ListenerOptions> = {},
): Promise<Served> {
  const s = await serve(services, options)
  cleanups.push(() => s.close())
  return s
}

/** A service whose resources answer with the request id they see. */
const echo: Service = {
  resources: [
    { methods: ['GET'], path: '/id', handler: (ctx) => ({ id: ctx.requestId ?? null }) },
    { methods: ['GET'], path: '/stream', handler: () => Readable.from(['a', 'b']) },
    {
      methods: ['GET'],
      path: '/fail',
      handler: () => {
        throw new HttpError(409, 'conflict')
      },
    },
  ],
}

const GENERATED = /^[0-9a-f]{12}-[0-9a-z]+$/

describe('request ids', () => {
  it('generates a distinct id per request when the request has none', async () => {
    const s = await served(echo)
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const { id } = (await s.fetch('/id')).json() as { id: string }
      expect(id).toMatch(GENERATED)
      ids.add(id)
    }
    expect(ids.size).toBe(5)
  })

  it('takes a safe X-Request-Id from the request', async () => {
    const s = await served(echo)
    const id = 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8'
    expect((await s.fetch('/id', { headers: { 'x-request-id': id } })).json()).toEqual({ id })
  })

  it.each([
    { name: 'one character over maxLength (128)', value: 'a'.repeat(129) },
    { name: 'a space', value: 'abc def' },
    { name: 'a double quote', value: 'abc"def' },
    { name: 'a backslash', value: 'abc\\def' },
    { name: 'a comma', value: 'a,b' },
    { name: 'an HTML tag', value: '<script>' },
    { name: 'a tab', value: 'a\tb' },
    { name: 'a non-ASCII byte', value: 'caf\u00e9' },
    { name: 'a JSON fragment', value: '","status":200,"x":"' },
  ])('replaces an X-Request-Id with $name by a generated one', async ({ value }) => {
    const s = await served(echo, { requestId: { echo: true } })
    const res = await raw(
      s.port,
      Buffer.from(
        `GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${value}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
    )
    const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as { id: string }
    expect(body.id).toMatch(GENERATED)
    expect(res).toContain(`\r\nx-request-id: ${body.id}\r\n`)
  })

  it('reports a refused id on x:http:listener-request-id-refused', async () => {
    const refused: unknown[] = []
    const onRefused = (m: unknown) => refused.push((m as { value: unknown }).value)
    subscribe('x:http:listener-request-id-refused', onRefused)
    cleanups.push(() => {
      unsubscribe('x:http:listener-request-id-refused', onRefused)
    })
    const s = await served(echo)
    await s.fetch('/id', { headers: { 'x-request-id': 'fine-1' } })
    await s.fetch('/id', { headers: { 'x-request-id': 'not fine' } })
    expect(refused).toEqual(['not fine'])
  })

  it('replaces a repeated X-Request-Id (joined with ", " by Node) by a generated one', async () => {
    const s = await served(echo)
    const res = await raw(
      s.port,
      'GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\nX-Request-Id: b\r\nConnection: close\r\n\r\n',
    )
    expect((JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as { id: string }).id).toMatch(GENERATED)
  })

  it('accepts an id up to maxLength and ignores the request header with fromRequest: false', async () => {
    const long = await served(echo, { requestId: { maxLength: 300 } })
    const id = 'x'.repeat(300)
    expect((await long.fetch('/id', { headers: { 'x-request-id': id } })).json()).toEqual({ id })
    const own = await served(echo, { requestId: { fromRequest: false } })
    const res = (await own.fetch('/id', { headers: { 'x-request-id': 'abc' } })).json() as { id: string }
    expect(res.id).toMatch(GENERATED)
  })

  it('echoes the id in every response when asked: values, streams, errors, 404 and HEAD', async () => {
    const s = await served(echo, { requestId: { echo: true } })
    const cases = [
      { path: '/id', method: 'GET', status: 200 },
      { path: '/stream', method: 'GET', status: 200 },
      { path: '/fail', method: 'GET', status: 409 },
      { path: '/nowhere', method: 'GET', status: 404 },
      { path: '/id', method: 'HEAD', status: 200 },
    ]
    for (const c of cases) {
      const res = await s.fetch(c.path, { method: c.method, headers: { 'x-request-id': `r-${c.path}` } })
      expect(res.status).toBe(c.status)
      expect(res.headers['x-request-id']).toBe(`r-${c.path}`)
    }
  })

  it('does not echo by default, and echoes under the configured header name', async () => {
    const quiet = await served(echo)
    expect((await quiet.fetch('/id')).headers['x-request-id']).toBeUndefined()
    const named = await served(echo, { requestId: { header: 'X-Correlation-Id', echo: true } })
    const res = await named.fetch('/id', { headers: { 'x-correlation-id': 'c-1', 'x-request-id': 'r-1' } })
    expect(res.headers['x-correlation-id']).toBe('c-1')
    expect(res.json()).toEqual({ id: 'c-1' })
  })

  it("lets a handler's own header win over the echoed one", async () => {
    const s = await served(
      {
        resources: [
          {
            methods: ['GET'],
            path: '/own',
            handler: () => new HttpResponse({ headers: { 'x-request-id': 'mine' }, body: 'x' }),
          },
        ],
      },
      { requestId: { echo: true } },
    )
    expect((await s.fetch('/own', { headers: { 'x-request-id': 'r' } })).headers['x-request-id']).toBe('mine')
  })

  it("puts the request id in the Listener's error log, next to the failure", async () => {
    const s = await served(
      {
        resources: [
          {
            methods: ['GET'],
            path: '/crash',
            handler: () => {
              throw new Error('boom')
            },
          },
        ],
      },
      { requestId: { echo: true } },
    )
    const res = await s.fetch('/crash')
    expect(res.status).toBe(500)
    expect(s.logger.errors).toHaveLength(1)
    expect(s.logger.errors[0]!.obj.requestId).toBe(res.headers['x-request-id'])
  })

  it('turns off with requestId: false', async () => {
    const s = await served(echo, { requestId: false })
    const res = await s.fetch('/id', { headers: { 'x-request-id': 'abc' } })
    expect(res.json()).toEqual({ id: null })
    expect(res.headers['x-request-id']).toBeUndefined()
  })

  it('uses generate(), and falls back to its own ids when generate() throws or returns a non-string', async () => {
    let n = 0
    const custom = await served(echo, { requestId: { generate: () => `custom-${++n}` } })
    expect((await custom.fetch('/id')).json()).toEqual({ id: 'custom-1' })
    const throwing = await served(echo, {
      requestId: {
        generate: () => {
          throw new Error('no ids today')
        },
      },
    })
    expect(((await throwing.fetch('/id')).json() as { id: string }).id).toMatch(GENERATED)
    const wrong = await served(echo, { requestId: { generate: () => 42 as unknown as string } })
    expect(((await wrong.fetch('/id')).json() as { id: string }).id).toMatch(GENERATED)
  })

  it.each([
    { name: 'a string', value: 'on' },
    { name: 'an array', value: [] },
    { name: 'an unknown key', value: { echoes: true } },
    { name: 'a header name with a space', value: { header: 'x request id' } },
    { name: 'an empty header name', value: { header: '' } },
    { name: 'a zero maxLength', value: { maxLength: 0 } },
    { name: 'a maxLength over 1024', value: { maxLength: 1025 } },
    { name: 'a fractional maxLength', value: { maxLength: 1.5 } },
    { name: 'a non-boolean echo', value: { echo: 'yes' } },
    { name: 'a non-boolean fromRequest', value: { fromRequest: 1 } },
    { name: 'a non-function generate', value: { generate: 'uuid' } },
  ])('rejects requestId with $name: X_ERR_HTTP_INVALID_OPTION', ({ value }) => {
    expect(() => new Listener({ port: 0, requestId: value as never })).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })
})

describe('Client.forward() and request ids', () => {
  async function gateway(options: Partial<ListenerOptions>) {
    const seen: IncomingHttpHeaders[] = []
    const upstream = await listen(
      createServer((req, res) => {
        seen.push(req.headers)
        req.resume()
        req.on('end', () => res.end('up'))
      }),
    )
    cleanups.push(() => upstream.close())
    const client = new Client(upstream.url)
    cleanups.push(() => client.close())
    const s = await served(
      {
        resources: [
          {
            path: '/{...rest}',
            handler: async (ctx) => {
              const res = await client.forward('/up', ctx.request)
              return { id: ctx.requestId ?? null, upstream: await res.text() }
            },
          },
        ],
      },
      options,
    )
    return { s, seen }
  }

  it("sends the exchange's id upstream: the inbound one, or the generated one that replaced an unsafe one", async () => {
    const { s, seen } = await gateway({})
    const mine = (await s.fetch('/a', { headers: { 'x-request-id': 'in-1' } })).json() as { id: string }
    expect(mine.id).toBe('in-1')
    const made = (await s.fetch('/b')).json() as { id: string }
    const replaced = (await s.fetch('/c', { headers: { 'x-request-id': 'bad id' } })).json() as { id: string }
    expect(seen.map((h) => h['x-request-id'])).toEqual(['in-1', made.id, replaced.id])
    expect(made.id).toMatch(GENERATED)
    expect(replaced.id).toMatch(GENERATED)
  })

  it('forwards under the configured header, and adds nothing with request ids off', async () => {
    const named = await gateway({ requestId: { header: 'x-correlation-id' } })
    await named.s.fetch('/a', { headers: { 'x-correlation-id': 'corr-1' } })
    expect(named.seen[0]!['x-correlation-id']).toBe('corr-1')
    const off = await gateway({ requestId: false })
    await off.s.fetch('/a')
    await off.s.fetch('/b', { headers: { 'x-request-id': 'as sent' } })
    expect(off.seen.map((h) => h['x-request-id'])).toEqual([undefined, 'as sent'])
  })
})
