// An HTTP/2 client for tests, on node:http2's own client: connect (h2c or TLS), send a
// request with an optional body (whole or in chunks), read status, headers and body.
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2'

/** What came back on one stream. */
export interface H2Response {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The RST_STREAM code when the stream was reset (0 when it ended normally). */
  readonly rstCode: number
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked with toEqual, not by type
  json(): any
}

/** Opens a session and waits until it is connected; errors are kept, not thrown. */
export function h2connect(
  url: string,
  options: SecureClientSessionOptions = {},
): Promise<ClientHttp2Session & { errors: Error[] }> {
  const session = connect(url, options) as ClientHttp2Session & { errors: Error[] }
  session.errors = []
  session.on('error', (e) => session.errors.push(e))
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve(session))
    session.once('error', reject)
  })
}

/** Closes a session and resolves once its socket is gone. */
export function h2close(session: ClientHttp2Session): Promise<void> {
  if (session.destroyed) return Promise.resolve()
  return new Promise((resolve) => session.close(() => resolve()))
}

/** Sends one request; `body` is written whole, or chunk by chunk when it is an array. */
export function h2request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer | ReadonlyArray<string | Buffer>,
  onStream?: (stream: ClientHttp2Stream) => void,
): Promise<H2Response> {
  const stream = session.request(headers, { endStream: body === undefined })
  onStream?.(stream)
  if (body !== undefined) {
    if (Array.isArray(body)) {
      for (const chunk of body) stream.write(chunk)
      stream.end()
    } else stream.end(body as string | Buffer)
  }
  return read(stream)
}

/** Reads a client stream to its end (or reset). */
export function read(stream: ClientHttp2Stream): Promise<H2Response> {
  return new Promise((resolve) => {
    let status = 0
    let headers: IncomingHttpHeaders = {}
    let body = ''
    stream.setEncoding('utf8')
    stream.on('response', (h) => {
      headers = h
      status = Number(h[':status'])
    })
    stream.on('data', (d: string) => {
      body += d
    })
    stream.on('error', () => {})
    stream.on('close', () =>
      resolve({ status, headers, body, rstCode: stream.rstCode ?? 0, json: () => JSON.parse(body) }),
    )
  })
}

/** A GET (or any request without a body) whose answer is kept as bytes: compressed bodies are not UTF-8. */
export function h2bytes(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; rstCode: number }> {
  const stream = session.request(headers)
  return new Promise((resolve, reject) => {
    let head: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    stream.on('response', (h) => {
      head = h
    })
    stream.on('data', (d: Buffer) => chunks.push(d))
    stream.on('error', reject)
    stream.on('close', () =>
      resolve({
        status: Number(head[':status']),
        headers: head,
        body: Buffer.concat(chunks),
        rstCode: stream.rstCode ?? 0,
      }),
    )
  })
}
