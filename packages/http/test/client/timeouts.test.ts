import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isClientError } from '../../src/index.js'
import { client, serve, server } from './helpers.ts'

/** Responses the server holds; each test releases or abandons them. */
function holder() {
  const held: ServerResponse[] = []
  const waiters: Array<() => void> = []
  return {
    held,
    handle(_req: unknown, res: ServerResponse) {
      held.push(res)
      for (const w of waiters.splice(0)) w()
    },
    arrived(n: number): Promise<void> {
      if (held.length >= n) return Promise.resolve()
      return new Promise((resolve) => {
        const check = () => (held.length >= n ? resolve() : waiters.push(check))
        waiters.push(check)
      })
    },
  }
}

describe('timeouts', () => {
  it('fails with X_ERR_CLIENT_CONNECT_TIMEOUT when the TLS handshake never completes', async () => {
    // A TCP server that accepts and says nothing: the https handshake stalls.
    const sockets: Socket[] = []
    const tcp = await serve(
      createNetServer((s) => {
        sockets.push(s)
        s.resume()
      }),
    )
    const c = client(`https://127.0.0.1:${tcp.port}`, { connectTimeout: 100 })
    const err = await c.get('/').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_CONNECT_TIMEOUT')).toBe(true)
    expect(sockets.length).toBe(1)
  })

  it('fails with X_ERR_CLIENT_HEADERS_TIMEOUT when the response head never comes', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { headersTimeout: 100 })
    const err = await c.get('/').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_HEADERS_TIMEOUT')).toBe(true)
    expect((err as { method?: string; url?: string }).url).toBe(`${s.url}/`)
  })

  it('fails the body with X_ERR_CLIENT_BODY_TIMEOUT when it stops midway', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('only part of it')
    })
    const c = client(s.url, { bodyTimeout: 100 })
    const res = await c.get('/')
    expect(res.status).toBe(200)
    const err = await res.text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_BODY_TIMEOUT')).toBe(true)
  })

  it('fails with X_ERR_CLIENT_DEADLINE when the whole exchange takes longer than timeout', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { timeout: 100 })
    const err = await c.get('/slow').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DEADLINE')).toBe(true)
  })

  it('counts the body in the deadline', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200)
      res.write('first chunk')
    })
    const c = client(s.url, { timeout: 150, bodyTimeout: 60_000 })
    const res = await c.get('/')
    const err = await res.text().catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DEADLINE')).toBe(true)
  })

  it('lets one request set its own deadline', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { timeout: 0 })
    const err = await c.get('/', { timeout: 80 }).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DEADLINE')).toBe(true)
  })

  it('fails a request that waited too long for a connection with X_ERR_CLIENT_WAIT_TIMEOUT', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { poolConfig: { maxActiveConnections: 1, waitTime: 30 }, timeout: 0 })
    const first = c.get('/first')
    await h.arrived(1)
    const err = await c.get('/second').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_WAIT_TIMEOUT')).toBe(true)
    h.held[0]!.end('ok')
    expect(await (await first).text()).toBe('ok')
  })

  it('answers on time when the deadline passes while the request still waits for a connection', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { poolConfig: { maxActiveConnections: 1, waitTime: 60_000 }, timeout: 60_000 })
    const first = c.get('/first')
    await h.arrived(1)
    const err = await c.get('/second', { timeout: 50 }).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_DEADLINE')).toBe(true)
    expect(c.stats()[s.url]).toMatchObject({ queued: 0, inflight: 1 })
    h.held[0]!.end('ok')
    await (await first).text()
  })
})

describe('abort signal', () => {
  it('aborts a request in flight with X_ERR_CLIENT_ABORTED and the reason as cause', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url)
    const ac = new AbortController()
    const p = c.get('/', { signal: ac.signal }).catch((e: unknown) => e)
    await h.arrived(1)
    const reason = new Error('user left')
    ac.abort(reason)
    const err = await p
    expect(isClientError(err, 'X_ERR_CLIENT_ABORTED')).toBe(true)
    expect((err as Error).cause).toBe(reason)
    await once(h.held[0]!.req.socket, 'close')
  })

  it('does not send a request whose signal is already aborted', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url)
    const err = await c.get('/', { signal: AbortSignal.abort() }).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_ABORTED')).toBe(true)
    expect(s.sockets.length).toBe(0)
  })

  it('aborts at once while the request waits for a connection', async () => {
    const h = holder()
    const s = await server(h.handle)
    const c = client(s.url, { poolConfig: { maxActiveConnections: 1 } })
    const first = c.get('/first')
    await h.arrived(1)
    const ac = new AbortController()
    const second = c.get('/second', { signal: ac.signal }).catch((e: unknown) => e)
    expect(c.stats()[s.url]?.queued).toBe(1)
    ac.abort()
    expect(isClientError(await second, 'X_ERR_CLIENT_ABORTED')).toBe(true)
    expect(c.stats()[s.url]?.queued).toBe(0)
    h.held[0]!.end('ok')
    await (await first).text()
  })

  it('aborts at once between retries, and no further attempt is made', async () => {
    let attempts = 0
    const s = await server((_req, res) => {
      attempts++
      res.writeHead(503).end()
    })
    const c = client(s.url, {
      retryConfig: { count: 5, interval: 60_000, maxWaitInterval: 60_000, jitter: 'none' },
    })
    const ac = new AbortController()
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const retried = new Promise<void>((resolve) => {
      const onRetry = () => {
        unsubscribe('x:http:client:retry', onRetry)
        resolve()
      }
      subscribe('x:http:client:retry', onRetry)
    })
    const p = c.get('/', { signal: ac.signal }).catch((e: unknown) => e)
    await retried
    ac.abort()
    expect(isClientError(await p, 'X_ERR_CLIENT_ABORTED')).toBe(true)
    expect(attempts).toBe(1)
  })
})
