import { describe, expect, it } from 'vitest'
import { isClientError } from '../../src/index.js'
import { client, server } from './helpers.ts'

describe('interim (1xx) responses', () => {
  it('resolves with the final response and tells `informational` of each 103', async () => {
    const s = await server((_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' })
      res.writeEarlyHints({ link: '</b.js>; rel=preload; as=script' })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('final')
    })
    const c = client(s.url)
    const seen: Array<[number, unknown]> = []
    const res = await c.get('/', { informational: (status, headers) => seen.push([status, headers.link]) })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('final')
    expect(seen).toEqual([
      [103, '</a.css>; rel=preload; as=style'],
      [103, '</b.js>; rel=preload; as=script'],
    ])
  })

  it('drops interim responses nobody asked for', async () => {
    const s = await server((_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' })
      res.writeHead(201).end('made')
    })
    const res = await client(s.url).get('/')
    expect(res.status).toBe(201)
    expect(await res.text()).toBe('made')
  })

  it('refuses an informational listener that is not a function', async () => {
    const s = await server((_req, res) => res.end())
    const err = await client(s.url)
      .get('/', { informational: 'log' as never })
      .catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_INVALID_REQUEST')).toBe(true)
  })
})
