// The load generator, run as a child process of handshake.bench.ts: for a given peer it
// opens connections through the peer's connector — each a full handshake, no session
// reuse — sends one HTTP/1.1 request with Connection: close, reads the answer, and counts.
import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'
import { peers } from './peers/index.ts'
import type { BenchPki } from './peers/types.ts'

interface RunMessage {
  readonly type: 'run'
  readonly peer: string
  readonly port: number
  readonly durationMs: number
  readonly concurrency: number
}

let pki: BenchPki | undefined
const connectors = new Map<string, buildConnector.connector>()
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n')

function once(connect: buildConnector.connector, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    connect(
      { hostname: 'localhost', host: 'localhost', protocol: 'https:', port: String(port) },
      (err, socket) => {
        if (err !== null || socket === null) {
          reject(err ?? new Error('no socket'))
          return
        }
        const s = socket as Socket
        let got = ''
        s.setEncoding('utf8')
        s.on('data', (chunk: string) => {
          got += chunk
        })
        s.once('end', () => {
          s.destroy()
          if (got.startsWith('HTTP/1.1 200')) resolve()
          else reject(new Error(`unexpected answer: ${got.slice(0, 40)}`))
        })
        s.once('error', reject)
        s.write(REQUEST)
      },
    )
  })
}

async function run(message: RunMessage): Promise<{ count: number; p99Ms: number }> {
  if (pki === undefined) throw new Error('not initialised')
  let connect = connectors.get(message.peer)
  if (connect === undefined) {
    const peer = peers.find((p) => p.name === message.peer)
    if (peer === undefined) throw new Error(`unknown peer ${message.peer}`)
    connect = peer.connector(pki)
    connectors.set(message.peer, connect)
  }
  const latencies: number[] = []
  const deadline = performance.now() + message.durationMs
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      await once(connect, message.port)
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: message.concurrency }, worker))
  latencies.sort((a, b) => a - b)
  return { count: latencies.length, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0 }
}

process.on('message', (message: { type: 'init'; pki: BenchPki } | RunMessage) => {
  if (message.type === 'init') {
    pki = message.pki
    process.send?.({ type: 'ready' })
    return
  }
  run(message).then(
    (result) => process.send?.({ type: 'result', ...result }),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
  )
})
