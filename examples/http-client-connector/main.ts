// Ballerina's "HTTP client" example with @x/http: a Client bound to one service sends GET,
// POST (JSON), PUT and a custom method, binds typed JSON, and handles failures by code.
// The service is a plain node:http server here, started on a free port.
import { createServer } from 'node:http'
import { Client, isClientError } from '@x/http'

interface Album {
  id: string
  title: string
  artist: string
}

const albums = new Map<string, Album>([['1', { id: '1', title: 'Blue Train', artist: 'John Coltrane' }]])

const service = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
    }
    const id = req.url?.split('/')[2]
    if (req.method === 'GET' && req.url === '/albums') return json(200, [...albums.values()])
    if (req.method === 'GET' && id !== undefined) {
      const album = albums.get(id)
      return album === undefined ? json(404, { message: `no album ${id}` }) : json(200, album)
    }
    if ((req.method === 'POST' || req.method === 'PUT') && req.url?.startsWith('/albums')) {
      const album = JSON.parse(Buffer.concat(chunks).toString()) as Album
      albums.set(album.id, album)
      return json(req.method === 'POST' ? 201 : 200, album)
    }
    if (req.method === 'PURGE') {
      albums.clear()
      return json(200, { purged: true })
    }
    json(405, { message: 'not allowed' })
  })
})
await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
const { port } = service.address() as { port: number }

const isAlbum = (v: unknown): v is Album =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Album).id === 'string' &&
  typeof (v as Album).title === 'string'

const albumsClient = new Client(`http://127.0.0.1:${port}`, {
  timeout: 10_000,
  poolConfig: { maxActiveConnections: 4, waitTime: 2_000 },
  retryConfig: { count: 2, interval: 100 },
})

const one = await albumsClient.get('/albums/1')
const album = await one.json(isAlbum)
console.log(`GET /albums/1 → ${one.status} ${album.title} by ${album.artist}`)

const created = await albumsClient.post('/albums', {
  id: '2',
  title: 'Sarah Vaughan',
  artist: 'Sarah Vaughan',
})
console.log(`POST /albums → ${created.status} ${(await created.json(isAlbum)).title}`)

const updated = await albumsClient.put('/albums/2', {
  id: '2',
  title: 'Sarah Vaughan (1955)',
  artist: 'Sarah Vaughan',
})
console.log(`PUT /albums/2 → ${updated.status} ${(await updated.json(isAlbum)).title}`)

const all = (await (await albumsClient.get('/albums')).json()) as Album[]
console.log(`GET /albums → ${all.length} albums: ${all.map((a) => a.id).join(', ')}`)

const missing = await albumsClient.get('/albums/9')
console.log(`GET /albums/9 → ${missing.status} ${((await missing.json()) as { message: string }).message}`)

const purged = await albumsClient.execute('PURGE', '/albums')
console.log(`PURGE /albums → ${purged.status} ${JSON.stringify(await purged.json())}`)

const bad = await albumsClient
  .get('/albums/1', { headers: { 'x-note': 'line\r\nbreak' } })
  .catch((e: unknown) => e)
console.log(`header with CR/LF → ${isClientError(bad) ? bad.code : 'sent?!'}`)

await albumsClient.close()
service.close()

const down = new Client(`http://127.0.0.1:${port}`, { timeout: 2_000 })
const err = await down.get('/albums').catch((e: unknown) => e)
console.log(`service down → ${isClientError(err) ? err.code : 'answered?!'}`)
await down.close()
