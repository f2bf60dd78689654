// The `accessLog` and `traceLog` options of Listener and Client: @x/logging option objects
// (the endpoint builds the log, and closes it when it stops) or logs built by the caller
// (shared, left open). Construction errors come back as @x/logging's coded errors.
import {
  type AccessLog,
  type AccessLogOptions,
  accessLog,
  type TraceLog,
  type TraceLogOptions,
  traceLog,
} from '@x/logging'

/** A log an endpoint writes to, and whether the endpoint made it (and so closes it). */
export interface UsedLog<L> {
  readonly log: L
  readonly owned: boolean
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Duck-typed, so a log from another copy of @x/logging is recognised. */
function isAccessLog(v: Record<string, unknown>): boolean {
  return typeof v.log === 'function' && typeof v.attach === 'function' && typeof v.close === 'function'
}

function isTraceLog(v: Record<string, unknown>): boolean {
  return (
    typeof v.attach === 'function' && typeof v.traceRequests === 'function' && typeof v.close === 'function'
  )
}

/** An access log from the option; throws @x/logging's `X_ERR_LOGGING_INVALID_OPTION` or a TypeError for a non-object. */
export function useAccessLog(value: unknown): UsedLog<AccessLog> {
  if (!isObject(value)) throw new TypeError('expected @x/logging accessLog options or an AccessLog')
  if (isAccessLog(value)) return { log: value as unknown as AccessLog, owned: false }
  return { log: accessLog(value as AccessLogOptions), owned: true }
}

/**
 * A trace log from the option. One the endpoint builds traces no undici request of its own
 * accord (`client: false` unless the options say otherwise): a Client asks for its own.
 */
export function useTraceLog(value: unknown): UsedLog<TraceLog> {
  if (!isObject(value)) throw new TypeError('expected @x/logging traceLog options or a TraceLog')
  if (isTraceLog(value)) return { log: value as unknown as TraceLog, owned: false }
  const options = value as TraceLogOptions
  return {
    log: traceLog(options.client === undefined ? { ...options, client: false } : options),
    owned: true,
  }
}
