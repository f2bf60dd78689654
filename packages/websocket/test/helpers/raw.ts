// Raw TCP peers for hostile-input tests: hand-written handshakes and frames, so the
// tests can send what no WebSocket library would.
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

export const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

/** The upgrade request a browser would send, with `overrides` applied (undefined removes a header). */
export function upgradeRequest(
  port: number,
  overrides: Record<string, string | undefined> = {},
  { method = 'GET', path = '/' } = {},
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

export interface HttpHead {
  readonly status: number
  readonly headers: Record<string, string>
}

function parseHead(text: string): HttpHead {
  const [statusLine, ...lines] = text.split('\r\n')
  const status = Number(statusLine!.split(' ')[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status, headers }
}

/** A raw socket that has sent an upgrade request and read the response head. */
export interface RawPeer {
  readonly socket: Socket
  readonly head: HttpHead
  readonly frames: FrameReader
  /** Resolves when the server has closed the TCP connection. */
  readonly ended: Promise<void>
}

export function connectRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/** Sends `request` and reads the response head; for refusals, also waits for the close. */
export async function rawHandshake(port: number, request: string): Promise<RawPeer> {
  const socket = await connectRaw(port)
  socket.on('error', () => {})
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const frames = new FrameReader()
  const head = await new Promise<HttpHead>((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      socket.off('close', onClose)
      const rest = buffered.subarray(end + 4)
      socket.on('data', (c: Buffer) => frames.push(c))
      if (rest.length > 0) frames.push(rest)
      resolve(parseHead(buffered.subarray(0, end).toString('latin1')))
    }
    const onClose = () => reject(new Error('closed before a response head'))
    socket.on('data', onData)
    socket.on('close', onClose)
    socket.write(request)
  })
  return { socket, head, frames, ended }
}

export interface FrameSpec {
  opcode: number
  payload?: Buffer | string
  fin?: boolean
  rsv?: number
  mask?: boolean
  /** Declared payload length, when it should differ from the payload's (truncation, oversize). */
  declaredLength?: number
}

/** Encodes one frame; client frames are masked unless `mask: false`. */
export function frame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0))
  const length = spec.declaredLength ?? payload.length
  const mask = spec.mask ?? true
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode]
  const m = mask ? 0x80 : 0
  if (length < 126) head.push(m | length)
  else if (length < 65_536) head.push(m | 126, length >> 8, length & 0xff)
  else {
    head.push(m | 127)
    const big = Buffer.alloc(8)
    big.writeBigUInt64BE(BigInt(length))
    head.push(...big)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload])
  const key = randomBytes(4)
  const masked = Buffer.from(payload)
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i & 3]!
  return Buffer.concat([Buffer.from(head), key, masked])
}

/** A close frame's payload: code and reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason))
  b.writeUInt16BE(code)
  b.write(reason, 2)
  return b
}

export interface Frame {
  readonly fin: boolean
  readonly opcode: number
  readonly payload: Buffer
  /** For close frames: the code (1005 when the frame has none). */
  readonly code?: number
  readonly reason?: string
}

/** Parses unmasked server frames out of a byte stream. */
export class FrameReader {
  private buffered = Buffer.alloc(0)
  private readonly queue: Frame[] = []
  private readonly waiters: Array<(f: Frame) => void> = []

  push(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk])
    for (;;) {
      const b = this.buffered
      if (b.length < 2) return
      let length = b[1]! & 0x7f
      let offset = 2
      if (length === 126) {
        if (b.length < 4) return
        length = b.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (b.length < 10) return
        length = Number(b.readBigUInt64BE(2))
        offset = 10
      }
      if (b.length < offset + length) return
      const payload = b.subarray(offset, offset + length)
      const opcode = b[0]! & 0x0f
      const f: Frame =
        opcode === 8
          ? {
              fin: (b[0]! & 0x80) !== 0,
              opcode,
              payload,
              code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
              reason: payload.subarray(2).toString(),
            }
          : { fin: (b[0]! & 0x80) !== 0, opcode, payload }
      this.buffered = b.subarray(offset + length)
      const w = this.waiters.shift()
      if (w) w(f)
      else this.queue.push(f)
    }
  }

  next(): Promise<Frame> {
    const f = this.queue.shift()
    if (f) return Promise.resolve(f)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** The next frame with this opcode, skipping others (pings from the heartbeat). */
  async nextOf(opcode: number): Promise<Frame> {
    for (;;) {
      const f = await this.next()
      if (f.opcode === opcode) return f
    }
  }
}
