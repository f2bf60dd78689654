// The benchmark's server, run in its own process so the client process is what is measured:
// node:http with keep-alive, answering every GET with a small text body.
import { createServer } from 'node:http'

const body = Buffer.from('hello world')
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }))
process.on('disconnect', () => process.exit(0))
