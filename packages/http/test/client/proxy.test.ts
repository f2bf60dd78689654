import { createServer, request as httpRequest, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { cert, key } from '../../../../test-support/tls.ts'
import { isClientError } from '../../src/index.js'
import { client, serve } from './helpers.ts'

/** A small HTTP proxy (CONNECT tunnels and absolute-form forwarding) demanding Basic auth. */
async function proxy(user: string, password: string) {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const log: string[] = []
  const srv = createServer((req: IncomingMessage, res) => {
    log.push(`${req.method} ${req.url}`)
    if (req.headers['proxy-authorization'] !== expected) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic' }).end()
      return
    }
    const target = new URL(req.url ?? '')
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    const up = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers,
        agent: false,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      },
    )
    req.pipe(up)
  })
  srv.on('connect', (req: IncomingMessage, sock: Socket) => {
    log.push(`CONNECT ${req.url}`)
    if (req.headers['proxy-authorization'] !== expected) {
      sock.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n')
      return
    }
    const [host, port] = (req.url ?? '').split(':')
    const up = netConnect(Number(port), host, () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      up.pipe(sock)
      sock.pipe(up)
    })
    const end = () => {
      up.destroy()
      sock.destroy()
    }
    up.on('error', end).on('close', end)
    sock.on('error', end).on('close', end)
  })
  const l = await serve(srv)
  return Object.assign(l, { log })
}

describe('Client through a proxy', () => {
  it('reaches an https service through a CONNECT tunnel', async () => {
    const target = await serve(
      createHttpsServer({ key, cert }, (req, res) => res.end(`tunnelled ${req.url}`)),
      true,
    )
    const p = await proxy('ann', 'pw')
    const c = client(target.url, {
      secureSocket: { ca: cert },
      proxy: { host: '127.0.0.1', port: p.port, userName: 'ann', password: 'pw' },
    })
    expect(await (await c.get('/a')).text()).toBe('tunnelled /a')
    expect(p.log).toEqual([`CONNECT 127.0.0.1:${target.port}`])
  })

  it('reaches an http service with absolute-form requests', async () => {
    const target = await serve(createServer((req, res) => res.end(`plain ${req.url}`)))
    const p = await proxy('ann', 'pw')
    const c = client(target.url, {
      proxy: { host: '127.0.0.1', port: p.port, userName: 'ann', password: 'pw' },
    })
    expect(await (await c.post('/b?x=1', 'body')).text()).toBe('plain /b?x=1')
    expect(p.log).toEqual([`POST ${target.url}/b?x=1`])
  })

  it('fails with X_ERR_CLIENT_PROXY when the proxy refuses the tunnel', async () => {
    const target = await serve(
      createHttpsServer({ key, cert }, (_req, res) => res.end()),
      true,
    )
    const p = await proxy('ann', 'pw')
    const c = client(target.url, {
      secureSocket: { ca: cert },
      proxy: { host: '127.0.0.1', port: p.port, userName: 'ann', password: 'wrong' },
    })
    const err = await c.get('/').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_PROXY')).toBe(true)
    expect((err as { statusCode?: number }).statusCode).toBe(407)
  })
})
