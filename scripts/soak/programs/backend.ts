// A backend of the proxy scenarios: plain node:http on PORT (0: any), answering
// /item/<id> with a cacheable JSON body and /live/<id> with an uncacheable one. Over IPC it
// can be told to answer a status instead (`behave`), and asked how many requests it served.
import { createServer } from 'node:http'

const { env } = process

const name = env.BACKEND_NAME ?? 'backend'
const maxAge = Number(env.MAX_AGE ?? 60)
let status = 200
let served = 0
const server = createServer((req, res) => {
  served++
  if (status !== 200) {
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${name} ${status}`)
    return
  }
  const cacheable = req.url?.startsWith('/item/') === true
  res
    .writeHead(200, {
      'content-type': 'application/json',
      'cache-control': cacheable ? `public, max-age=${maxAge}` : 'no-store',
      // A validator too: the Client's default cache policy (Ballerina's) stores only responses with one.
      etag: `"${req.url}"`,
    })
    .end(JSON.stringify({ backend: name, url: req.url }))
})
server.keepAliveTimeout = 60_000
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  process.send!({ type: 'ready', port: (server.address() as { port: number }).port })
})
process.on('message', (m: { type: string; id?: number; status?: number }) => {
  if (m.type === 'behave') status = m.status ?? 200
  if (m.type === 'served') process.send!({ type: 'served', id: m.id, served })
  if (m.type === 'behave' || m.type === 'served') return
})
process.on('disconnect', () => process.exit(0))
