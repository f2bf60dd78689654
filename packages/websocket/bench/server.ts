// One peer's echo server in a process of its own, driven over IPC by websocket.bench.ts.
import { createRequire } from 'node:module'
import { peers } from './peers/index.ts'

const peer = peers.find((p) => p.name === process.argv[2])
if (peer === undefined) throw new Error(`unknown peer ${process.argv[2]}`)

// Check that the set-up is what it claims: ws's native helpers load exactly when they should.
const fromWs = createRequire(createRequire(import.meta.url).resolve('ws'))
let native = false
try {
  fromWs('bufferutil')
  fromWs('utf-8-validate')
  native = process.env.WS_NO_BUFFER_UTIL === undefined && process.env.WS_NO_UTF_8_VALIDATE === undefined
} catch {
  native = false
}
if (native !== peer.native) throw new Error(`${peer.name}: native helpers ${native ? 'loaded' : 'missing'}`)

const gc = (globalThis as { gc?: () => void }).gc
const server = await peer.start()
process.send!({ type: 'ready', port: server.port })

process.on('message', async (m: { type: string }) => {
  if (m.type === 'memory') {
    for (let i = 0; i < 3; i++) gc?.()
    const u = process.memoryUsage()
    process.send!({ heap: u.heapUsed + u.external, rss: u.rss, connections: server.connections() })
  } else if (m.type === 'cpu') {
    const u = process.cpuUsage()
    process.send!({ micros: u.user + u.system })
  } else if (m.type === 'connections') {
    process.send!({ connections: server.connections() })
  } else if (m.type === 'exit') {
    await server.close()
    process.exit(0)
  }
})
