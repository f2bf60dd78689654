// Response decoding with a mandatory limit on the decoded size. Written on node:zlib rather
// than undici's decompress interceptor: that one is experimental (a process-wide warning on
// first use), built on the deprecated DecoratorHandler, and its size limit is optional.
import type { Transform } from 'node:stream'
import * as zlib from 'node:zlib'
import { ClientError } from './errors.js'
import {
  type Controller,
  type DispatchOptions,
  ForwardingHandler,
  type Handler,
  type Interceptor,
  type ResponseHeaders,
} from './internal/handler.js'
import { hasHeader, withHeader } from './internal/headers.js'
import { DECODE } from './internal/symbols.js'

/** What `Accept-Encoding` the Client sends when it asks for compression. */
export const ACCEPT_ENCODING = 'br, gzip, deflate'

/** Options of {@link decompress}. */
export interface DecompressOptions {
  /**
   * `AUTO`: ask for compression unless the request has its own `Accept-Encoding` (whose
   * response then passes through encoded); `ALWAYS`: always ask, replacing the caller's value.
   * @defaultValue 'AUTO'
   */
  mode?: 'AUTO' | 'ALWAYS'
  /** Largest decoded body, in bytes; past it the request fails with `X_ERR_CLIENT_DECODED_TOO_LARGE`. Required. */
  maxSize: number
}

// A body encoded more than this many times is refused (as curl and urllib3 do).
const MAX_CODINGS = 5

type Coding = 'gzip' | 'deflate' | 'br' | 'zstd'

function codingOf(token: string): Coding | 'identity' | null {
  switch (token) {
    case 'gzip':
    case 'x-gzip':
      return 'gzip'
    case 'deflate':
      return 'deflate'
    case 'br':
      return 'br'
    case 'identity':
    case '':
      return 'identity'
    case 'zstd':
      return typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function'
        ? 'zstd'
        : null
    default:
      return null
  }
}

function decoderFor(coding: Coding, firstByte: number): Transform {
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip()
    case 'br':
      return zlib.createBrotliDecompress()
    case 'zstd':
      return (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress()
    default:
      // "deflate" means zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw deflate;
      // a zlib stream's first byte has 8 (deflate) in its low nibble.
      return (firstByte & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw()
  }
}

class DecompressHandler extends ForwardingHandler {
  #codings: Coding[] | null = null
  #input: Transform | null = null
  #output: Transform | null = null
  #decoders: Transform[] = []
  #produced = 0
  #upstreamEnded = false
  #trailers: ResponseHeaders = {}
  #done = false
  #drainPending = false

  constructor(
    handler: Handler,
    readonly maxSize: number,
    readonly head: boolean,
  ) {
    super(handler)
  }

  override pause(): void {
    super.pause()
    this.#output?.pause()
  }

  override resume(): void {
    super.resume()
    this.#output?.resume()
  }

  override onResponseStart(
    c: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    message?: string,
  ): void {
    if (this.#done) return
    const raw = headers['content-encoding']
    if (this.head || statusCode < 200 || statusCode === 204 || statusCode === 304 || raw === undefined) {
      super.onResponseStart(c, statusCode, headers, message)
      return
    }
    const tokens = (Array.isArray(raw) ? raw.join(',') : String(raw)).split(',')
    const codings: Coding[] = []
    for (const t of tokens) {
      const coding = codingOf(t.trim().toLowerCase())
      if (coding === null) {
        // An encoding we cannot decode: pass the body on as sent, Content-Encoding intact.
        super.onResponseStart(c, statusCode, headers, message)
        return
      }
      if (coding !== 'identity') codings.push(coding)
    }
    if (codings.length === 0) {
      super.onResponseStart(c, statusCode, headers, message)
      return
    }
    if (codings.length > MAX_CODINGS) {
      this.#fail(
        new ClientError(
          'X_ERR_CLIENT_DECODE_FAILED',
          `${codings.length} content codings; at most ${MAX_CODINGS} are decoded`,
          { statusCode },
        ),
      )
      return
    }
    this.#codings = codings
    const decoded: Record<string, string | string[] | undefined> = {}
    for (const k of Object.keys(headers)) {
      if (k !== 'content-encoding' && k !== 'content-length') decoded[k] = headers[k]
    }
    super.onResponseStart(c, statusCode, decoded as ResponseHeaders, message)
  }

  /** Builds the decoder chain on the first body chunk (deflate's flavour shows in its first byte). */
  #build(first: Buffer): void {
    const codings = this.#codings!
    // Codings are listed in the order applied; decode from the last one.
    for (let i = codings.length - 1; i >= 0; i--) {
      const d = decoderFor(codings[i]!, i === codings.length - 1 ? (first[0] ?? 0) : 0x78)
      d.on('error', (err: Error) =>
        this.#fail(
          new ClientError('X_ERR_CLIENT_DECODE_FAILED', `the ${codings[i]} body does not decode`, {
            cause: err,
          }),
        ),
      )
      const prev = this.#decoders[this.#decoders.length - 1]
      if (prev !== undefined) prev.pipe(d)
      this.#decoders.push(d)
    }
    this.#input = this.#decoders[0]!
    const out = this.#decoders[this.#decoders.length - 1]!
    this.#output = out
    this.#input.on('drain', () => {
      if (this.#drainPending && !this.paused) {
        this.#drainPending = false
        this.target?.resume()
      }
    })
    out.on('data', (chunk: Buffer) => this.#onDecoded(chunk))
    out.on('end', () => {
      if (this.#done) return
      this.#done = true
      this.handler.onResponseEnd?.(this, this.#trailers)
    })
    if (this.paused) out.pause()
  }

  #onDecoded(chunk: Buffer): void {
    if (this.#done) return
    this.#produced += chunk.length
    if (this.#produced > this.maxSize) {
      this.#fail(
        new ClientError('X_ERR_CLIENT_DECODED_TOO_LARGE', `the decoded body exceeds ${this.maxSize} bytes`),
      )
      return
    }
    this.handler.onResponseData?.(this, chunk)
  }

  override onResponseData(c: Controller, chunk: Buffer): void {
    if (this.#done) return
    if (this.#codings === null) {
      super.onResponseData(c, chunk)
      return
    }
    if (this.#input === null) this.#build(chunk)
    if (!this.#input!.write(chunk)) {
      this.#drainPending = true
      c.pause()
    }
  }

  override onResponseEnd(c: Controller, trailers: ResponseHeaders): void {
    if (this.#done) return
    if (this.#codings === null) {
      this.#done = true
      super.onResponseEnd(c, trailers)
      return
    }
    this.#upstreamEnded = true
    this.#trailers = trailers
    if (this.#input === null) {
      // An encoded response with an empty body.
      this.#done = true
      super.onResponseEnd(c, trailers)
      return
    }
    this.#input.end()
  }

  override onResponseError(c: Controller, err: Error): void {
    if (this.#done) return
    this.#done = true
    this.#destroy()
    super.onResponseError(c, err)
  }

  #destroy(): void {
    for (const d of this.#decoders) d.destroy()
    this.#decoders = []
  }

  #fail(err: ClientError): void {
    if (this.#done) return
    this.#done = true
    this.#destroy()
    this.handler.onResponseError?.(this, err)
    if (!this.#upstreamEnded) this.target?.abort(err)
  }
}

/**
 * An interceptor that asks for `br, gzip, deflate` and decodes the response (gzip, deflate,
 * brotli; zstd where Node has it), removing `Content-Encoding` and `Content-Length`. The decoded
 * size is capped by `maxSize`: a decompression bomb fails with `X_ERR_CLIENT_DECODED_TOO_LARGE`.
 */
export function decompress(options: DecompressOptions): Interceptor {
  if (typeof options !== 'object' || options === null) {
    throw new ClientError('X_ERR_CLIENT_INVALID_OPTION', 'decompress() needs options with maxSize', {
      option: 'maxSize',
    })
  }
  const { maxSize, mode = 'AUTO' } = options
  if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 1) {
    throw new ClientError('X_ERR_CLIENT_INVALID_OPTION', 'maxSize must be a positive integer', {
      option: 'maxSize',
    })
  }
  if (mode !== 'AUTO' && mode !== 'ALWAYS') {
    throw new ClientError('X_ERR_CLIENT_INVALID_OPTION', "mode must be 'AUTO' or 'ALWAYS'", {
      option: 'mode',
    })
  }
  return (dispatch) =>
    function decompressDispatch(opts: DispatchOptions, handler: Handler): boolean {
      if ((opts as { [DECODE]?: boolean })[DECODE] !== true) {
        if (mode === 'AUTO' && hasHeader(opts.headers, 'accept-encoding')) return dispatch(opts, handler)
        opts = { ...opts, headers: withHeader(opts.headers, 'accept-encoding', ACCEPT_ENCODING) }
      }
      return dispatch(opts, new DecompressHandler(handler, maxSize, opts.method === 'HEAD'))
    }
}
