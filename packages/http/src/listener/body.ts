// Reading and converting a request body by its declared kind, within a size limit that holds
// for announced and for chunked bodies alike. Nothing here runs unless a resource binds a body.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { configError, HttpError } from '../errors.js'
import { parseParams } from './binding.js'
import { type ContentCoding, decodedBody, requestCodings } from './compression.js'
import type { Http2Request } from './http2-adapter.js'
import { compileMatcher, type MediaMatcher, parseContentType } from './media.js'
import { raise } from './problem.js'
import type { BodyKind, BodySpec, StandardSchemaResult, StandardSchemaV1 } from './types.js'

/** A compiled body declaration. */
export interface BodyPlan {
  readonly kind: BodyKind
  readonly optional: boolean
  readonly maxSize: number
  /** Media types accepted; undefined accepts any (and a missing Content-Type). */
  readonly consumes: MediaMatcher | undefined
  readonly validate: ((value: unknown) => boolean) | undefined
  readonly schema: StandardSchemaV1 | undefined
}

const KINDS: readonly BodyKind[] = ['json', 'text', 'form', 'bytes', 'stream']

/** Compiles a body declaration; `consumes` overrides the kind's default media types. */
export function compileBody(
  spec: BodySpec,
  consumes: readonly unknown[] | undefined,
  defaultMax: number,
  where: string,
): BodyPlan {
  const decl = typeof spec === 'string' ? { type: spec } : spec
  if (typeof decl !== 'object' || decl === null || !KINDS.includes(decl.type)) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: body must be one of ${KINDS.join(', ')}`)
  }
  const o = decl as unknown as Record<string, unknown>
  const maxSize = o.maxSize === undefined ? defaultMax : o.maxSize
  if (typeof maxSize !== 'number' || !Number.isInteger(maxSize) || maxSize < 0) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: body maxSize must be a non-negative integer`)
  }
  if (o.validate !== undefined && typeof o.validate !== 'function') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: body validate must be a function`)
  }
  const schema = o.schema as StandardSchemaV1 | undefined
  if (schema !== undefined && typeof schema?.['~standard']?.validate !== 'function') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: body schema must be a Standard Schema`)
  }
  let matcher: MediaMatcher | undefined
  if (consumes !== undefined) matcher = compileMatcher(consumes, where)
  else if (decl.type === 'json') matcher = compileMatcher(['application/json', 'application/*+json'], where)
  else if (decl.type === 'form') matcher = compileMatcher(['application/x-www-form-urlencoded'], where)
  else if (decl.type === 'text') matcher = compileMatcher(['text/*'], where)
  return {
    kind: decl.type,
    optional: o.optional === true,
    maxSize,
    consumes: matcher,
    validate: o.validate as ((value: unknown) => boolean) | undefined,
    schema,
  }
}

/** True when the request carries a body (chunked, or a non-zero Content-Length; under HTTP/2, DATA frames may follow). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const cl = req.headers['content-length']
  if (cl !== undefined) return cl !== '0'
  return req.httpVersionMajor === 2 && (req as unknown as Http2Request).hasBody
}

/** Throws 413 up front when the announced length is over the limit. */
function checkAnnounced(req: IncomingMessage, limit: number): void {
  const cl = req.headers['content-length']
  if (cl !== undefined && Number(cl) > limit) {
    throw raise('X_ERR_HTTP_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`)
  }
}

/** Sends `100 Continue` when the client waits for it: only once a resource actually reads the body. */
function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  const expect = req.headers.expect
  if (expect !== undefined && !res.headersSent && expect.toLowerCase() === '100-continue') res.writeContinue()
}

/** The codings of a Content-Encoding body (415 for one the Listener cannot decode); undefined for none. */
function codingsOf(req: IncomingMessage): ContentCoding[] | undefined {
  const header = req.headers['content-encoding']
  if (header === undefined) return undefined
  const codings = requestCodings(header)
  return codings.length === 0 ? undefined : codings
}

function collect(src: Readable): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    src.on('data', (c: Buffer) => chunks.push(c))
    src.once('end', () => resolve(Buffer.concat(chunks)))
    src.once('error', reject)
  })
}

/**
 * Reads the whole body, failing with 413 as soon as it grows past `limit`. A body with a
 * Content-Encoding is decoded first; the limit then holds for the decoded bytes too.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  checkAnnounced(req, limit)
  const codings = codingsOf(req)
  sendContinue(req, res)
  if (codings !== undefined) return collect(decodedBody(req, codings, limit))
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        req.pause()
        reject(raise('X_ERR_HTTP_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }
    const onError = () => {
      cleanup()
      reject(raise('X_ERR_HTTP_BODY_ABORTED', 'the client stopped sending the body'))
    }
    const onClose = () => {
      if (!req.complete) onError()
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

class LimitStream extends Transform {
  private size = 0
  constructor(private readonly limit: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.limit)
      cb(raise('X_ERR_HTTP_BODY_TOO_LARGE', `the body is larger than ${this.limit} bytes`))
    else cb(null, chunk)
  }
}

/** The body as a stream: the request itself when its length is announced (HTTP/1.1), else a limited copy. */
export function streamBody(req: IncomingMessage, res: ServerResponse, limit: number): Readable {
  checkAnnounced(req, limit)
  const codings = codingsOf(req)
  sendContinue(req, res)
  if (codings !== undefined) return decodedBody(req, codings, limit)
  if (req.headers['transfer-encoding'] === undefined && req.httpVersionMajor === 1) return req
  const out = new LimitStream(limit)
  req.pipe(out)
  const onAbort = () => {
    if (!req.complete) out.destroy(raise('X_ERR_HTTP_BODY_ABORTED', 'the client stopped sending the body'))
  }
  req.once('close', onAbort)
  out.once('error', () => {
    req.unpipe(out)
    req.pause()
  })
  return out
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

function decodeText(buf: Buffer, charset: string | undefined): string {
  let decoder = UTF8
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    try {
      decoder = new TextDecoder(charset, { fatal: true })
    } catch {
      throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not supported`)
    }
  }
  try {
    return decoder.decode(buf)
  } catch {
    throw raise('X_ERR_HTTP_INVALID_BODY', `the body is not valid ${charset ?? 'utf-8'} text`)
  }
}

/** Converts a read body to its declared kind (json, text, form, bytes). */
export function convertBody(kind: BodyKind, buf: Buffer, charset: string | undefined): unknown {
  switch (kind) {
    case 'bytes':
      return buf
    case 'text':
      return decodeText(buf, charset)
    case 'form': {
      const parsed = parseParams(decodeText(buf, charset))
      if (parsed === undefined) throw raise('X_ERR_HTTP_INVALID_BODY', 'the form body has a malformed escape')
      return parsed
    }
    default: {
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'JSON bodies are UTF-8 (RFC 8259)')
      }
      const text = decodeText(buf, undefined)
      try {
        return JSON.parse(text)
      } catch {
        throw raise('X_ERR_HTTP_INVALID_BODY', 'the body is not valid JSON')
      }
    }
  }
}

/** Checks the request's Content-Type against the plan; returns its charset. */
export function checkContentType(req: IncomingMessage, plan: BodyPlan): string | undefined {
  const header = req.headers['content-type']
  if (header === undefined) {
    if (plan.consumes === undefined || plan.kind === 'text') return undefined
    throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'the request has no Content-Type')
  }
  const mt = parseContentType(header)
  if (plan.consumes !== undefined && (mt === undefined || !plan.consumes(mt.essence))) {
    throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${mt?.essence ?? header} is not accepted`)
  }
  return mt?.charset
}

/** Runs the declared validator or schema; returns the value to bind. */
export function validateBody(plan: BodyPlan, value: unknown): unknown | Promise<unknown> {
  if (plan.validate !== undefined && plan.validate(value) !== true) {
    throw raise('X_ERR_HTTP_BODY_VALIDATION', 'the body does not match the declared schema')
  }
  if (plan.schema === undefined) return value
  const result = plan.schema['~standard'].validate(value)
  if (result instanceof Promise) return result.then(schemaOutcome)
  return schemaOutcome(result)
}

function schemaOutcome(result: StandardSchemaResult<unknown>): unknown {
  if (result.issues === undefined) return result.value
  const errors = result.issues.map((i) => ({
    message: i.message,
    path: (i.path ?? []).map((p) =>
      typeof p === 'object' && p !== null && 'key' in p ? String((p as { key: unknown }).key) : String(p),
    ),
  }))
  throw new HttpError(400, 'the body does not match the declared schema', {
    code: 'X_ERR_HTTP_BODY_VALIDATION',
    extensions: { errors },
  })
}
