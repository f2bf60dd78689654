import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { isClientError } from '../../src/index.js'
import { bodyOf, client, server } from './helpers.ts'

interface Seen {
  method: string
  url: string
  body: string
  headers: Record<string, string | string[] | undefined>
}

/** A server whose routes map a path to [status, location]; other paths echo the request. */
async function redirecting(routes: Record<string, [number, string]>) {
  const seen: Seen[] = []
  const s = await server(async (req, res) => {
    const body = await bodyOf(req)
    seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers })
    const r = routes[req.url ?? '']
    if (r !== undefined) {
      res.writeHead(r[0], { location: r[1] }).end('moved')
      return
    }
    res.end(JSON.stringify({ method: req.method, url: req.url, body }))
  })
  return Object.assign(s, { seen })
}

const on = { followRedirects: { enabled: true } }

describe('redirects', () => {
  it('returns the 3xx as it is when following is disabled (the default)', async () => {
    const s = await redirecting({ '/a': [302, '/b'] })
    const c = client(s.url)
    const res = await c.get('/a')
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('/b')
    expect(await res.text()).toBe('moved')
  })

  it('follows a same-origin chain and reports the final URL', async () => {
    const s = await redirecting({ '/a': [301, '/b'], '/b': [302, 'c?x=1'], '/c?x=1': [308, '/d#frag'] })
    const c = client(s.url, on)
    const res = await c.get('/a')
    expect(JSON.parse(await res.text())).toMatchObject({ method: 'GET', url: '/d' })
    expect(res.url).toBe(`${s.url}/d`)
    expect(s.seen.map((x) => x.url)).toEqual(['/a', '/b', '/c?x=1', '/d'])
  })

  it.each([
    { name: '301 turns POST into GET', status: 301, method: 'POST', next: 'GET', body: '' },
    { name: '302 turns POST into GET', status: 302, method: 'POST', next: 'GET', body: '' },
    { name: '303 turns PUT into GET', status: 303, method: 'PUT', next: 'GET', body: '' },
    { name: '303 turns DELETE into GET', status: 303, method: 'DELETE', next: 'GET', body: '' },
    { name: '301 keeps PUT and its body', status: 301, method: 'PUT', next: 'PUT', body: 'payload' },
    { name: '307 keeps POST and its body', status: 307, method: 'POST', next: 'POST', body: 'payload' },
    { name: '308 keeps PATCH and its body', status: 308, method: 'PATCH', next: 'PATCH', body: 'payload' },
  ])('$name', async ({ status, method, next, body }) => {
    const s = await redirecting({ '/from': [status, '/to'] })
    const c = client(s.url, on)
    const res = await c.execute(method, '/from', 'payload')
    expect(JSON.parse(await res.text())).toEqual({ method: next, url: '/to', body })
    const last = s.seen[1]!
    if (next === 'GET') {
      expect(last.headers['content-type']).toBeUndefined()
      expect(last.headers['content-length']).toBeUndefined()
    } else expect(last.headers['content-type']).toBe('text/plain; charset=utf-8')
  })

  it('replays a streamed body on 307', async () => {
    const s = await redirecting({ '/from': [307, '/to'] })
    const c = client(s.url, on)
    const res = await c.post('/from', Readable.from(['str', 'eam']))
    expect(JSON.parse(await res.text())).toEqual({ method: 'POST', url: '/to', body: 'stream' })
  })

  it('refuses to replay a streamed body larger than maxReplayBodySize with X_ERR_CLIENT_REDIRECT_BODY', async () => {
    const s = await redirecting({ '/from': [307, '/to'] })
    const c = client(s.url, { followRedirects: { enabled: true, maxReplayBodySize: 4 } })
    const err = await c.post('/from', Readable.from(['more than', ' four bytes'])).catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_REDIRECT_BODY')).toBe(true)
    expect((err as { statusCode?: number }).statusCode).toBe(307)
  })

  it('follows to another origin and drops credentials there', async () => {
    const other = await redirecting({})
    const s = await redirecting({ '/a': [302, `${other.url}/landing`] })
    const c = client(s.url, on)
    const res = await c.get('/a', {
      headers: {
        authorization: 'Bearer t',
        cookie: 'sid=1',
        'proxy-authorization': 'Basic x',
        'x-keep': 'yes',
      },
    })
    expect(JSON.parse(await res.text())).toMatchObject({ url: '/landing' })
    expect(res.url).toBe(`${other.url}/landing`)
    const h = other.seen[0]!.headers
    expect(h.authorization).toBeUndefined()
    expect(h.cookie).toBeUndefined()
    expect(h['proxy-authorization']).toBeUndefined()
    expect(h['x-keep']).toBe('yes')
    expect(h.host).toBe(`127.0.0.1:${other.port}`)
    expect(s.seen[0]!.headers.authorization).toBe('Bearer t')
  })

  it('keeps credentials on a cross-origin hop with allowAuthHeaders', async () => {
    const other = await redirecting({})
    const s = await redirecting({ '/a': [302, `${other.url}/landing`] })
    const c = client(s.url, { followRedirects: { enabled: true, allowAuthHeaders: true } })
    await (await c.get('/a', { headers: { authorization: 'Bearer t', cookie: 'sid=1' } })).text()
    expect(other.seen[0]!.headers).toMatchObject({ authorization: 'Bearer t', cookie: 'sid=1' })
  })

  it('keeps credentials on a same-origin hop', async () => {
    const s = await redirecting({ '/a': [302, '/b'] })
    const c = client(s.url, on)
    await (await c.get('/a', { headers: { authorization: 'Bearer t' } })).text()
    expect(s.seen[1]!.headers.authorization).toBe('Bearer t')
  })

  it('fails a loop with X_ERR_CLIENT_REDIRECT_LOOP', async () => {
    const s = await redirecting({ '/a': [302, '/b'], '/b': [302, '/a'] })
    const c = client(s.url, { followRedirects: { enabled: true, maxCount: 50 } })
    const err = await c.get('/a').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_REDIRECT_LOOP')).toBe(true)
    expect(s.seen.length).toBe(2)
  })

  it('fails a same-URL self-redirect with X_ERR_CLIENT_REDIRECT_LOOP', async () => {
    const s = await redirecting({ '/self': [301, '/self'] })
    const c = client(s.url, on)
    expect(isClientError(await c.get('/self').catch((e: unknown) => e), 'X_ERR_CLIENT_REDIRECT_LOOP')).toBe(
      true,
    )
  })

  it('fails after maxCount hops with X_ERR_CLIENT_TOO_MANY_REDIRECTS', async () => {
    const routes: Record<string, [number, string]> = {}
    for (let i = 0; i < 10; i++) routes[`/${i}`] = [302, `/${i + 1}`]
    const s = await redirecting(routes)
    const c = client(s.url, { followRedirects: { enabled: true, maxCount: 3 } })
    const err = await c.get('/0').catch((e: unknown) => e)
    expect(isClientError(err, 'X_ERR_CLIENT_TOO_MANY_REDIRECTS')).toBe(true)
    expect(s.seen.map((x) => x.url)).toEqual(['/0', '/1', '/2', '/3'])
  })

  it.each([
    { name: 'a non-http scheme', location: 'ftp://example.com/x' },
    { name: 'a javascript: URL', location: 'javascript:alert(1)' },
    { name: 'a malformed URL', location: 'http://[::1' },
  ])('refuses $name with X_ERR_CLIENT_REDIRECT_INVALID', async ({ location }) => {
    const s = await redirecting({ '/a': [302, location] })
    const c = client(s.url, on)
    expect(isClientError(await c.get('/a').catch((e: unknown) => e), 'X_ERR_CLIENT_REDIRECT_INVALID')).toBe(
      true,
    )
  })

  it('returns a 3xx without Location as it is', async () => {
    const s = await server((_req, res) => res.writeHead(302).end('nowhere'))
    const c = client(s.url, on)
    const res = await c.get('/')
    expect(res.status).toBe(302)
    expect(await res.text()).toBe('nowhere')
  })

  it('gives up a redirect body that will not end, and follows anyway', async () => {
    const s = await server((req, res) => {
      if (req.url === '/a') {
        res.writeHead(302, { location: '/b' })
        // An endless redirect body: more than the 64 KiB the client reads of it.
        const chunk = Buffer.alloc(16 * 1024, 'x')
        const pump = () => {
          while (res.write(chunk)) {}
          res.once('drain', pump)
        }
        pump()
        res.on('close', () => res.removeAllListeners('drain'))
        return
      }
      res.end('arrived')
    })
    const c = client(s.url, on)
    expect(await (await c.get('/a')).text()).toBe('arrived')
  })

  it('reports each hop on x:http:client:redirect', async () => {
    const s = await redirecting({ '/a': [302, '/b'] })
    const c = client(s.url, on)
    const events: unknown[] = []
    const listener = (m: unknown) => events.push(m)
    subscribe('x:http:client:redirect', listener)
    try {
      await (await c.get('/a')).text()
    } finally {
      unsubscribe('x:http:client:redirect', listener)
    }
    expect(events).toEqual([{ from: `${s.url}/a`, to: `${s.url}/b`, statusCode: 302, method: 'GET' }])
  })
})
