// The Listener's hello world with its access log (nginx combined) to a file: the Listener's
// own hook fills @x/logging's AccessRecord, written asynchronously through sonic-boom.
import { Listener } from '@x/http'
import { logFile, type StartPeer } from './types.ts'

export const start: StartPeer = async () => {
  const listener = new Listener({
    port: 0,
    host: '127.0.0.1',
    accessLog: { format: 'combined', destination: { file: logFile() } },
  })
  listener.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
  await listener.start()
  return { port: listener.port, close: () => listener.gracefulStop({ timeout: 1_000 }) }
}
