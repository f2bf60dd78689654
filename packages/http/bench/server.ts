// One benchmark peer in its own process: `node --import tsx bench/server.ts <peer>` prints
// "PORT <n>" once listening and stops on SIGTERM.
import type { StartPeer } from './peers/types.ts'

const name = process.argv[2]
const peers: Record<string, () => Promise<{ start: StartPeer }>> = {
  'node-http': () => import('./peers/node-http.ts'),
  fastify: () => import('./peers/fastify.ts'),
  hono: () => import('./peers/hono.ts'),
  express: () => import('./peers/express.ts'),
  listener: () => import('./peers/listener.ts'),
  'listener-access-log': () => import('./peers/listener-access-log.ts'),
  'listener-attach': () => import('./peers/listener-attach.ts'),
  'fastify-logging': () => import('./peers/fastify-logging.ts'),
}
const load = name === undefined ? undefined : peers[name]
if (load === undefined) {
  console.error(`usage: server.ts <${Object.keys(peers).join('|')}>`)
  process.exit(2)
}
const server = await (await load()).start()
console.log(`PORT ${server.port}`)
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
