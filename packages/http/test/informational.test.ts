import { afterEach, describe, expect, it } from 'vitest'
import type { Context } from '../src/index.ts'
import { raw, type Served, serve } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

function served(handler: (ctx: Context) => unknown) {
  return serve({ resources: [{ path: '/i', handler }] })
}

describe('ctx.caller.informational', () => {
  it('sends 103 Early Hints with their Link fields before the final response', async () => {
    let sent: unknown
    server = await served((ctx) => {
      sent = ctx.caller.informational(103, {
        link: ['</a.css>; rel=preload', '</b.js>; rel=preload'],
        'x-n': '1',
      })
      return 'final'
    })
    const text = await raw(server.port, 'GET /i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(sent).toBe(true)
    expect(text.startsWith('HTTP/1.1 103 Early Hints\r\n')).toBe(true)
    expect(text).toContain('Link: </a.css>; rel=preload, </b.js>; rel=preload\r\n')
    expect(text).toContain('x-n: 1\r\n')
    expect(text).toContain('HTTP/1.1 200 OK\r\n')
    expect(text.endsWith('final')).toBe(true)
  })

  it('sends 102 Processing', async () => {
    server = await served((ctx) => {
      ctx.caller.informational(102)
      return 'done'
    })
    const text = await raw(server.port, 'GET /i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(text.startsWith('HTTP/1.1 102 Processing\r\n')).toBe(true)
    expect(text).toContain('HTTP/1.1 200 OK\r\n')
  })

  it.each([
    {
      name: 'an HTTP/1.0 client',
      request: 'GET /i HTTP/1.0\r\n\r\n',
      headers: { link: '</a>; rel=preload' },
    },
    {
      name: 'a 103 without Link',
      request: 'GET /i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      headers: {},
    },
    {
      name: 'a Link Node cannot write',
      request: 'GET /i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      headers: { link: 'not a link' },
    },
  ])('sends nothing and returns false for $name', async ({ request, headers }) => {
    let sent: unknown
    server = await served((ctx) => {
      sent = ctx.caller.informational(103, headers)
      return 'final'
    })
    const text = await raw(server.port, request)
    expect(sent).toBe(false)
    expect(text).not.toContain(' 103 ')
    expect(text.endsWith('final')).toBe(true)
  })

  it('returns false once the response has started', async () => {
    let late: unknown
    server = await served(async (ctx) => {
      await ctx.caller.respond('first')
      late = ctx.caller.informational(103, { link: '</a>; rel=preload' })
    })
    const res = await server.fetch('/i')
    expect(res.text).toBe('first')
    await expect.poll(() => late).toBe(false)
  })

  it.each([
    { name: 'a status other than 102 and 103', status: 100, headers: {} },
    { name: 'a field name that is not a token', status: 103, headers: { 'bad name': 'x', link: '</a>' } },
    { name: 'CR LF in a value', status: 103, headers: { link: '</a>', 'x-a': 'v\r\nInjected: 1' } },
  ])('throws X_ERR_HTTP_INVALID_OPTION for $name, writing nothing', async ({ status, headers }) => {
    let code: unknown
    server = await served((ctx) => {
      try {
        ctx.caller.informational(status as 103, headers)
      } catch (e) {
        code = (e as { code?: string }).code
      }
      return 'final'
    })
    const text = await raw(server.port, 'GET /i HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(code).toBe('X_ERR_HTTP_INVALID_OPTION')
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true)
    expect(text).not.toContain('Injected')
  })
})
