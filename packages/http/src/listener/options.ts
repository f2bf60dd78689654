// Listener options: their types, documented defaults, and eager validation. Defaults are
// chosen for a server on the open internet (slowloris, oversized input), not for a benchmark.

import type { AccessLog, AccessLogOptions, TraceLog, TraceLogOptions } from '@x/logging'
import type { ServerTls } from '@x/tls'
import type { CompressionPolicy } from '../client/options.js'
import { configError } from '../errors.js'
import { type UsedLog, useAccessLog, useTraceLog } from '../log-options.js'
import { type ResolvedWorkers, resolveWorkers, type WorkersOptions } from './cluster.js'
import { type CompressionOptions, type CompressionPlan, compileCompression } from './compression.js'
import { type RequestIdOptions, type ResolvedRequestId, resolveRequestId } from './request-id.js'
import { type ListenerTlsOptions, resolveTls } from './tls.js'
import type { ChunkingPolicy, Filter, KeepAlivePolicy } from './types.js'

/** Where the Listener reports handler failures (pino-compatible: `logger.error(obj, msg)`). */
export interface ListenerLogger {
  error(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/** Options of {@link Listener}. */
export interface ListenerOptions {
  /** TCP port; 0 lets the OS pick (read it back from `listener.port`). */
  port: number
  /** Interface to bind. @defaultValue all interfaces (Node's default) */
  host?: string
  /** Filters run for every request, before the service's. @defaultValue [] */
  filters?: readonly Filter[]
  /** Compare static path segments case-sensitively. @defaultValue true */
  caseSensitive?: boolean
  /** Treat `/a/` as `/a`. @defaultValue true */
  ignoreTrailingSlash?: boolean
  /** Longest request target (URI) in bytes; longer answers 414. @defaultValue 8192 */
  maxUriLength?: number
  /** Largest request line plus headers in bytes, as Node counts it; larger answers 431. @defaultValue 16384 */
  maxHeaderSize?: number
  /** Most header fields in a request; more answers 431. @defaultValue 100 */
  maxHeaderCount?: number
  /** Largest request body a resource reads, in bytes; larger answers 413. @defaultValue 1048576 (1 MiB) */
  maxBodySize?: number
  /** Time allowed to receive the request headers, in ms (408 after). @defaultValue 20000 */
  headersTimeout?: number
  /** Time allowed to receive the whole request, in ms (408 after); 0 disables. @defaultValue 60000 */
  requestTimeout?: number
  /** How long an idle keep-alive connection stays open, in ms; 0 keeps it until the client closes. @defaultValue 5000 */
  keepAliveTimeout?: number
  /** Requests served on one connection before it is closed; 0 is unlimited. @defaultValue 0 */
  maxRequestsPerSocket?: number
  /** @defaultValue 'AUTO' */
  keepAlive?: KeepAlivePolicy
  /** @defaultValue 'AUTO' */
  chunking?: ChunkingPolicy
  /** Response compression: a policy, or options; services and resources override it. @defaultValue 'AUTO' (compressible types from 1 KiB) */
  compression?: CompressionPolicy | CompressionOptions
  /** Where 500s and other failures are logged. @defaultValue a logger writing to `console.error` */
  logger?: ListenerLogger
  /**
   * Serve from this many `node:cluster` worker processes (`'auto'`: one per core); the
   * primary forks, restarts and stops them and serves nothing itself. @defaultValue one process, no cluster
   */
  workers?: number | 'auto' | WorkersOptions
  /**
   * `'2'` serves HTTP/2 and HTTP/1.1 on the one port: chosen by ALPN over TLS, by the
   * connection preface in cleartext (h2c with prior knowledge); see `http2.allowHTTP1`.
   * @defaultValue '1.1'
   */
  httpVersion?: '1.1' | '2'
  /** HTTP/2 settings and per-connection limits (used with `httpVersion: '2'`). */
  http2?: Http2Options
  /** Serve over TLS, with `@x/tls`'s server configuration (certificate, mutual TLS, SNI, OCSP stapling, …). */
  secureSocket?: ListenerTlsOptions
  /**
   * An access log line per exchange: `@x/logging` `accessLog()` options (the Listener opens it
   * and closes it when it stops) or an `AccessLog` built by the caller (left open). @defaultValue none
   */
  accessLog?: AccessLogOptions | AccessLog
  /**
   * Trace entries for every request and response: `@x/logging` `traceLog()` options (built with
   * `client: false` unless given; closed on stop) or a `TraceLog` (left open). @defaultValue none
   */
  traceLog?: TraceLogOptions | TraceLog
  /** Request ids on `ctx.requestId`, in the logs and, with `echo`, in the response; `false` turns them off. @defaultValue on, not echoed */
  requestId?: boolean | RequestIdOptions
}

/** HTTP/2 settings and per-connection limits of a Listener with `httpVersion: '2'`. */
export interface Http2Options {
  /**
   * Serve HTTP/1.1 on the same port too: over TLS by ALPN, in cleartext by telling the
   * HTTP/2 preface apart. `false`: HTTP/2 only (ALPN `h2`; h2c with prior knowledge).
   * @defaultValue true
   */
  allowHTTP1?: boolean
  /** Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). @defaultValue 100 */
  maxConcurrentStreams?: number
  /** Flow-control window of each stream, in bytes (SETTINGS_INITIAL_WINDOW_SIZE). @defaultValue 65535 */
  initialWindowSize?: number
  /** Flow-control window of the whole connection, in bytes. @defaultValue 1048576 */
  connectionWindowSize?: number
  /** Largest frame payload a client may send (SETTINGS_MAX_FRAME_SIZE). @defaultValue 16384 */
  maxFrameSize?: number
  /** Largest request header list (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 7541 sizes); larger answers 431. @defaultValue `maxHeaderSize` */
  maxHeaderListSize?: number
  /** HPACK dynamic table size for decoding requests (SETTINGS_HEADER_TABLE_SIZE). @defaultValue 4096 */
  headerTableSize?: number
  /** Invalid frames tolerated on one connection before it is closed. @defaultValue 1000 */
  maxSessionInvalidFrames?: number
  /** Streams refused (over `maxConcurrentStreams`) on one connection before it is closed. @defaultValue 100 */
  maxSessionRejectedStreams?: number
  /** Time a client has to acknowledge our SETTINGS, in ms; then GOAWAY SETTINGS_TIMEOUT. 0 disables. @defaultValue 10000 */
  settingsTimeout?: number
  /** Memory one connection may use in node:http2, in MB; past it new streams are refused. @defaultValue 10 */
  maxSessionMemory?: number
  /** Unacknowledged PINGs we send that may be outstanding. @defaultValue 10 */
  maxOutstandingPings?: number
  /** Entries accepted in one SETTINGS frame. @defaultValue 32 */
  maxSettings?: number
  /**
   * Streams a client may reset before their response ended (rapid reset, CVE-2023-44487), as a
   * token bucket: this many at once, refilled by `streamResetRate` per second; past it the
   * connection is closed with GOAWAY ENHANCE_YOUR_CALM. @defaultValue 500
   */
  streamResetBurst?: number
  /** Refill of `streamResetBurst`, in resets per second. @defaultValue 33 */
  streamResetRate?: number
}

/** HTTP/2 settings after defaults. */
export interface ResolvedHttp2 {
  readonly allowHTTP1: boolean
  readonly maxConcurrentStreams: number
  readonly initialWindowSize: number
  readonly connectionWindowSize: number
  readonly maxFrameSize: number
  readonly maxHeaderListSize: number
  readonly headerTableSize: number
  readonly maxSessionInvalidFrames: number
  readonly maxSessionRejectedStreams: number
  readonly settingsTimeout: number
  readonly maxSessionMemory: number
  readonly maxOutstandingPings: number
  readonly maxSettings: number
  readonly streamResetBurst: number
  readonly streamResetRate: number
}

/** Options after defaults: what the Listener runs with. */
export interface ResolvedOptions {
  readonly port: number
  readonly host: string | undefined
  readonly filters: readonly Filter[]
  readonly caseSensitive: boolean
  readonly ignoreTrailingSlash: boolean
  readonly maxUriLength: number
  readonly maxHeaderSize: number
  readonly maxHeaderCount: number
  readonly maxBodySize: number
  readonly headersTimeout: number
  readonly requestTimeout: number
  readonly keepAliveTimeout: number
  readonly maxRequestsPerSocket: number
  readonly keepAlive: KeepAlivePolicy
  readonly chunking: ChunkingPolicy
  readonly compression: CompressionPlan
  readonly logger: ListenerLogger
  readonly workers: ResolvedWorkers | undefined
  readonly httpVersion: '1.1' | '2'
  readonly http2: ResolvedHttp2
  /** The TLS configuration built by `@x/tls`, when serving over TLS. */
  readonly tls: ServerTls | undefined
  readonly requestId: ResolvedRequestId | undefined
  readonly accessLog: AccessLog | undefined
  readonly traceLog: TraceLog | undefined
  /** The logs the Listener built from options: it waits for them on start and closes them on stop. */
  readonly ownedLogs: ReadonlyArray<AccessLog | TraceLog>
}

const consoleLogger: ListenerLogger = {
  error(obj, msg) {
    console.error(msg ?? 'listener error', obj)
  },
  warn(obj, msg) {
    console.warn(msg ?? 'listener warning', obj)
  },
}

const KNOWN = new Set([
  'port',
  'host',
  'filters',
  'caseSensitive',
  'ignoreTrailingSlash',
  'maxUriLength',
  'maxHeaderSize',
  'maxHeaderCount',
  'maxBodySize',
  'headersTimeout',
  'requestTimeout',
  'keepAliveTimeout',
  'maxRequestsPerSocket',
  'keepAlive',
  'chunking',
  'compression',
  'logger',
  'workers',
  'httpVersion',
  'http2',
  'secureSocket',
  'accessLog',
  'traceLog',
  'requestId',
])

const HTTP2_KNOWN = new Set([
  'allowHTTP1',
  'maxConcurrentStreams',
  'initialWindowSize',
  'connectionWindowSize',
  'maxFrameSize',
  'maxHeaderListSize',
  'headerTableSize',
  'maxSessionInvalidFrames',
  'maxSessionRejectedStreams',
  'settingsTimeout',
  'maxSessionMemory',
  'maxOutstandingPings',
  'maxSettings',
  'streamResetBurst',
  'streamResetRate',
])

/** Largest value of a 31-bit HTTP/2 setting (windows, RFC 9113 §6.9.1) and of a Node timer. */
const MAX_31 = 2_147_483_647

const POLICIES = ['AUTO', 'ALWAYS', 'NEVER'] as const

function int(
  o: Record<string, unknown>,
  name: string,
  def: number,
  min: number,
  max: number,
  prefix = '',
): number {
  const v = o[name]
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw configError(
      'X_ERR_HTTP_INVALID_OPTION',
      `${prefix}${name} must be an integer from ${min} to ${max}`,
    )
  }
  return v
}

function bool(o: Record<string, unknown>, name: string, def: boolean, prefix = ''): boolean {
  const v = o[name]
  if (v === undefined) return def
  if (typeof v !== 'boolean')
    throw configError('X_ERR_HTTP_INVALID_OPTION', `${prefix}${name} must be a boolean`)
  return v
}

/** Validates the HTTP/2 settings; the header list limit defaults to the Listener's `maxHeaderSize`. */
function resolveHttp2(value: unknown, maxHeaderSize: number): ResolvedHttp2 {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'http2 must be an object')
  }
  const o = (value ?? {}) as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!HTTP2_KNOWN.has(key)) throw configError('X_ERR_HTTP_INVALID_OPTION', `unknown http2 option ${key}`)
  }
  const p = 'http2.'
  return {
    allowHTTP1: bool(o, 'allowHTTP1', true, p),
    maxConcurrentStreams: int(o, 'maxConcurrentStreams', 100, 1, MAX_31, p),
    initialWindowSize: int(o, 'initialWindowSize', 65_535, 0, MAX_31, p),
    connectionWindowSize: int(o, 'connectionWindowSize', 1_048_576, 65_535, MAX_31, p),
    // RFC 9113 §6.5.2: from 2^14 to 2^24-1.
    maxFrameSize: int(o, 'maxFrameSize', 16_384, 16_384, 16_777_215, p),
    maxHeaderListSize: int(o, 'maxHeaderListSize', maxHeaderSize, 1024, 1_048_576, p),
    headerTableSize: int(o, 'headerTableSize', 4096, 0, 65_536, p),
    maxSessionInvalidFrames: int(o, 'maxSessionInvalidFrames', 1000, 0, MAX_31, p),
    maxSessionRejectedStreams: int(o, 'maxSessionRejectedStreams', 100, 0, MAX_31, p),
    settingsTimeout: int(o, 'settingsTimeout', 10_000, 0, MAX_31, p),
    maxSessionMemory: int(o, 'maxSessionMemory', 10, 1, 1_048_576, p),
    maxOutstandingPings: int(o, 'maxOutstandingPings', 10, 1, 10_000, p),
    maxSettings: int(o, 'maxSettings', 32, 1, 1000, p),
    streamResetBurst: int(o, 'streamResetBurst', 500, 1, MAX_31, p),
    streamResetRate: int(o, 'streamResetRate', 33, 1, MAX_31, p),
  }
}

/** Validates a chunking or keep-alive policy (also used for services and resources). */
export function policy<T extends string>(value: unknown, name: string, def: T): T {
  if (value === undefined) return def
  if (typeof value !== 'string' || !(POLICIES as readonly string[]).includes(value)) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', `${name} must be one of ${POLICIES.join(', ')}`)
  }
  return value as T
}

/** Validates one filter object (Listener or service level). */
export function checkFilters(value: unknown, where: string): readonly Filter[] {
  if (value === undefined) return []
  if (!Array.isArray(value))
    throw configError('X_ERR_HTTP_INVALID_OPTION', `${where} filters must be an array`)
  for (const f of value) {
    if (typeof f !== 'object' || f === null) {
      throw configError('X_ERR_HTTP_INVALID_OPTION', `${where} filters must be objects`)
    }
    const hooks = f as Record<string, unknown>
    let any = false
    for (const hook of ['request', 'response', 'error']) {
      if (hooks[hook] === undefined) continue
      if (typeof hooks[hook] !== 'function') {
        throw configError('X_ERR_HTTP_INVALID_OPTION', `${where} filter ${hook} must be a function`)
      }
      any = true
    }
    if (!any) {
      throw configError(
        'X_ERR_HTTP_INVALID_OPTION',
        `${where} filter needs a request, response or error function`,
      )
    }
  }
  return value.slice() as Filter[]
}

/** Applies defaults and validates every option; throws `X_ERR_HTTP_INVALID_OPTION`. */
export function resolveOptions(options: ListenerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'Listener options must be an object with a port')
  }
  const o = options as unknown as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw configError('X_ERR_HTTP_INVALID_OPTION', `unknown Listener option ${key}`)
  }
  if (o.port === undefined) throw configError('X_ERR_HTTP_INVALID_OPTION', 'port is required (0 picks one)')
  const port = int(o, 'port', 0, 0, 65535)
  const host = o.host
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'host must be a non-empty string')
  }
  const headersTimeout = int(o, 'headersTimeout', 20_000, 1, 2_147_483_647)
  const requestTimeout = int(o, 'requestTimeout', 60_000, 0, 2_147_483_647)
  if (requestTimeout !== 0 && headersTimeout > requestTimeout) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'headersTimeout must not exceed requestTimeout')
  }
  const maxUriLength = int(o, 'maxUriLength', 8192, 16, 1_048_576)
  const maxHeaderSize = int(o, 'maxHeaderSize', 16_384, 1024, 1_048_576)
  const logger = o.logger ?? consoleLogger
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof (logger as ListenerLogger).error !== 'function' ||
    typeof (logger as ListenerLogger).warn !== 'function'
  ) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', 'logger must have error() and warn() functions')
  }
  const httpVersion = (o.httpVersion ?? '1.1') as '1.1' | '2'
  if (httpVersion !== '1.1' && httpVersion !== '2') {
    throw configError('X_ERR_HTTP_INVALID_OPTION', "httpVersion must be '1.1' or '2'")
  }
  if (o.http2 !== undefined && httpVersion !== '2') {
    throw configError('X_ERR_HTTP_INVALID_OPTION', "http2 settings need httpVersion: '2'")
  }
  const http2 = resolveHttp2(o.http2, maxHeaderSize)
  const requestId = resolveRequestId(o.requestId)
  const base = {
    port,
    host: host as string | undefined,
    filters: checkFilters(o.filters, 'Listener'),
    caseSensitive: bool(o, 'caseSensitive', true),
    ignoreTrailingSlash: bool(o, 'ignoreTrailingSlash', true),
    maxUriLength,
    maxHeaderSize,
    maxHeaderCount: int(o, 'maxHeaderCount', 100, 1, 10_000),
    maxBodySize: int(o, 'maxBodySize', 1_048_576, 0, Number.MAX_SAFE_INTEGER),
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: int(o, 'keepAliveTimeout', 5_000, 0, 2_147_483_647),
    maxRequestsPerSocket: int(o, 'maxRequestsPerSocket', 0, 0, Number.MAX_SAFE_INTEGER),
    keepAlive: policy<KeepAlivePolicy>(o.keepAlive, 'keepAlive', 'AUTO'),
    chunking: policy<ChunkingPolicy>(o.chunking, 'chunking', 'AUTO'),
    compression: compileCompression(o.compression, undefined, '', 'X_ERR_HTTP_INVALID_OPTION'),
    logger: logger as ListenerLogger,
    workers: resolveWorkers(o.workers),
    httpVersion,
    http2,
    tls:
      o.secureSocket === undefined
        ? undefined
        : resolveTls(o.secureSocket, httpVersion, http2.allowHTTP1, logger as ListenerLogger),
  }
  // Logs last: building one may open a file, so every other option is checked first.
  return { ...base, requestId, ...logs(o) }
}

/** The access and trace logs of the options; their errors become `X_ERR_HTTP_INVALID_OPTION` with the cause. */
function logs(o: Record<string, unknown>) {
  const access = log(o.accessLog, 'accessLog', useAccessLog)
  let trace: UsedLog<TraceLog> | undefined
  try {
    trace = log(o.traceLog, 'traceLog', useTraceLog)
  } catch (e) {
    if (access?.owned === true) void access.log.close()
    throw e
  }
  const ownedLogs: Array<AccessLog | TraceLog> = []
  if (access?.owned === true) ownedLogs.push(access.log)
  if (trace?.owned === true) ownedLogs.push(trace.log)
  return { accessLog: access?.log, traceLog: trace?.log, ownedLogs }
}

function log<L>(value: unknown, name: string, use: (v: unknown) => UsedLog<L>): UsedLog<L> | undefined {
  if (value === undefined) return undefined
  try {
    return use(value)
  } catch (e) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', `${name}: ${(e as Error).message}`, e)
  }
}
