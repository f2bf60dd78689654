// HTTP/2 frames written by hand (RFC 9113 §4, HPACK literals from RFC 7541 §6.2), for tests
// that play a hostile client over a raw socket: floods, truncated and oversized frames, bad
// prefaces. Also reads what the server sends back, frame by frame (GOAWAY and RST_STREAM codes).
import { connect, type Socket } from 'node:net'

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export const TYPE = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const

/** RFC 9113 §7 error codes the tests look for. */
export const ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const

/** One frame: 9-byte header (24-bit length, type, flags, 31-bit stream id) and payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(streamId & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1), first byte or-ed with `mask`. */
function hpackInt(value: number, prefix: number, mask: number): number[] {
  const max = (1 << prefix) - 1
  if (value < max) return [mask | value]
  const out = [mask | max]
  let rest = value - max
  while (rest >= 128) {
    out.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
  return out
}

function hpackString(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1')
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes])
}

/** A header block of literal fields without indexing and with literal names (no Huffman, no table). */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = []
  for (const [name, value] of fields) parts.push(Buffer.from([0]), hpackString(name), hpackString(value))
  return Buffer.concat(parts)
}

/** The fields of a GET (or other body-less) request for `path`. */
export function requestFields(path: string, method = 'GET'): Array<[string, string]> {
  return [
    [':method', method],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
  ]
}

/** A HEADERS frame opening stream `id` with a complete request (END_HEADERS; END_STREAM unless `open`). */
export function headers(id: number, path: string, options: { open?: boolean; method?: string } = {}): Buffer {
  const flags = FLAG.END_HEADERS | (options.open === true ? 0 : FLAG.END_STREAM)
  return frame(TYPE.HEADERS, flags, id, headerBlock(requestFields(path, options.method)))
}

export function settings(entries: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6)
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6)
    payload.writeUInt32BE(value, i * 6 + 2)
  })
  return frame(TYPE.SETTINGS, 0, 0, payload)
}

export const SETTINGS_ACK = frame(TYPE.SETTINGS, FLAG.ACK, 0)

export function rstStream(id: number, code: number = ERROR.CANCEL): Buffer {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(code)
  return frame(TYPE.RST_STREAM, 0, id, payload)
}

export function ping(data = 0): Buffer {
  const payload = Buffer.alloc(8)
  payload.writeUInt32BE(data >>> 0, 4)
  return frame(TYPE.PING, 0, 0, payload)
}

export function windowUpdate(id: number, increment: number): Buffer {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(increment)
  return frame(TYPE.WINDOW_UPDATE, 0, id, payload)
}

/** A frame the server sent. */
export interface ReceivedFrame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly payload: Buffer
}

/** A raw client connection that parses what the server sends into frames. */
export interface RawH2 {
  readonly socket: Socket
  readonly frames: ReceivedFrame[]
  /** Writes bytes; false once the socket is gone. */
  write(data: Buffer | string): boolean
  /** Resolves with the first frame matching `test` (already received or arriving later), or undefined when the connection closes first. */
  next(test: (f: ReceivedFrame) => boolean): Promise<ReceivedFrame | undefined>
  /** The GOAWAY error code, once a GOAWAY arrived. */
  goawayCode(): number | undefined
  /** Resolves once the server closed the connection. */
  readonly closed: Promise<void>
  /** Bytes received before any frame could be parsed (an HTTP/1.1 answer, say), as latin1. */
  text(): string
}

/** Opens a TCP connection to 127.0.0.1:`port`, optionally reading nothing (`paused`) to build up the server's queue. */
export function rawH2(port: number, options: { paused?: boolean } = {}): Promise<RawH2> {
  const socket = connect(port, '127.0.0.1')
  const frames: ReceivedFrame[] = []
  const waiters: Array<{
    test: (f: ReceivedFrame) => boolean
    resolve: (f: ReceivedFrame | undefined) => void
  }> = []
  let buffer = Buffer.alloc(0)
  let raw = ''
  let ended = false
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      ended = true
      for (const w of waiters.splice(0)) w.resolve(undefined)
      resolve()
    })
  })
  socket.on('error', () => {})
  if (options.paused === true) socket.pause()
  socket.on('data', (chunk: Buffer) => {
    raw += chunk.toString('latin1')
    buffer = Buffer.concat([buffer, chunk])
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3)
      if (buffer.length < 9 + length) break
      const f: ReceivedFrame = {
        type: buffer[3]!,
        flags: buffer[4]!,
        streamId: buffer.readUInt32BE(5) & 0x7fffffff,
        payload: buffer.subarray(9, 9 + length),
      }
      buffer = buffer.subarray(9 + length)
      frames.push(f)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!
        if (w.test(f)) {
          waiters.splice(i, 1)
          w.resolve(f)
        }
      }
    }
  })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve({
        socket,
        frames,
        write: (data) => !socket.destroyed && socket.write(data),
        next(test) {
          const found = frames.find(test)
          if (found !== undefined || ended) return Promise.resolve(found)
          return new Promise((r) => waiters.push({ test, resolve: r }))
        },
        goawayCode() {
          const g = frames.find((f) => f.type === TYPE.GOAWAY)
          return g === undefined ? undefined : g.payload.readUInt32BE(4)
        },
        closed,
        text: () => raw,
      })
    })
  })
}

/** The error code of a GOAWAY or RST_STREAM frame. */
export function errorCode(f: ReceivedFrame): number {
  return f.type === TYPE.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0)
}
