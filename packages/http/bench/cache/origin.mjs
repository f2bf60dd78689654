// The cache bench origin, in its own process: every path answers a cacheable 1 KiB JSON body;
// GET /__hits answers how many requests each path received. Prints its port on stdout.
import { createServer } from 'node:http'

const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }))
const hits = new Map()
const server = createServer((req, res) => {
  if (req.url === '/__hits') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(hits)))
    return
  }
  hits.set(req.url, (hits.get(req.url) ?? 0) + 1)
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': String(body.byteLength),
    'cache-control': 'public, max-age=3600',
    etag: '"bench-1"',
  })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
