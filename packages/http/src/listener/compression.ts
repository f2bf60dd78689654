// Content codings: the response compression policy (AUTO / ALWAYS / NEVER, size threshold,
// compressible types), Accept-Encoding negotiation with q-values (RFC 9110 §12.5.3), the
// encoders for buffered and streamed bodies, and the decoding of request bodies within a limit.

import type { IncomingMessage } from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import * as zlib from 'node:zlib'
import { isToken } from '../client/internal/headers.js'
import type { CompressionPolicy } from '../client/options.js'
import { configError, type HttpErrorCode } from '../errors.js'
import { compileMatcher, type MediaMatcher } from './media.js'
import { raise } from './problem.js'

/** A content coding the Listener can produce (zstd only where the running Node has it). */
export type ContentCoding = 'br' | 'zstd' | 'gzip' | 'deflate'

/** Compression levels per coding. */
export interface CompressionLevels {
  /** Brotli quality, 0–11. @defaultValue 4 */
  readonly br?: number
  /** zstd level, 1–22. @defaultValue 3 */
  readonly zstd?: number
  /** gzip level, 0–9. @defaultValue 6 */
  readonly gzip?: number
  /** deflate (zlib) level, 0–9. @defaultValue 6 */
  readonly deflate?: number
}

/** Response compression settings of a Listener, service or resource (each field overrides the enclosing one's). */
export interface CompressionOptions {
  /**
   * AUTO: bodies of compressible types from `threshold` bytes; ALWAYS: every non-empty body;
   * NEVER: none. @defaultValue 'AUTO'
   */
  readonly policy?: CompressionPolicy
  /** Smallest body (in bytes) AUTO compresses. @defaultValue 1024 */
  readonly threshold?: number
  /** Media types AUTO compresses (`text/*`, `application/*+json`, ...). @defaultValue text, JSON, XML, JavaScript, SVG, fonts, WebAssembly */
  readonly contentTypes?: readonly string[]
  /** Codings in the server's order of preference, used when the client weighs several alike. @defaultValue ['br', 'zstd', 'gzip', 'deflate'] */
  readonly encodings?: readonly ContentCoding[]
  /** Compression levels per coding. */
  readonly levels?: CompressionLevels
}

/** A compiled compression setting. */
export interface CompressionPlan {
  readonly policy: CompressionPolicy
  readonly threshold: number
  readonly compressible: MediaMatcher
  readonly encodings: readonly ContentCoding[]
  readonly levels: Required<CompressionLevels>
  /** The declared options this plan was compiled from, for the next level to override. */
  readonly declared: CompressionOptions
  /** Accept-Encoding values already negotiated: browsers send a handful of distinct ones. */
  readonly negotiated: Map<string, ContentCoding | null>
}

const NEGOTIATED_CAP = 64

/** zstd arrived in Node 22.15 / 23.8; checked when the module loads, never assumed. */
const zstd = zlib as unknown as {
  zstdCompress?: (buf: Buffer, options: object, cb: (err: Error | null, out: Buffer) => void) => void
  zstdCompressSync?: (buf: Buffer, options: object) => Buffer
  createZstdCompress?: (options?: object) => Transform
  createZstdDecompress?: (options?: object) => Transform
  constants: { ZSTD_c_compressionLevel?: number }
}
/** True when the running Node can produce and read zstd. */
export const HAS_ZSTD =
  typeof zstd.createZstdCompress === 'function' && typeof zstd.zstdCompress === 'function'

const ALL_CODINGS: readonly ContentCoding[] = ['br', 'zstd', 'gzip', 'deflate']
const DEFAULT_LEVELS: Required<CompressionLevels> = { br: 4, zstd: 3, gzip: 6, deflate: 6 }
const LEVEL_RANGE: Record<ContentCoding, [number, number]> = {
  br: [0, 11],
  zstd: [1, 22],
  gzip: [0, 9],
  deflate: [0, 9],
}
const KNOWN = new Set(['policy', 'threshold', 'contentTypes', 'encodings', 'levels'])

/** The types AUTO compresses by default: text-like formats that shrink (event streams never: they flush per event). */
const DEFAULT_TYPES = new Set([
  'application/json',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/xml',
  'application/x-ndjson',
  'application/wasm',
  'application/x-www-form-urlencoded',
  'application/rtf',
  'application/vnd.ms-fontobject',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'font/ttf',
  'font/otf',
])

function defaultCompressible(essence: string): boolean {
  if (essence.startsWith('text/')) return essence !== 'text/event-stream'
  if (essence.endsWith('+json') || essence.endsWith('+xml')) return true
  return DEFAULT_TYPES.has(essence)
}

const POLICIES: readonly string[] = ['AUTO', 'ALWAYS', 'NEVER']

/**
 * Compiles a compression setting over the enclosing one (`parent`, absent at the Listener).
 * Undefined returns the parent itself, so levels that declare nothing share its negotiation cache.
 */
export function compileCompression(
  value: unknown,
  parent: CompressionPlan | undefined,
  where: string,
  code: HttpErrorCode,
): CompressionPlan {
  if (value === undefined && parent !== undefined) return parent
  const bad = (message: string): never => {
    throw configError(code, `${where}compression ${message}`)
  }
  let own: CompressionOptions
  if (value === undefined) own = {}
  else if (typeof value === 'string') own = { policy: value as CompressionPolicy }
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const key of Object.keys(value)) if (!KNOWN.has(key)) bad(`has an unknown option ${key}`)
    own = value as CompressionOptions
  } else return bad("must be 'AUTO', 'ALWAYS', 'NEVER' or an options object")
  const declared: Record<string, unknown> = { ...parent?.declared }
  for (const key of Object.keys(own)) {
    const v = (own as Record<string, unknown>)[key]
    if (v !== undefined) declared[key] = v
  }
  const policy = declared.policy ?? 'AUTO'
  if (typeof policy !== 'string' || !POLICIES.includes(policy))
    bad(`policy must be one of ${POLICIES.join(', ')}`)
  const threshold = declared.threshold ?? 1024
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 0) {
    bad('threshold must be a non-negative integer (bytes)')
  }
  let compressible: MediaMatcher = defaultCompressible
  if (declared.contentTypes !== undefined) {
    if (!Array.isArray(declared.contentTypes) || declared.contentTypes.length === 0) {
      bad('contentTypes must be a non-empty array of media types')
    }
    try {
      compressible = compileMatcher(declared.contentTypes as unknown[], `${where}compression contentTypes`)
    } catch (e) {
      throw configError(code, (e as Error).message, e)
    }
  }
  let encodings = ALL_CODINGS
  if (declared.encodings !== undefined) {
    const list = declared.encodings
    if (!Array.isArray(list) || list.length === 0) bad('encodings must be a non-empty array')
    for (const c of list as unknown[]) {
      if (typeof c !== 'string' || !(ALL_CODINGS as readonly string[]).includes(c)) {
        bad(`encodings has an unknown coding ${JSON.stringify(c)} (br, zstd, gzip, deflate)`)
      }
    }
    encodings = [...new Set(list as ContentCoding[])]
  }
  // zstd stays in a configuration that must also run where Node lacks it: it is simply not offered there.
  if (!HAS_ZSTD) encodings = encodings.filter((c) => c !== 'zstd')
  const levels: Record<ContentCoding, number> = { ...DEFAULT_LEVELS }
  if (declared.levels !== undefined) {
    const l = declared.levels
    if (typeof l !== 'object' || l === null) bad('levels must be an object')
    for (const key of Object.keys(l as object)) {
      const range = LEVEL_RANGE[key as ContentCoding]
      const v = (l as Record<string, unknown>)[key]
      if (range === undefined) bad(`levels has an unknown coding ${key}`)
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
        bad(`levels.${key} must be an integer from ${range[0]} to ${range[1]}`)
      }
      levels[key as ContentCoding] = v as number
    }
  }
  return {
    policy: policy as CompressionPolicy,
    threshold: threshold as number,
    compressible,
    encodings,
    levels,
    declared: declared as CompressionOptions,
    negotiated: new Map(),
  }
}

// ---- negotiation ----------------------------------------------------------------------------

/**
 * A qvalue (RFC 9110 §12.4.2) in thousandths: `0`, `0.5`, `1.000`; -1 for anything else
 * (`2`, `-1`, `0.5555`, `1e3`, `nan`), whose member is then ignored.
 */
function qvalue(s: string): number {
  const n = s.length
  if (n === 0 || n > 5) return -1
  const first = s.charCodeAt(0)
  if (first !== 48 && first !== 49) return -1
  if (n === 1) return first === 48 ? 0 : 1000
  if (s.charCodeAt(1) !== 46 /* . */) return -1
  let v = 0
  let scale = 100
  for (let i = 2; i < n; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    v += d * scale
    scale /= 10
  }
  if (first === 49) return v === 0 ? 1000 : -1
  return v
}

/**
 * Picks the coding for `header` among `encodings` (server order breaks ties), or null for
 * identity: no acceptable coding, only codings with q=0, or identity explicitly weighted
 * higher. Malformed members (not a token, a bad qvalue) are skipped, never fatal.
 */
export function negotiateEncoding(header: string, encodings: readonly ContentCoding[]): ContentCoding | null {
  const weights = new Map<string, number>()
  let start = 0
  const n = header.length
  while (start < n) {
    let end = header.indexOf(',', start)
    if (end === -1) end = n
    const member = header.slice(start, end)
    start = end + 1
    const semi = member.indexOf(';')
    const name = (semi === -1 ? member : member.slice(0, semi)).trim().toLowerCase()
    if (name.length === 0 || !isToken(name)) continue
    let q = 1000
    if (semi !== -1) {
      // Parameters other than q are not defined for Accept-Encoding; q is the only one read.
      q = -1
      for (const param of member.slice(semi + 1).split(';')) {
        const eq = param.indexOf('=')
        if (eq === -1) continue
        if (param.slice(0, eq).trim().toLowerCase() !== 'q') continue
        q = qvalue(param.slice(eq + 1).trim())
        break
      }
      if (q === -1) continue
    }
    const key = name === 'x-gzip' ? 'gzip' : name
    if (!weights.has(key)) weights.set(key, q)
  }
  const wildcard = weights.get('*')
  let best: ContentCoding | null = null
  let bestQ = 0
  for (const c of encodings) {
    const q = weights.get(c) ?? wildcard ?? 0
    if (q > bestQ) {
      best = c
      bestQ = q
    }
  }
  const identity = weights.get('identity')
  if (best !== null && identity !== undefined && identity > bestQ) return null
  return best
}

/** Negotiates through the plan's bounded cache. */
export function chooseEncoding(plan: CompressionPlan, header: string | undefined): ContentCoding | null {
  if (header === undefined || header.length === 0) return null
  const cache = plan.negotiated
  const hit = cache.get(header)
  if (hit !== undefined) return hit
  const chosen = negotiateEncoding(header, plan.encodings)
  if (header.length <= 256) {
    if (cache.size >= NEGOTIATED_CAP) cache.clear()
    cache.set(header, chosen)
  }
  return chosen
}

// ---- encoders -------------------------------------------------------------------------------

/** Below this, a body is compressed on the main thread: the thread-pool hop costs more than it saves. */
export const SYNC_LIMIT = 16 * 1024

function brotliOptions(level: number, size: number, text: boolean): zlib.BrotliOptions {
  const params: Record<number, number> = {
    [zlib.constants.BROTLI_PARAM_QUALITY]: level,
    [zlib.constants.BROTLI_PARAM_MODE]: text
      ? zlib.constants.BROTLI_MODE_TEXT
      : zlib.constants.BROTLI_MODE_GENERIC,
  }
  if (size > 0) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = size
  return { params }
}

function zstdOptions(level: number): object {
  const key = zstd.constants.ZSTD_c_compressionLevel
  return key === undefined ? {} : { params: { [key]: level } }
}

/** Compresses a whole body: synchronously when small, on the thread pool when large. */
export function compressBuffer(
  plan: CompressionPlan,
  coding: ContentCoding,
  input: Buffer,
  text: boolean,
  done: (err: Error | null, out: Buffer) => void,
): void {
  const level = plan.levels[coding]
  if (input.length < SYNC_LIMIT) {
    let out: Buffer
    try {
      out = compressSync(coding, level, input, text)
    } catch (e) {
      done(e as Error, input)
      return
    }
    done(null, out)
    return
  }
  // An output buffer of a quarter of the input holds most compressed bodies whole: one
  // thread-pool round trip instead of one per 16 KiB of output (zlib's default chunk).
  const chunkSize = Math.min(Math.max(zlib.constants.Z_DEFAULT_CHUNK, input.length >> 2), 1 << 20)
  switch (coding) {
    case 'gzip':
      zlib.gzip(input, { level, chunkSize }, done)
      return
    case 'deflate':
      zlib.deflate(input, { level, chunkSize }, done)
      return
    case 'br':
      zlib.brotliCompress(input, { ...brotliOptions(level, input.length, text), chunkSize }, done)
      return
    default:
      zstd.zstdCompress!(input, { ...zstdOptions(level), chunkSize }, done)
  }
}

function compressSync(coding: ContentCoding, level: number, input: Buffer, text: boolean): Buffer {
  switch (coding) {
    case 'gzip':
      return zlib.gzipSync(input, { level })
    case 'deflate':
      return zlib.deflateSync(input, { level })
    case 'br':
      return zlib.brotliCompressSync(input, brotliOptions(level, input.length, text))
    default:
      return zstd.zstdCompressSync!(input, zstdOptions(level))
  }
}

/** A streaming encoder for a body of unknown (or large) size. */
export function compressStream(plan: CompressionPlan, coding: ContentCoding, text: boolean): Transform {
  const level = plan.levels[coding]
  switch (coding) {
    case 'gzip':
      return zlib.createGzip({ level })
    case 'deflate':
      return zlib.createDeflate({ level })
    case 'br':
      return zlib.createBrotliCompress(brotliOptions(level, 0, text))
    default:
      return zstd.createZstdCompress!(zstdOptions(level))
  }
}

/** True for a media type whose bodies Brotli should model as text. */
export function isTextual(essence: string): boolean {
  return (
    essence.startsWith('text/') ||
    essence.endsWith('json') ||
    essence.endsWith('xml') ||
    essence.endsWith('javascript')
  )
}

// ---- request bodies -------------------------------------------------------------------------

/** The codings a request may carry, as the 415 answer's Accept-Encoding lists them (RFC 9110 §15.5.16). */
export const REQUEST_CODINGS = HAS_ZSTD ? 'br, zstd, gzip, deflate' : 'br, gzip, deflate'

/** More stacked codings than this is refused: no client needs them, a decompression bomb might. */
const MAX_REQUEST_CODINGS = 2

/**
 * The codings of a request's Content-Encoding in the order they were applied (identity
 * dropped); an empty list for none. Throws 415 (with Accept-Encoding) for an unknown coding.
 */
export function requestCodings(header: string): ContentCoding[] {
  const out: ContentCoding[] = []
  for (const part of header.split(',')) {
    const c = part.trim().toLowerCase()
    if (c === '' || c === 'identity') continue
    const coding = c === 'x-gzip' ? 'gzip' : c
    if (
      (coding !== 'gzip' && coding !== 'deflate' && coding !== 'br' && coding !== 'zstd') ||
      (coding === 'zstd' && !HAS_ZSTD) ||
      out.length === MAX_REQUEST_CODINGS
    ) {
      throw raise('X_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', `the content coding ${c} is not accepted`, undefined, {
        'accept-encoding': REQUEST_CODINGS,
      })
    }
    out.push(coding)
  }
  return out
}

function decoderFor(coding: ContentCoding): Transform {
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip()
    case 'deflate':
      return zlib.createInflate()
    case 'br':
      return zlib.createBrotliDecompress()
    default:
      return zstd.createZstdDecompress!()
  }
}

/** Counts decoded bytes and fails with 413 past the limit. */
class DecodedLimit extends Transform {
  private size = 0
  constructor(private readonly limit: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.limit) {
      cb(raise('X_ERR_HTTP_BODY_TOO_LARGE', `the decoded body is larger than ${this.limit} bytes`))
    } else cb(null, chunk)
  }
}

/**
 * The request body decoded: `req` → decoders (last applied first) → a limit on the decoded
 * size (413) and on the encoded bytes read. A body that does not decode fails with 400, a
 * client that stops sending with `X_ERR_HTTP_BODY_ABORTED`. The request is never destroyed
 * here, so the error can still be answered.
 */
export function decodedBody(
  req: IncomingMessage,
  codings: readonly ContentCoding[],
  limit: number,
): Transform {
  const out = new DecodedLimit(limit)
  const decoders = codings.map(decoderFor).reverse()
  let encoded = 0
  const fail = (e: unknown) => {
    req.unpipe(decoders[0]!)
    req.pause()
    for (const d of decoders) d.destroy()
    out.destroy(e as Error)
  }
  for (let i = 0; i < decoders.length; i++) {
    const d = decoders[i]!
    const next = i + 1 < decoders.length ? decoders[i + 1]! : out
    d.pipe(next)
    d.once('error', () => {
      fail(raise('X_ERR_HTTP_INVALID_BODY', `the body is not valid ${codings[codings.length - 1 - i]} data`))
    })
  }
  const onData = (chunk: Buffer) => {
    encoded += chunk.length
    if (encoded > limit) fail(raise('X_ERR_HTTP_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`))
  }
  req.on('data', onData)
  req.pipe(decoders[0]!)
  const onClose = () => {
    if (!req.complete) fail(raise('X_ERR_HTTP_BODY_ABORTED', 'the client stopped sending the body'))
  }
  req.once('close', onClose)
  out.once('close', () => {
    req.off('data', onData)
    req.off('close', onClose)
  })
  out.once('error', () => {
    for (const d of decoders) d.destroy()
  })
  return out
}
