// What kind of request body a dispatch carries: a stream (or iterable) can be sent once;
// strings, bytes, Blobs and FormData can be sent again.
import { isReadable } from 'node:stream'

function isFormData(body: object): boolean {
  return (
    typeof (body as { append?: unknown }).append === 'function' &&
    typeof (body as { getAll?: unknown }).getAll === 'function'
  )
}

/**
 * True for a body that is consumed by sending it: a Node or web stream, an async iterable,
 * or an iterator such as a generator. Arrays (of chunks) can be sent again, so they are not.
 */
export function isStreamBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false
  if (ArrayBuffer.isView(body) || Array.isArray(body)) return false
  if (isReadable(body as NodeJS.ReadableStream)) return true
  if (typeof (body as { pipeTo?: unknown }).pipeTo === 'function') return true
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') return true
  return typeof (body as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' && !isFormData(body)
}
