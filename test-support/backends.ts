// Backends for balancer and failover suites: real node:http servers on 127.0.0.1 that can
// answer, fail with a status, cut the connection, be killed (server closed, sockets
// destroyed) and restarted on the same port. close() fails when a socket is still open.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { listen } from './listen.ts'

export type Behaviour = 'ok' | number | 'reset' | ((req: IncomingMessage, res: ServerResponse) => void)

export interface Backend {
  readonly name: string
  readonly url: string
  readonly port: number
  /** Requests received, in order (method and URL). */
  readonly seen: string[]
  /** How it answers from now on: `ok` (200 with its name), a status, `reset` (socket destroyed) or a handler. */
  behave(b: Behaviour): void
  /** Closes the server and destroys its sockets: connections are then refused. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  /** Waits for client sockets to close (up to 5 s), then stops; rejects when one was still open. */
  close(): Promise<void>
}

/** Resolves once `sockets` is empty, or after `ms`. */
function drained(sockets: Set<Socket>, ms: number): Promise<void> {
  if (sockets.size === 0) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    const check = () => {
      if (sockets.size > 0) return
      clearTimeout(timer)
      resolve()
    }
    for (const s of sockets) s.once('close', () => setImmediate(check))
  })
}

function destroyAll(sockets: Set<Socket>): void {
  for (const s of sockets) s.destroy()
}

/** Starts a backend that answers `200 <name>`. */
export async function startBackend(name: string): Promise<Backend> {
  let behaviour: Behaviour = 'ok'
  const seen: string[] = []
  const sockets = new Set<Socket>()
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`)
    const b = behaviour
    if (typeof b === 'function') return b(req, res)
    // Drain the request body first, so a keep-alive connection stays usable.
    req.resume()
    req.on('end', () => {
      if (b === 'reset') req.socket.destroy()
      else if (b === 'ok') res.end(name)
      else res.writeHead(b).end(`${name} ${b}`)
    })
  }
  let server: Server = createServer(handle)
  const track = (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  }
  server.on('connection', track)
  const l = await listen(server)
  let alive = true
  const b: Backend = {
    name,
    url: l.url,
    port: l.port,
    seen,
    behave(next) {
      behaviour = next
    },
    async kill() {
      if (!alive) return
      alive = false
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      destroyAll(sockets)
      await closed
    },
    async restart() {
      if (alive) return
      server = createServer(handle)
      server.on('connection', track)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(l.port, '127.0.0.1', () => {
          server.off('error', reject)
          resolve()
        })
      })
      alive = true
    },
    async close() {
      if (!alive) return
      // A client closed just before may still be closing its sockets: wait for them, then
      // fail on any left.
      await drained(sockets, 5_000)
      const leaked = sockets.size
      destroyAll(sockets)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      alive = false
      if (leaked > 0) throw new Error(`${name}: ${leaked} socket(s) still open at teardown`)
    },
  }
  return b
}

/** A URL on 127.0.0.1 where nothing listens: a port that was bound, then released. */
export async function refusedUrl(): Promise<string> {
  const s = createServer()
  const l = await listen(s)
  await l.close()
  return l.url
}

/** A controllable clock for ejection and budget tests. */
export function clock(start = 1_000) {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
  }
}
