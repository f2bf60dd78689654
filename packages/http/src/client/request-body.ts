// Request bodies: what each JavaScript value is sent as, its default Content-Type, and the
// chunking policy (AUTO: length when known; ALWAYS: chunked; NEVER: length, buffering a
// stream first). On HTTP/2 "chunked" just means no Content-Length.
import { isReadable, type Readable } from 'node:stream'
import { FormData as UndiciFormData } from 'undici'
import { ClientError } from './errors.js'
import { isStreamBody } from './internal/body.js'
import type { ChunkingPolicy } from './options.js'

/**
 * What a Client can send: a string (text), bytes, `URLSearchParams` (form), `FormData`
 * (multipart), a `Blob`, a stream or (async) iterable of chunks, or any other value as JSON.
 * `undefined` and `null` send no body.
 */
export type RequestBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | URLSearchParams
  | FormData
  | Blob
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>
  | object
  | number
  | boolean
  | null
  | undefined

/** A body ready for undici, its default Content-Type, and whether it must be awaited first. */
export interface EncodedBody {
  body:
    | string
    | Buffer
    | Uint8Array
    | FormData
    | Blob
    | Readable
    | AsyncIterable<Uint8Array>
    | Iterable<Uint8Array>
    | null
  contentType: string | undefined
}

function once<T>(value: T): Iterable<T> {
  return [value]
}

async function collect(source: AsyncIterable<unknown> | Iterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of source) {
    chunks.push(
      Buffer.isBuffer(c) ? c : typeof c === 'string' ? Buffer.from(c) : Buffer.from(c as Uint8Array),
    )
  }
  return Buffer.concat(chunks)
}

function invalid(why: string, cause?: unknown): ClientError {
  return new ClientError('X_ERR_CLIENT_INVALID_BODY', why, cause === undefined ? {} : { cause })
}

/**
 * Encodes `value` for sending. Returns a promise only when the body must be read first
 * (a stream or FormData under `NEVER`); everything else is synchronous.
 */
export function encodeBody(value: RequestBody, chunking: ChunkingPolicy): EncodedBody | Promise<EncodedBody> {
  if (value === undefined || value === null) return { body: null, contentType: undefined }
  if (typeof value === 'string') {
    return {
      body: chunking === 'ALWAYS' ? once(Buffer.from(value)) : value,
      contentType: 'text/plain; charset=utf-8',
    }
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const buf = Buffer.isBuffer(value)
      ? value
      : value instanceof ArrayBuffer
        ? Buffer.from(value)
        : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return { body: chunking === 'ALWAYS' ? once(buf) : buf, contentType: 'application/octet-stream' }
  }
  if (ArrayBuffer.isView(value)) {
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return { body: chunking === 'ALWAYS' ? once(buf) : buf, contentType: 'application/octet-stream' }
  }
  if (value instanceof URLSearchParams) {
    const text = value.toString()
    return {
      body: chunking === 'ALWAYS' ? once(Buffer.from(text)) : text,
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    }
  }
  if (value instanceof UndiciFormData) {
    // undici serialises its own FormData (streamed, chunked).
    return { body: value as unknown as FormData, contentType: undefined }
  }
  if (typeof FormData !== 'undefined' && value instanceof FormData) {
    // Node's global FormData comes from Node's own copy of undici, which the undici this
    // package uses does not recognise: serialise it here, multipart boundary included.
    const r = new Response(value)
    const contentType = r.headers.get('content-type') ?? undefined
    if (chunking === 'ALWAYS' && r.body !== null)
      return { body: r.body as AsyncIterable<Uint8Array>, contentType }
    return r.arrayBuffer().then((ab) => ({ body: Buffer.from(ab), contentType }))
  }
  if (typeof Blob !== 'undefined' && value instanceof Blob) {
    const contentType = value.type === '' ? 'application/octet-stream' : value.type
    if (chunking === 'AUTO') return { body: value, contentType }
    return value.arrayBuffer().then((ab) => {
      const buf = Buffer.from(ab)
      return { body: chunking === 'ALWAYS' ? once(buf) : buf, contentType }
    })
  }
  if (isStreamBody(value)) {
    // isReadable is false for a Node stream that ended or was destroyed (null for others).
    if ((isReadable as (s: unknown) => boolean | null)(value) === false) {
      throw invalid('the body stream has already ended')
    }
    if (chunking === 'NEVER') {
      return collect(value as AsyncIterable<unknown>).then(
        (buf) => ({ body: buf, contentType: 'application/octet-stream' }),
        (cause: unknown) => {
          throw invalid('reading the body stream failed', cause)
        },
      )
    }
    return { body: value as Readable, contentType: 'application/octet-stream' }
  }
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (cause) {
    throw invalid('the body cannot be sent as JSON', cause)
  }
  if (json === undefined) throw invalid(`a ${typeof value} cannot be sent as a body`)
  return { body: chunking === 'ALWAYS' ? once(Buffer.from(json)) : json, contentType: 'application/json' }
}
