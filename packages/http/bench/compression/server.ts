// One compression peer in its own process: `node --import tsx bench/compression/server.ts <peer>`
// prints "PORT <n>" once listening and stops on SIGTERM.
import type { StartPeer } from '../peers/types.ts'

const name = process.argv[2]
const peers: Record<string, () => Promise<{ start: StartPeer }>> = {
  'node-http': () => import('./node-http.ts'),
  listener: () => import('./listener.ts'),
  fastify: () => import('./fastify.ts'),
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
