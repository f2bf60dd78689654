import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { cert, key } from '../../../../test-support/tls.ts'
import { type ClientError, isClientError } from '../../src/index.js'
import { client, serve, server } from './helpers.ts'

/** A TCP server that answers every request with `raw` bytes, then does `after`. */
async function raw(answer: string | Buffer, after: 'close' | 'keep' = 'close') {
  return serve(
    createNetServer((s: Socket) => {
      s.once('data', () => {
        if (after === 'close') s.end(answer)
        else s.write(answer)
      })
      s.on('error', () => {})
    }),
  )
}

describe('hostile servers', () => {
  it.each([
    { name: 'a garbage status line', answer: 'HTTX/9.9 banana\r\n\r\n' },
    { name: 'a header without colon', answer: 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n' },
    { name: 'an invalid Content-Length', answer: 'HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n' },
    {
      name: 'two different Content-Lengths',
      answer: 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
    },
    {
      name: 'a bad chunk size',
      answer: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    },
  ])('answers $name with X_ERR_CLIENT_PROTOCOL', async ({ answer }) => {
    const s = await raw(answer)
    const c = client(s.url)
    const err = await c
      .get('/')
      .then((r) => r.text())
      .catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_PROTOCOL')).toBe(true)
  })

  it('answers a response head over maxHeaderSize with X_ERR_CLIENT_HEADERS_TOO_LARGE', async () => {
    const s = await server((_req, res) => {
      res.setHeader('x-big', 'v'.repeat(4000))
      res.end('x')
    })
    const c = client(s.url, { responseLimits: { maxHeaderSize: 1024 } })
    expect(isClientError(await c.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_HEADERS_TOO_LARGE')).toBe(
      true,
    )
  })

  it('answers a connection closed before the head with X_ERR_CLIENT_CONNECTION_RESET', async () => {
    const s = await server((req) => req.socket.destroy())
    const c = client(s.url)
    expect(isClientError(await c.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECTION_RESET')).toBe(
      true,
    )
  })

  it('fails a body cut short of its Content-Length, then keeps serving on a new connection', async () => {
    let n = 0
    const s = await server((req, res) => {
      if (n++ === 0) {
        res.writeHead(200, { 'content-length': '100' })
        res.write('ten bytes!')
        setImmediate(() => req.socket.destroy())
        return
      }
      res.end('fine')
    })
    const c = client(s.url)
    const first = await c.get('/')
    expect(isClientError(await first.text().catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECTION_RESET')).toBe(
      true,
    )
    expect(await (await c.get('/')).text()).toBe('fine')
    expect(s.sockets.length).toBe(2)
  })

  it('answers a refused connection with X_ERR_CLIENT_CONNECT_FAILED', async () => {
    const s = await server((_req, res) => res.end())
    const url = s.url
    await s.close()
    const c = client(url)
    expect(isClientError(await c.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_CONNECT_FAILED')).toBe(true)
  })

  it('answers an untrusted certificate with X_ERR_CLIENT_TLS', async () => {
    const s = await serve(
      createHttpsServer({ key, cert }, (_req, res) => res.end('secret')),
      true,
    )
    const c = client(s.url)
    expect(isClientError(await c.get('/').catch((e: unknown) => e), 'X_ERR_CLIENT_TLS')).toBe(true)
  })

  it('answers a certificate for another name with X_ERR_CLIENT_TLS', async () => {
    const s = await serve(
      createHttpsServer({ key, cert }, (_req, res) => res.end('secret')),
      true,
    )
    const c = client(s.url, { secureSocket: { ca: cert, serverName: 'example.com' } })
    const error = await c.get('/').catch((e: unknown) => e)
    expect(isClientError(error, 'X_ERR_CLIENT_TLS')).toBe(true)
    expect((error as ClientError).tlsCode).toBe('X_ERR_TLS_HOSTNAME_MISMATCH')
  })

  it('talks to a trusted HTTPS server', async () => {
    const s = await serve(
      createHttpsServer({ key, cert }, (_req, res) => res.end('secret')),
      true,
    )
    const c = client(s.url, { secureSocket: { ca: cert } })
    expect(await (await c.get('/')).text()).toBe('secret')
  })

  it('survives a flood of small body chunks without blocking other requests', async () => {
    const s = await server((req, res) => {
      if (req.url === '/flood') {
        res.writeHead(200)
        let i = 0
        const tick = () => {
          for (let k = 0; k < 100 && i < 5000; k++, i++) res.write('x')
          if (i < 5000) setImmediate(tick)
          else res.end()
        }
        tick()
      } else res.end('quick')
    })
    const c = client(s.url)
    const flood = c.get('/flood').then((r) => r.text())
    expect(await (await c.get('/other')).text()).toBe('quick')
    expect((await flood).length).toBe(5000)
  })
})
