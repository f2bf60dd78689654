// Turns one finished exchange (an AccessRecord, whatever protocol carried it) into one log
// line: nginx's combined and common formats byte for byte, a JSON line, or Ballerina's
// attribute list. Formats are compiled once, at accessLog() time, into a plain function.
import { isUtf8 } from 'node:buffer'
import { invalidOption } from './errors.js'
import { basicUser, escapeNginx, formatTimeLocalMs, type SecondClock } from './internal/nginx.js'

/**
 * One finished HTTP exchange, protocol-neutral: `attach()` fills it from node:http and
 * node:http2 request/response pairs, and a server with its own HTTP/2 stream path fills it
 * itself and hands it to `AccessLog.log()`.
 */
export interface AccessRecord {
  /** The client's address as the socket reports it (`undefined` logs as `-`). */
  readonly remoteAddress: string | undefined
  /** Request method, as received. */
  readonly method: string
  /** Request target as received: path and query (`:path` for HTTP/2). */
  readonly target: string
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`. */
  readonly protocol: string
  /** Request headers with lower-case names, as node:http and node:http2 give them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The status actually sent; 499 when the client went away before any status was sent (nginx's convention). */
  readonly status: number
  /** Response body bytes the connection accepted (headers and chunked framing excluded). */
  readonly bodyBytes: number
  /** Request body bytes received, after de-chunking. */
  readonly requestBodyBytes: number
  /** When the request arrived, in ms since the epoch. */
  readonly startTime: number
  /** From arrival to the last byte accepted or the client going away, in ms. */
  readonly durationMs: number
  /** The exchange's request id, when there is one. */
  readonly requestId: string | undefined
  /** True when the exchange ended before the response was complete (client went away, stream reset). */
  readonly aborted: boolean
}

/** The named attributes of Ballerina's access-log configuration, plus `request_id`; any `http_<header>` works too. */
export type AccessLogAttribute =
  | 'ip'
  | 'date_time'
  | 'request'
  | 'request_method'
  | 'request_uri'
  | 'scheme'
  | 'status'
  | 'request_body_size'
  | 'response_body_size'
  | 'request_time'
  | 'http_referrer'
  | 'http_user_agent'
  | 'http_x_forwarded_for'
  | 'request_id'
  | `http_${string}`

/**
 * `combined` / `common`: nginx's lines byte for byte. `json`: one JSON object per line with
 * duration, protocol and request id. An attribute list: Ballerina's custom format, flat
 * (space-separated, as Ballerina prints it) unless `style: 'json'`.
 */
export type AccessLogFormat =
  | 'combined'
  | 'common'
  | 'json'
  | readonly AccessLogAttribute[]
  | { readonly attributes: readonly AccessLogAttribute[]; readonly style?: 'flat' | 'json' }

/** A compiled format: one record in, one line out (without the newline). */
export type LineFormatter = (record: AccessRecord, nowMs: number, clock: SecondClock) => string

function header(record: AccessRecord, name: string): string | undefined {
  const v = record.headers[name]
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : v.join(', ')
}

function status3(status: number): string {
  // nginx prints %03ui: a status below 100 is zero-padded.
  return status >= 100 ? `${status}` : status >= 10 ? `0${status}` : `00${status}`
}

function quoted(value: string | undefined): string {
  return value === undefined ? '-' : escapeNginx(value)
}

/**
 * `$request`, escaped. Escaping works char by char, so escaping the three parts equals escaping
 * the joined line, and each part is a flat string the scan reads without flattening a join first.
 */
function escapedRequestLine(r: AccessRecord): string {
  return `${escapeNginx(r.method)} ${escapeNginx(r.target)} ${escapeNginx(r.protocol)}`
}

function requestLine(r: AccessRecord): string {
  return `${r.method} ${r.target} ${r.protocol}`
}

function common(r: AccessRecord, nowMs: number, clock: SecondClock): string {
  return `${r.remoteAddress === undefined ? '-' : escapeNginx(r.remoteAddress)} - ${quoted(basicUser(header(r, 'authorization')))} [${clock.timeLocal(nowMs)}] "${escapedRequestLine(r)}" ${status3(r.status)} ${r.bodyBytes}`
}

function combined(r: AccessRecord, nowMs: number, clock: SecondClock): string {
  return `${common(r, nowMs, clock)} "${quoted(header(r, 'referer'))}" "${quoted(header(r, 'user-agent'))}"`
}

/**
 * A JSON string for a value Node decoded as latin1: bytes that form valid UTF-8 are shown as
 * the text they encode; anything else keeps one char per byte, so nothing is lost.
 */
export function jsonString(s: string): string {
  let plain = true
  let high = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c) plain = false
    else if (c > 0x7e) {
      plain = false
      if (c < 0x100) high = true
    }
  }
  if (plain) return `"${s}"`
  if (high) {
    const bytes = Buffer.from(s, 'latin1')
    // Only when every char is a byte does latin1 round-trip; a wider char means the caller built the string.
    if (bytes.length === s.length && isUtf8(bytes)) return JSON.stringify(bytes.toString('utf8'))
  }
  return JSON.stringify(s)
}

function jsonOrNull(s: string | undefined): string {
  return s === undefined ? 'null' : jsonString(s)
}

function json(r: AccessRecord, nowMs: number): string {
  return `{"level":30,"time":${nowMs},"msg":"access","remote_addr":${jsonOrNull(r.remoteAddress)},"remote_user":${jsonOrNull(basicUser(header(r, 'authorization')))},"method":${jsonString(r.method)},"uri":${jsonString(r.target)},"protocol":${jsonString(r.protocol)},"status":${r.status},"body_bytes_sent":${r.bodyBytes},"request_body_bytes":${r.requestBodyBytes},"http_referer":${jsonOrNull(header(r, 'referer'))},"http_user_agent":${jsonOrNull(header(r, 'user-agent'))},"duration_ms":${Math.round(r.durationMs * 1000) / 1000},"request_id":${jsonOrNull(r.requestId)},"aborted":${r.aborted}}`
}

// RFC 9110 token characters, lower-cased: what may follow `http_` once `_` became `-`.
function isHeaderToken(name: string): boolean {
  if (name.length === 0) return false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || "!#$%&'*+-.^`|~".includes(name[i]!)
    if (!ok) return false
  }
  return true
}

type Piece = { flat: (r: AccessRecord) => string; json: (r: AccessRecord) => string; key: string }

function headerPiece(key: string, name: string): Piece {
  return {
    key,
    flat: (r) => `"${quoted(header(r, name))}"`,
    json: (r) => {
      const v = header(r, name)
      return v === undefined ? '"-"' : jsonString(v)
    },
  }
}

function piece(attr: string, option: string): Piece {
  switch (attr) {
    case 'ip':
      return {
        key: attr,
        flat: (r) => quoted(r.remoteAddress),
        json: (r) => (r.remoteAddress === undefined ? '"-"' : jsonString(r.remoteAddress)),
      }
    case 'date_time':
      return {
        key: attr,
        flat: (r) => `[${formatTimeLocalMs(r.startTime)}]`,
        json: (r) => `"${formatTimeLocalMs(r.startTime)}"`,
      }
    case 'request':
      return {
        key: attr,
        flat: (r) => `"${escapedRequestLine(r)}"`,
        json: (r) => jsonString(requestLine(r)),
      }
    case 'request_method':
      return { key: attr, flat: (r) => escapeNginx(r.method), json: (r) => jsonString(r.method) }
    case 'request_uri':
      return { key: attr, flat: (r) => escapeNginx(r.target), json: (r) => jsonString(r.target) }
    case 'scheme':
      return { key: attr, flat: (r) => escapeNginx(r.protocol), json: (r) => jsonString(r.protocol) }
    case 'status':
      return { key: attr, flat: (r) => `${r.status}`, json: (r) => `${r.status}` }
    case 'request_body_size':
      return { key: attr, flat: (r) => `${r.requestBodyBytes}`, json: (r) => `${r.requestBodyBytes}` }
    case 'response_body_size':
      return { key: attr, flat: (r) => `${r.bodyBytes}`, json: (r) => `${r.bodyBytes}` }
    case 'request_time':
      // Ballerina logs whole milliseconds.
      return {
        key: attr,
        flat: (r) => `${Math.round(r.durationMs)}`,
        json: (r) => `${Math.round(r.durationMs)}`,
      }
    case 'request_id':
      return {
        key: attr,
        flat: (r) => quoted(r.requestId),
        json: (r) => (r.requestId === undefined ? '"-"' : jsonString(r.requestId)),
      }
    case 'http_referrer':
      return headerPiece(attr, 'referer')
    case 'http_user_agent':
      return headerPiece(attr, 'user-agent')
    case 'http_x_forwarded_for':
      return headerPiece(attr, 'x-forwarded-for')
  }
  if (attr.startsWith('http_')) {
    // nginx's $http_<name> convention: underscores stand for dashes, any case.
    const name = attr.slice(5).toLowerCase().replaceAll('_', '-')
    if (isHeaderToken(name)) return headerPiece(attr, name)
  }
  throw invalidOption(option, `unknown access-log attribute ${JSON.stringify(attr)}`)
}

/** Whether a (valid) format reads a record's `durationMs` or `startTime`. */
export function formatUsesTime(format: AccessLogFormat): boolean {
  if (format === 'json') return true
  if (format === 'combined' || format === 'common') return false
  const attributes = Array.isArray(format) ? format : (format as { attributes: readonly string[] }).attributes
  return attributes.includes('request_time') || attributes.includes('date_time')
}

/** Compiles a format option into a line formatter; throws `X_ERR_LOGGING_INVALID_OPTION` for an unknown one. */
export function compileFormat(format: unknown, option = 'format'): LineFormatter {
  if (format === 'combined') return combined
  if (format === 'common') return common
  if (format === 'json') return json
  let attributes: unknown
  let style: unknown = 'flat'
  if (Array.isArray(format)) attributes = format
  else if (typeof format === 'object' && format !== null && 'attributes' in format) {
    attributes = (format as { attributes: unknown }).attributes
    style = (format as { style?: unknown }).style ?? 'flat'
  } else {
    throw invalidOption(option, "expected 'combined', 'common', 'json' or a list of attributes")
  }
  if (style !== 'flat' && style !== 'json')
    throw invalidOption(`${option}.style`, "expected 'flat' or 'json'")
  if (!Array.isArray(attributes) || attributes.length === 0)
    throw invalidOption(`${option}.attributes`, 'expected a non-empty list of attribute names')
  const seen = new Set<string>()
  const pieces: Piece[] = []
  for (const [i, attr] of attributes.entries()) {
    if (typeof attr !== 'string') throw invalidOption(`${option}.attributes[${i}]`, 'expected a string')
    if (seen.has(attr)) throw invalidOption(`${option}.attributes[${i}]`, `${attr} is listed twice`)
    seen.add(attr)
    pieces.push(piece(attr, `${option}.attributes[${i}]`))
  }
  if (style === 'flat') {
    const fns = pieces.map((p) => p.flat)
    return (r) => {
      let line = fns[0]!(r)
      for (let i = 1; i < fns.length; i++) line += ` ${fns[i]!(r)}`
      return line
    }
  }
  const keys = pieces.map((p) => JSON.stringify(p.key))
  const fns = pieces.map((p) => p.json)
  return (r) => {
    let line = `{${keys[0]}:${fns[0]!(r)}`
    for (let i = 1; i < fns.length; i++) line += `,${keys[i]}:${fns[i]!(r)}`
    return `${line}}`
  }
}
