// The load generator, in its own process: ws clients (native helpers on) that echo against
// one server at a time. Driven over IPC by websocket.bench.ts.
import { WebSocket } from 'ws'

export interface EchoRequest {
  type: 'echo'
  url: string
  connections: number
  payload: 'text64' | 'binary64k'
  durationMs: number
}
export interface EchoResult {
  roundTrips: number
  seconds: number
  bytes: number
  p99us: number
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => {
      ws.off('error', reject)
      ws.on('error', () => {})
      resolve(ws)
    })
    ws.once('error', reject)
  })
}

async function openMany(url: string, n: number, concurrency: number): Promise<WebSocket[]> {
  const out: WebSocket[] = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      out.push(await open(url))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  return out
}

function closeAll(sockets: WebSocket[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve()
          ws.once('close', () => resolve())
          ws.close(1000)
        }),
    ),
  ).then(() => undefined)
}

async function echo(req: EchoRequest): Promise<EchoResult> {
  const sockets = await openMany(req.url, req.connections, 50)
  const message = req.payload === 'text64' ? 'x'.repeat(64) : Buffer.alloc(64 * 1024, 0x5a)
  const size = req.payload === 'text64' ? 64 : 64 * 1024
  const latencies: number[] = []
  const track = req.connections === 1
  let roundTrips = 0
  const start = performance.now()
  const deadline = start + req.durationMs
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let sentAt = performance.now()
          ws.on('message', () => {
            const now = performance.now()
            roundTrips++
            if (track) latencies.push(now - sentAt)
            if (now >= deadline) return resolve()
            sentAt = now
            ws.send(message)
          })
          ws.send(message)
        }),
    ),
  )
  const seconds = (performance.now() - start) / 1000
  await closeAll(sockets)
  latencies.sort((a, b) => a - b)
  const p99 = latencies.length === 0 ? 0 : latencies[Math.floor(latencies.length * 0.99)]!
  return { roundTrips, seconds, bytes: roundTrips * size, p99us: p99 * 1000 }
}

let idle: WebSocket[] = []

process.on(
  'message',
  async (m: EchoRequest | { type: 'open'; url: string; count: number } | { type: 'close' }) => {
    if (m.type === 'echo') process.send!(await echo(m))
    else if (m.type === 'open') {
      idle = await openMany(m.url, m.count, 200)
      process.send!({ opened: idle.length })
    } else if (m.type === 'close') {
      await closeAll(idle)
      idle = []
      process.send!({ closed: true })
    }
  },
)
process.send!({ type: 'ready' })
