// Test servers on 127.0.0.1, port 0, with socket accounting: close() fails the test when
// a socket is still open, so a leaked connection is a failure, not a silent hang.
import type { Server as NetServer, Socket } from 'node:net'

/** A listening server and what a test needs of it. */
export interface Listening {
  /** `http://127.0.0.1:<port>` (or https:// when `secure`). */
  readonly url: string
  readonly port: number
  /** Sockets accepted and not yet closed. */
  openSockets(): number
  /** Resolves once no socket is open (use after a client closes its connections). */
  drained(timeoutMs?: number): Promise<void>
  /** Stops the server; rejects when sockets were still open (they are destroyed first). */
  close(): Promise<void>
}

/** Starts `server` on 127.0.0.1 with a port the OS picks. */
export async function listen(server: NetServer, options: { secure?: boolean } = {}): Promise<Listening> {
  const sockets = new Set<Socket>()
  const waiters = new Set<() => void>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0) for (const w of waiters) w()
    })
  }
  // TLS servers report the raw TCP socket on 'connection' too; count those.
  server.on('connection', track)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address')
  const port = address.port
  return {
    url: `${options.secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    openSockets: () => sockets.size,
    drained(timeoutMs = 5_000) {
      if (sockets.size === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(done)
          reject(new Error(`${sockets.size} socket(s) still open after ${timeoutMs} ms`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        waiters.add(done)
      })
    },
    async close() {
      const leaked = sockets.size
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (leaked > 0) throw new Error(`${leaked} socket(s) were still open when the server closed`)
    },
  }
}
