// WebSocket peers for the upgrade tests: a ws client (an implementation no one here wrote)
// and a raw TCP peer that sends hand-written handshakes.
import { connect, type Socket } from 'node:net'
import { type ClientOptions, WebSocket } from 'ws'

export const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

export interface WsPeer {
  readonly ws: WebSocket
  /** Headers of the 101 response. */
  readonly headers: Record<string, string | string[] | undefined>
  /** The next message: text as a string, binary as a Buffer. */
  message(): Promise<string | Buffer>
  readonly closed: Promise<{ code: number; reason: string }>
}

/** Opens a ws connection; rejects when the handshake fails. */
export function wsPeer(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WsPeer> {
  const ws = new WebSocket(url, protocols, options)
  const queue: Array<string | Buffer> = []
  const waiters: Array<(m: string | Buffer) => void> = []
  let headers: Record<string, string | string[] | undefined> = {}
  ws.once('upgrade', (res) => {
    headers = res.headers
  })
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

/** What ws saw when the server answered the handshake with an HTTP response instead of 101. */
export interface Refusal {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** Resolves with the HTTP response that refused a ws handshake (rejects if the upgrade succeeds). */
export function wsRefusal(
  url: string,
  protocols: string[] = [],
  options: ClientOptions = {},
): Promise<Refusal> {
  const ws = new WebSocket(url, protocols, options)
  return new Promise((resolve, reject) => {
    ws.on('error', () => {})
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the handshake succeeded'))
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
        ws.terminate()
      })
    })
  })
}

/** A handshake as a browser sends it, with `overrides` applied (undefined removes a header). */
export function handshake(
  port: number,
  path: string,
  overrides: Record<string, string | undefined> = {},
  method = 'GET',
): string {
  const headers: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': GOOD_KEY,
    'Sec-WebSocket-Version': '13',
    ...overrides,
  }
  let text = `${method} ${path} HTTP/1.1\r\n`
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) text += `${k}: ${v}\r\n`
  return `${text}\r\n`
}

/** A raw connection: everything it received, and a promise of its close. */
export interface RawConnection {
  readonly socket: Socket
  readonly closed: Promise<void>
  received(): string
  /** Resolves once what was received matches `pattern`. */
  until(pattern: RegExp): Promise<string>
}

export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    const watchers: Array<() => void> = []
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      data += d
      for (const w of [...watchers]) w()
    })
    socket.on('error', () => {})
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.once('connect', () => {
      resolve({
        socket,
        closed,
        received: () => data,
        until(pattern) {
          return new Promise((done, fail) => {
            const check = () => {
              if (pattern.test(data)) {
                watchers.splice(watchers.indexOf(check), 1)
                done(data)
              }
            }
            watchers.push(check)
            socket.once('close', () => {
              if (!pattern.test(data)) fail(new Error(`closed before ${pattern}: ${JSON.stringify(data)}`))
            })
            check()
          })
        },
      })
    })
    socket.once('error', reject)
  })
}

/** A masked client frame with a short payload (FIN set). */
export function frame(opcode: number, payload: string): Buffer {
  const data = Buffer.from(payload)
  if (data.length > 125) throw new Error('short frames only')
  const key = Buffer.from([1, 2, 3, 4])
  const masked = Buffer.from(data)
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i & 3]!
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), key, masked])
}
