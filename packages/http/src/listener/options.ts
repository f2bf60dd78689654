// Listener options: their types, documented defaults, and eager validation. Defaults are
// chosen for a server on the open internet (slowloris, oversized input), not for a benchmark.

import type { AccessLog, AccessLogOptions, TraceLog, TraceLogOptions } from '@x/logging'
import { configError } from '../errors.js'
import { type UsedLog, useAccessLog, useTraceLog } from '../log-options.js'
import { type RequestIdOptions, type ResolvedRequestId, resolveRequestId } from './request-id.js'
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
  /** Where 500s and other failures are logged. @defaultValue a logger writing to `console.error` */
  logger?: ListenerLogger
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
  readonly logger: ListenerLogger
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
  'logger',
  'accessLog',
  'traceLog',
  'requestId',
])

const POLICIES = ['AUTO', 'ALWAYS', 'NEVER'] as const

function int(o: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = o[name]
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw configError('X_ERR_HTTP_INVALID_OPTION', `${name} must be an integer from ${min} to ${max}`)
  }
  return v
}

function bool(o: Record<string, unknown>, name: string, def: boolean): boolean {
  const v = o[name]
  if (v === undefined) return def
  if (typeof v !== 'boolean') throw configError('X_ERR_HTTP_INVALID_OPTION', `${name} must be a boolean`)
  return v
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
    logger: logger as ListenerLogger,
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
