// The server of the cluster bench: one Listener serving GET /hello, in one process
// (WORKERS=0) or forked into WORKERS workers. Prints `ready <port>` once it serves.
import cluster from 'node:cluster'
import { Listener } from '../src/index.ts'

const workers = Number(process.env.WORKERS ?? 0)
const listener = new Listener({
  port: 0,
  host: '127.0.0.1',
  ...(workers > 0 ? { workers } : {}),
})
listener.attach({ resources: [{ path: '/hello', handler: () => ({ hello: 'world' }) }] })
await listener.start()
if (cluster.isPrimary) process.stdout.write(`ready ${listener.port}\n`)
process.on('SIGTERM', () => {
  void listener.gracefulStop({ timeout: 1_000 }).then(() => process.exit(0))
})
