// The server of the sustained-load scenario: a Listener with one small JSON resource.
import { Listener } from '../../../packages/http/src/index.ts'

const listener = new Listener({ port: 0, host: '127.0.0.1', keepAliveTimeout: 60_000 })
listener.attach({
  basePath: '/',
  resources: [{ path: '/hello/{id}', handler: (ctx) => ({ hello: 'world', id: ctx.params.id }) }],
})
await listener.start()
process.on('message', (m: { type: string; id?: number }) => {
  if (m.type === 'rss') process.send!({ type: 'rss', id: m.id, rss: process.memoryUsage.rss() })
  if (m.type === 'stop') void listener.gracefulStop().then(() => process.disconnect())
})
process.send!({ type: 'ready', port: listener.port })
