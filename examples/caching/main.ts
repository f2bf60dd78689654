// Ballerina's "HTTP caching client" with @x/http: a Client with the cache turned on in front
// of a local origin that counts what reaches it. Each line says whether the answer was a
// hit, a miss or a revalidation (from @x/cache's diagnostics channels) and what the origin saw.
import * as diagnostics from 'node:diagnostics_channel'
import { createServer } from 'node:http'
import { Client } from '@x/http'

let originHits = 0
let version = 1
let down = false
const origin = createServer((req, res) => {
  originHits++
  if (down) return void res.writeHead(503).end()
  if (req.method === 'PUT') {
    version++
    return void req.resume().on('end', () => res.writeHead(204).end())
  }
  const tag = `"v${version}"`
  const headers = {
    'cache-control': req.url === '/prices' ? 'max-age=0, stale-if-error=600' : 'max-age=60',
    etag: tag,
    vary: 'accept-language',
    'content-type': 'text/plain; charset=utf-8',
  }
  if (req.headers['if-none-match'] === tag) return void res.writeHead(304, headers).end()
  const hello = req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello'
  res.writeHead(200, headers).end(`${hello} v${version}`)
})
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
const { port } = origin.address() as { port: number }

// What the cache did for the request being made.
let event = ''
diagnostics.subscribe('x:cache:hit', (m) => {
  const { stale } = m as { stale?: string }
  event = stale === undefined ? 'hit' : `stale answer (${stale})`
})
diagnostics.subscribe('x:cache:miss', () => {
  event = 'miss'
})
diagnostics.subscribe('x:cache:revalidate', (m) => {
  const { result } = m as { result: string }
  if (result !== 'error') event = `revalidated: ${result}`
})
diagnostics.subscribe('x:cache:invalidate', () => {
  event = 'invalidated'
})

const client = new Client(`http://127.0.0.1:${port}`, { cache: { capacity: 100 } })

async function show(label: string, send: () => ReturnType<Client['get']>): Promise<void> {
  event = ''
  const res = await send()
  const body = await res.text()
  const text = body === '' ? '' : ` "${body}"`
  console.log(`${label} → ${res.status}${text} [${event || 'passed through'}] (origin hits: ${originHits})`)
}

await show('GET /greeting', () => client.get('/greeting'))
await show('GET /greeting', () => client.get('/greeting'))
await show('HEAD /greeting', () => client.head('/greeting'))
await show('GET /greeting, Accept-Language: fr', () =>
  client.get('/greeting', { headers: { 'accept-language': 'fr' } }),
)
await show('GET /greeting, Cache-Control: no-cache', () =>
  client.get('/greeting', { headers: { 'cache-control': 'no-cache' } }),
)
await show('PUT /greeting', () => client.put('/greeting', 'new'))
await show('GET /greeting', () => client.get('/greeting'))
await show('GET /prices', () => client.get('/prices'))
down = true
await show('GET /prices while the origin fails', () => client.get('/prices'))

await client.close()
origin.close()
