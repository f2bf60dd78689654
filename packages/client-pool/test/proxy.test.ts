import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { createSecureServer } from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type Listening, listen } from '../../../test-support/listen.ts'
import { cert, key } from '../../../test-support/tls.ts'
import { ClientPool, type ClientPoolOptions, isClientPoolError } from '../src/index.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function serve(
  srv: Server | ReturnType<typeof createSecureServer>,
  secure = false,
): Promise<Listening> {
  const l = await listen(srv, { secure })
  cleanups.unshift(async () => {
    await l.drained()
    await l.close()
  })
  return l
}

interface ProxyLog {
  connects: Array<{ target: string; auth: string | undefined }>
  forwards: Array<{ url: string; auth: string | undefined }>
}

/** A small HTTP proxy: CONNECT tunnels and absolute-form forwarding, with Basic auth when `auth` is set. */
async function proxyServer(auth?: string): Promise<Listening & { log: ProxyLog }> {
  const log: ProxyLog = { connects: [], forwards: [] }
  const expected = auth === undefined ? undefined : `Basic ${Buffer.from(auth).toString('base64')}`
  const srv = createServer((req: IncomingMessage, res) => {
    log.forwards.push({ url: req.url ?? '', auth: req.headers['proxy-authorization'] })
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) {
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
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      },
    )
    req.pipe(up)
  })
  srv.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    log.connects.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] })
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n')
      return
    }
    const [host, port] = (req.url ?? '').split(':')
    const upstream = netConnect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  const l = await serve(srv)
  return Object.assign(l, { log })
}

function pool(options: ClientPoolOptions): ClientPool {
  const p = new ClientPool(options)
  cleanups.push(() => p.close())
  return p
}

describe('proxy', () => {
  it('tunnels https requests through CONNECT with Proxy-Authorization', async () => {
    const target = await serve(
      createHttpsServer({ key, cert }, (req, res) => res.end(`secure ${req.url}`)),
      true,
    )
    const proxy = await proxyServer('ann:s3cret')
    const p = pool({
      tls: { ca: cert },
      proxy: { host: '127.0.0.1', port: proxy.port, userName: 'ann', password: 's3cret' },
    })
    for (let i = 0; i < 3; i++) {
      expect(await (await request(`${target.url}/x${i}`, { dispatcher: p })).body.text()).toBe(
        `secure /x${i}`,
      )
    }
    // One tunnel, kept alive for the three requests.
    expect(proxy.log.connects).toEqual([
      { target: `127.0.0.1:${target.port}`, auth: `Basic ${Buffer.from('ann:s3cret').toString('base64')}` },
    ])
  })

  it('negotiates h2 inside the tunnel', async () => {
    const target = await serve(
      createSecureServer({ key, cert, allowHTTP1: true }, (req, res) => res.end(req.httpVersion)),
      true,
    )
    const proxy = await proxyServer()
    const p = pool({ httpVersion: '2', tls: { ca: cert }, proxy: { host: '127.0.0.1', port: proxy.port } })
    expect(await (await request(target.url, { dispatcher: p })).body.text()).toBe('2.0')
    expect(proxy.log.connects.length).toBe(1)
  })

  it('sends http requests in absolute form with Proxy-Authorization', async () => {
    const target = await serve(createServer((req, res) => res.end(`plain ${req.url} ${req.headers.host}`)))
    const proxy = await proxyServer('bob:pw')
    const p = pool({ proxy: { host: '127.0.0.1', port: proxy.port, userName: 'bob', password: 'pw' } })
    const body = await (await request(`${target.url}/a?b=1`, { dispatcher: p })).body.text()
    expect(body).toBe(`plain /a?b=1 127.0.0.1:${target.port}`)
    expect(proxy.log.forwards).toEqual([
      { url: `${target.url}/a?b=1`, auth: `Basic ${Buffer.from('bob:pw').toString('base64')}` },
    ])
    expect(proxy.log.connects).toEqual([])
  })

  it('fails with X_ERR_POOL_PROXY_CONNECT and the status when the proxy refuses the tunnel', async () => {
    const target = await serve(
      createHttpsServer({ key, cert }, (_req, res) => res.end('never')),
      true,
    )
    const proxy = await proxyServer('ann:right')
    const p = pool({
      tls: { ca: cert },
      proxy: { host: '127.0.0.1', port: proxy.port, userName: 'ann', password: 'wrong' },
    })
    const err = await request(target.url, { dispatcher: p }).catch((e: unknown) => e)
    expect(isClientPoolError(err, 'X_ERR_POOL_PROXY_CONNECT')).toBe(true)
    expect((err as { statusCode?: number }).statusCode).toBe(407)
  })

  it('answers a proxy that is down with the connection error', async () => {
    const dead = await serve(createServer())
    const port = dead.port
    await dead.close()
    const p = pool({ proxy: { host: '127.0.0.1', port } })
    const err = (await request('http://127.0.0.1:1/x', { dispatcher: p }).catch((e: unknown) => e)) as {
      code?: string
    }
    expect(err.code).toBe('ECONNREFUSED')
  })
})
