// What every peer's server does: answer `hello world`, print its port.
import type { Server } from 'node:http'

export const BODY = 'hello world'

export function start(server: Server): void {
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.stdout.write(`port ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
