// Child process for the rotation test: an HTTP server that access-logs to the file named in
// argv[2]. It prints its port, then answers stdin commands: `flush` → `flushed`; and prints
// `reopened` when the reopen signal has been handled.
import { subscribe } from 'node:diagnostics_channel'
import { createServer } from 'node:http'
import { createInterface } from 'node:readline'
import { accessLog } from '../../src/index.ts'

const log = accessLog({ destination: { file: process.argv[2]! } })
subscribe('x:logging:reopen', () => process.stdout.write('reopened\n'))
const server = createServer((req, res) => {
  log.attach(req, res)
  res.end('ok')
})
await log.ready()
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`port ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
})
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'flush') {
    await log.flush()
    process.stdout.write('flushed\n')
  } else if (line === 'exit') {
    server.close()
    await log.close()
    process.exit(0)
  }
}
