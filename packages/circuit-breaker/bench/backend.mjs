// The benchmark's keep-alive backend, run in its own process so the client's measurements
// do not share an event loop with the server. Reports its port over IPC.
import { createServer } from 'node:http'

const body = Buffer.from('{"ok":true}')
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }))
process.on('disconnect', () => server.close(() => process.exit(0)))
