// One HTTP/2 benchmark peer in its own process: `node --import tsx bench/http2/server.ts <peer>`
// prints "PORT <n>" once listening and stops on SIGTERM.
import { peers } from './peers.ts'

const name = process.argv[2] ?? ''
const peer = peers[name]
if (peer === undefined) {
  console.error(`usage: server.ts <${Object.keys(peers).join('|')}>`)
  process.exit(2)
}
const server = await peer.start()
console.log(`PORT ${server.port}`)
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
