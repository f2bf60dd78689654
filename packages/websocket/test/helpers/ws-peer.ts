// A ws client as an independent peer: its messages and its close as promises.
import { type ClientOptions, WebSocket } from 'ws'

export interface WsPeer {
  readonly ws: WebSocket
  /** Headers of the 101 response. */
  readonly headers: Record<string, string | string[] | undefined>
  /** The next message: text as a string, binary as a Buffer. */
  message(): Promise<string | Buffer>
  readonly closed: Promise<{ code: number; reason: string }>
}

export function wsPeer(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WsPeer> {
  const ws = new WebSocket(url, protocols, options)
  const queue: Array<string | Buffer> = []
  let headers: Record<string, string | string[] | undefined> = {}
  ws.once('upgrade', (res) => {
    headers = res.headers
  })
  const waiters: Array<(m: string | Buffer) => void> = []
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const m = isBinary ? data : data.toString()
    const w = waiters.shift()
    if (w) w(m)
    else queue.push(m)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  return new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => {
      ws.off('error', reject)
      ws.on('error', () => {})
      resolve({
        ws,
        headers,
        closed,
        message() {
          const m = queue.shift()
          if (m !== undefined) return Promise.resolve(m)
          return new Promise((r) => waiters.push(r))
        },
      })
    })
  })
}

/** Resolves with the HTTP status ws saw when the server refused the handshake. */
export function refusedStatus(
  url: string,
  protocols: string[] = [],
  options: ClientOptions = {},
): Promise<number> {
  const ws = new WebSocket(url, protocols, options)
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.on('error', () => {})
    ws.on('open', () => reject(new Error('the handshake succeeded')))
  })
}
