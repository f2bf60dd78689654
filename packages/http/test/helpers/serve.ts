// Starts a Listener on 127.0.0.1 port 0 with its own undici Agent, counts the server-side
// sockets (through Node's `net.server.socket` channel), and fails close() when a socket
// the server should have closed is still open.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { connect, type Socket } from 'node:net'
import { Agent, type Dispatcher, request } from 'undici'
import { Listener, type ListenerOptions, type Service } from '../../src/index.ts'

/** A logger that keeps what it is given, so tests can assert on 500s being logged. */
export function memoryLogger() {
  const errors: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = []
  const warnings: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = []
  return {
    errors,
    warnings,
    error(obj: object, msg?: string) {
      errors.push({ obj: obj as Record<string, unknown>, msg })
    },
    warn(obj: object, msg?: string) {
      warnings.push({ obj: obj as Record<string, unknown>, msg })
    },
  }
}

export interface Served {
  readonly listener: Listener
  readonly url: string
  readonly port: number
  readonly logger: ReturnType<typeof memoryLogger>
  /** Server-side sockets still open. */
  openSockets(): number
  /** Resolves once every server-side socket has closed. */
  drained(timeoutMs?: number): Promise<void>
  /** undici request through this server's own Agent. */
  fetch(
    path: string,
    options?: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method?: string },
  ): Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    text: string
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked with toEqual, not by type
    json(): any
  }>
  /** Closes the client Agent, waits for the server's sockets to close, stops the Listener (once). */
  close(): Promise<void>
}

export async function serve(
  services: Service | readonly Service[],
  options: Partial<ListenerOptions> = {},
): Promise<Served> {
  const logger = memoryLogger()
  const listener = new Listener({ port: 0, host: '127.0.0.1', logger, ...options })
  for (const s of Array.isArray(services) ? services : [services]) listener.attach(s as Service)
  await listener.start()
  const port = listener.port
  const sockets = new Set<Socket>()
  const waiters = new Set<() => void>()
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket
    if (socket.localPort !== port) return
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0) for (const w of waiters) w()
    })
  }
  subscribe('net.server.socket', onSocket)
  const agent = new Agent({ keepAliveTimeout: 60_000 })
  const url = `http://127.0.0.1:${port}`
  let closed = false
  const drained = (timeoutMs = 5_000) =>
    sockets.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(done)
            reject(new Error(`${sockets.size} server socket(s) still open after ${timeoutMs} ms`))
          }, timeoutMs)
          const done = () => {
            clearTimeout(timer)
            waiters.delete(done)
            resolve()
          }
          waiters.add(done)
        })
  return {
    listener,
    url,
    port,
    logger,
    openSockets: () => sockets.size,
    drained,
    async fetch(path, opts = {}) {
      const { method = 'GET', ...rest } = opts
      const res = await request(url + path, {
        ...rest,
        method: method as Dispatcher.HttpMethod,
        dispatcher: agent,
      })
      const text = await res.body.text()
      return {
        status: res.statusCode,
        headers: res.headers,
        text,
        json: () => JSON.parse(text),
      }
    },
    async close() {
      if (closed) return
      closed = true
      await agent.close()
      try {
        await drained()
      } finally {
        unsubscribe('net.server.socket', onSocket)
        await listener.immediateStop()
      }
    },
  }
}

/** Sends raw bytes on a fresh connection; resolves with everything received once the server closes it. */
export function raw(
  port: number,
  data: string | Buffer | Array<string | Buffer>,
  options: { end?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let out = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      out += d
    })
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after the answer arrived still counts as an answer.
      if (e.code === 'ECONNRESET' && out.length > 0) resolve(out)
      else reject(e)
    })
    socket.on('close', () => resolve(out))
    socket.on('connect', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part)
      if (options.end === true) socket.end()
    })
  })
}

/** The status code of the first response in raw HTTP/1.1 bytes. */
export function statusOf(response: string): number {
  return Number(response.slice(9, 12))
}

/** The body of the first response in raw HTTP/1.1 bytes (Content-Length framed). */
export function problemOf(response: string): Record<string, unknown> {
  const start = response.indexOf('\r\n\r\n') + 4
  const m = /content-length: (\d+)/i.exec(response)
  return JSON.parse(response.slice(start, start + Number(m![1])))
}
