// Ballerina's "HTTP client redirects" example with @x/http: a Client that follows redirects
// (at most maxCount hops, credentials dropped on a hop to another origin), and what happens
// with following off, with a loop, and with too many hops.
import { createServer } from 'node:http'
import { Client, isClientError } from '@x/http'

const other = createServer((req, res) => {
  res.end(`other origin got ${req.url}, authorization: ${req.headers.authorization ?? 'none'}`)
})
const service = createServer((req, res) => {
  const to = (status: number, location: string) => res.writeHead(status, { location }).end()
  switch (req.url) {
    case '/redirect1':
      return to(301, '/redirect2')
    case '/redirect2':
      return to(307, '/hello')
    case '/hello':
      return void res.end(
        `Hello, World! (${req.method}, authorization: ${req.headers.authorization ?? 'none'})`,
      )
    case '/away':
      return to(302, `http://127.0.0.1:${(other.address() as { port: number }).port}/landing`)
    case '/loop-a':
      return to(302, '/loop-b')
    case '/loop-b':
      return to(302, '/loop-a')
    default: {
      const n = Number(req.url?.slice(6))
      return to(302, `/hops/${n + 1}`)
    }
  }
})
await Promise.all(
  [service, other].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
)
const base = `http://127.0.0.1:${(service.address() as { port: number }).port}`

const client = new Client(base, { followRedirects: { enabled: true, maxCount: 5 } })
const headers = { authorization: 'Bearer secret' }

const res = await client.get('/redirect1', { headers })
console.log(`GET /redirect1 → ${res.status} at ${new URL(res.url).pathname}: ${await res.text()}`)

const posted = await client.post('/redirect2', 'payload', { headers })
console.log(`POST /redirect2 (307 keeps the method) → ${await posted.text()}`)

const away = await client.get('/away', { headers })
console.log(`GET /away → ${await away.text()}`)

const loop = await client.get('/loop-a').catch((e: unknown) => e)
console.log(`GET /loop-a → ${isClientError(loop) ? loop.code : 'followed?!'}`)

const hops = await client.get('/hops/0').catch((e: unknown) => e)
console.log(`GET /hops/0 → ${isClientError(hops) ? hops.code : 'followed?!'}`)

const plain = new Client(base)
const unfollowed = await plain.get('/redirect1')
console.log(`following off: GET /redirect1 → ${unfollowed.status} Location: ${unfollowed.headers.location}`)
await unfollowed.text()

await Promise.all([client.close(), plain.close()])
service.close()
other.close()
