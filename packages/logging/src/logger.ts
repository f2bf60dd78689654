// createLogger: a pino logger with the credentials of HTTP headers redacted by default and
// pretty output only on request (pino-pretty is an optional peer, loaded when asked for).
import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import { invalidOption, LoggingError } from './errors.js'

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** pino level name. @defaultValue 'info' */
  readonly level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /**
   * Human-readable output through pino-pretty (which must be installed); `true` or
   * pino-pretty's options. @defaultValue false
   */
  readonly pretty?: boolean | Record<string, unknown>
  /**
   * `true`: Authorization, Cookie, Set-Cookie and Proxy-Authorization header values are
   * censored wherever a `headers` object sits at the top or one level down (`req.headers`,
   * `res.headers`, …); a list adds pino redact paths to those; `false` turns redaction off.
   * @defaultValue true
   */
  readonly redact?: boolean | readonly string[]
  /** Where lines go (pino's destination). @defaultValue stdout */
  readonly destination?: DestinationStream
  /** The name bound to every line. */
  readonly name?: string
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const KNOWN = new Set(['level', 'pretty', 'redact', 'destination', 'name'])
const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']

/** The pino redact paths `createLogger` applies unless `redact: false`. */
export const DEFAULT_REDACT_PATHS: readonly string[] = SECRET_HEADERS.flatMap((h) => {
  const cap = h.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => `${sep}${c.toUpperCase()}`)
  return [h, cap].flatMap((name) => [`headers["${name}"]`, `*.headers["${name}"]`])
})

function loadPretty(): (options: Record<string, unknown>) => DestinationStream {
  // Resolved from this package, as a peer would be installed next to it.
  const require = createRequire(import.meta.url)
  try {
    const mod = require('pino-pretty') as { default?: unknown } | ((o: object) => DestinationStream)
    const fn = typeof mod === 'function' ? mod : mod.default
    if (typeof fn !== 'function') throw new Error('pino-pretty exports no function')
    return fn as (options: Record<string, unknown>) => DestinationStream
  } catch (cause) {
    throw new LoggingError(
      'X_ERR_LOGGING_PRETTY_UNAVAILABLE',
      'pretty output needs the optional peer dependency pino-pretty: npm install pino-pretty',
      { option: 'pretty', cause },
    )
  }
}

/**
 * A pino logger. Header credentials are redacted unless `redact: false`; pretty output only
 * when `pretty` is set, and then a missing pino-pretty throws `X_ERR_LOGGING_PRETTY_UNAVAILABLE`.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'expected an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw invalidOption(key, 'unknown option')
  const level = options.level ?? 'info'
  if (!LEVELS.has(level)) throw invalidOption('level', `expected one of ${[...LEVELS].join(', ')}`)
  const redact = options.redact ?? true
  let paths: string[] = []
  if (redact === true) paths = [...DEFAULT_REDACT_PATHS]
  else if (Array.isArray(redact) && redact.every((p) => typeof p === 'string' && p.length > 0))
    paths = [...DEFAULT_REDACT_PATHS, ...redact]
  else if (redact !== false)
    throw invalidOption('redact', 'expected a boolean or a list of pino redact paths')
  const pretty = options.pretty ?? false
  if (typeof pretty !== 'boolean' && (typeof pretty !== 'object' || pretty === null || Array.isArray(pretty)))
    throw invalidOption('pretty', 'expected a boolean or pino-pretty options')
  if (options.name !== undefined && typeof options.name !== 'string')
    throw invalidOption('name', 'expected a string')
  const d = options.destination
  if (
    d !== undefined &&
    (typeof d !== 'object' || d === null || typeof (d as { write?: unknown }).write !== 'function')
  )
    throw invalidOption('destination', 'expected a stream with a write(line) method')
  const pinoOptions: LoggerOptions = { level }
  if (options.name !== undefined) pinoOptions.name = options.name
  if (paths.length > 0) {
    try {
      // pino compiles the paths now, so a malformed one fails here rather than on the first line.
      pino({ redact: paths }, { write() {} })
    } catch (cause) {
      throw new LoggingError('X_ERR_LOGGING_INVALID_OPTION', 'redact: a path is malformed', {
        option: 'redact',
        cause,
      })
    }
    pinoOptions.redact = { paths, censor: '[Redacted]' }
  }
  if (pretty !== false) {
    const make = loadPretty()
    const prettyOptions: Record<string, unknown> = pretty === true ? {} : { ...pretty }
    if (d !== undefined) prettyOptions.destination = d
    return pino(pinoOptions, make(prettyOptions))
  }
  return d === undefined ? pino(pinoOptions) : pino(pinoOptions, d)
}
