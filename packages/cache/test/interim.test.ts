import { createServer, type ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { cache } from '../src/index.ts'
import { client, type TestClient } from './helpers/client.ts'
import { Clock } from './helpers/origin.ts'

type Handler = Dispatcher.DispatchHandler

/** Records interim (1xx) responses the caller sees, passing everything on. */
function interimCollector(seen: number[]): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler: Handler) =>
    dispatch(opts, {
      onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
      onResponseStart: (c, status, headers, message) => {
        if (status < 200) seen.push(status)
        handler.onResponseStart?.(c, status, headers, message)
      },
      onResponseData: (c, chunk) => handler.onResponseData?.(c, chunk),
      onResponseEnd: (c, trailers) => handler.onResponseEnd?.(c, trailers),
      onResponseError: (c, err) => handler.onResponseError?.(c, err),
    })
}

let server: Listening
let clock: Clock
let hits = 0
let answer: (res: ServerResponse, n: number, inm: string | undefined) => void
let c: TestClient | undefined

beforeEach(async () => {
  hits = 0
  clock = new Clock()
  const srv = createServer((req, res) => {
    hits++
    answer(res, hits, req.headers['if-none-match'])
  })
  server = await listen(srv)
})

afterEach(async () => {
  await c?.close()
  c = undefined
  await server.drained()
  await server.close()
})

describe('interim (1xx) responses', () => {
  it('passes a 103 on, stores the final response and answers the next request without one', async () => {
    answer = (res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' })
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '2' }).end('ok')
    }
    const seen: number[] = []
    c = client(cache({ now: clock.now, shared: true, policy: 'RFC_9111' }), interimCollector(seen))
    const first = await c.send(`${server.url}/i`)
    expect(first.status).toBe(200)
    expect(first.body).toBe('ok')
    expect(seen).toEqual([103])
    const second = await c.send(`${server.url}/i`)
    expect(second.body).toBe('ok')
    expect(seen).toEqual([103])
    expect(hits).toBe(1)
  })

  it('keeps collapsed requests waiting past a 103 until the final response is stored', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    answer = (res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' })
      void held.then(() =>
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '1' }).end('x'),
      )
    }
    const seen: number[] = []
    c = client(cache({ now: clock.now, shared: true, policy: 'RFC_9111' }), interimCollector(seen))
    const first = c.send(`${server.url}/i`)
    const second = c.send(`${server.url}/i`)
    // Both requests are in the cache by now; the origin has sent its 103 for the first.
    await new Promise((resolve) => setImmediate(resolve))
    release()
    const [a, b] = await Promise.all([first, second])
    expect([a.body, b.body]).toEqual(['x', 'x'])
    expect(hits).toBe(1)
  })

  it('passes a 103 on during a revalidation and still answers the 304 from the store', async () => {
    answer = (res, n, inm) => {
      if (n === 1) {
        res.writeHead(200, { 'cache-control': 'max-age=1', etag: '"v"', 'content-length': '4' }).end('body')
        return
      }
      res.writeEarlyHints({ link: '</b.css>; rel=preload' })
      res.writeHead(inm === '"v"' ? 304 : 500, { 'cache-control': 'max-age=60', etag: '"v"' }).end()
    }
    const seen: number[] = []
    c = client(cache({ now: clock.now, shared: true, policy: 'RFC_9111' }), interimCollector(seen))
    await c.send(`${server.url}/i`)
    clock.advance(5)
    const res = await c.send(`${server.url}/i`)
    expect(res.status).toBe(200)
    expect(res.body).toBe('body')
    expect(res.headers['cache-control']).toBe('max-age=60')
    expect(seen).toEqual([103])
  })
})
