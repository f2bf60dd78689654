// Option types, their defaults, and eager validation: a wrong option fails at construction
// with X_ERR_WEBSOCKET_INVALID_OPTION, never later on a connection.
import type { ConnectionOptions as TlsConnectionOptions, TlsOptions } from 'node:tls'
import { type Clock, systemClock } from './clock.js'
import { WebSocketError } from './errors.js'
import type { WebSocketService } from './service.js'

/** permessage-deflate (RFC 7692) parameters. */
export interface PerMessageDeflateOptions {
  /** Do not keep the server's compression context between messages. @defaultValue false */
  serverNoContextTakeover?: boolean
  /** Ask the client not to keep its compression context between messages. @defaultValue false */
  clientNoContextTakeover?: boolean
  /** Largest LZ77 window the server uses, 8–15. @defaultValue 15 */
  serverMaxWindowBits?: number
  /** Largest LZ77 window the client may use, 8–15. @defaultValue 15 */
  clientMaxWindowBits?: number
  /** Messages smaller than this many bytes are sent uncompressed. @defaultValue 1024 */
  threshold?: number
  /** zlib compression level, 0–9. @defaultValue 6 */
  level?: number
  /** zlib memory level, 1–9. @defaultValue 8 */
  memLevel?: number
  /** How many zlib operations run at once per process. @defaultValue 10 */
  concurrencyLimit?: number
}

/** The heartbeat: every `interval` ms each open connection is pinged, and one that sent nothing since the previous ping is closed. */
export interface HeartbeatOptions {
  /** @defaultValue 30000 */
  interval?: number
}

/** Options every connection has, on the listener side and on the client side. */
export interface ConnectionOptions {
  /** Largest message (all its fragments together) accepted; a larger one closes the connection with 1009. @defaultValue 1048576 (1 MiB) */
  maxMessageSize?: number
  /** Answer pings with pongs automatically; turn off to answer in `onPing`. @defaultValue true */
  autoPong?: boolean
  /** Ping peers and close the dead ones; `false` turns it off. @defaultValue { interval: 30000 } */
  heartbeat?: HeartbeatOptions | false
  /** Call `onIdleTimeout` after this many ms without a text or binary message either way; 0 turns it off. @defaultValue 0 */
  idleTimeout?: number
  /** How long a close handshake may take before the TCP connection is destroyed, in ms. @defaultValue 30000 */
  closeTimeout?: number
  /** permessage-deflate: `false` (off), `true` (ws's defaults) or parameters. @defaultValue false */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /** Time source for the heartbeat, idle, close and reconnect timers (tests inject a fake one). @defaultValue the system clock */
  clock?: Clock
}

/** What a {@link WebSocketUpgrader} needs: the service, and the options of its connections. */
export interface WebSocketUpgradeOptions extends ConnectionOptions {
  /** The callbacks that handle every connection. */
  service: WebSocketService
  /** Sub-protocols the service speaks; the first one the client offers that is in this list is chosen. @defaultValue [] */
  subProtocols?: readonly string[]
  /** Origins (`https://app.example.com`) allowed to connect; others get 403. Requests without an `Origin` header (non-browser clients) pass. @defaultValue undefined (any origin) */
  allowedOrigins?: readonly string[]
  /** Open connections at most; an upgrade beyond the cap gets 503. @defaultValue 10000 */
  maxConnections?: number
}

/** TLS options of a listener (`key`/`cert` or `pfx`, and for mutual TLS `ca`, `requestCert`, `rejectUnauthorized`). */
export type ListenerSecureSocket = TlsOptions

/** Options of a {@link WebSocketListener}. */
export interface WebSocketListenerOptions extends WebSocketUpgradeOptions {
  /** TCP port; 0 lets the OS pick (read it from `listener.port`). */
  port: number
  /** Address to bind. @defaultValue Node's default (all interfaces) */
  host?: string
  /** Accept upgrades on this path only; others get 404. @defaultValue undefined (any path) */
  path?: string
  /** Serve `wss:` with these TLS options. @defaultValue undefined (plain `ws:`) */
  secureSocket?: ListenerSecureSocket
}

/** Reconnection after an unexpected close or a failed attempt: delays `interval`, `interval × backOffFactor`, … up to `maxInterval`. */
export interface RetryOptions {
  /** Attempts per outage before giving up; 0 retries without end. @defaultValue 0 */
  maxCount?: number
  /** First delay in ms. @defaultValue 1000 */
  interval?: number
  /** Each delay is the previous one times this (≥ 1). @defaultValue 1 */
  backOffFactor?: number
  /** Largest delay in ms. @defaultValue 30000 */
  maxInterval?: number
}

/** TLS options of a client: plain Node TLS options. */
export type ClientSecureSocket = Pick<
  TlsConnectionOptions,
  | 'ca'
  | 'cert'
  | 'key'
  | 'pfx'
  | 'passphrase'
  | 'rejectUnauthorized'
  | 'servername'
  | 'minVersion'
  | 'maxVersion'
  | 'ciphers'
  | 'checkServerIdentity'
>

/** Options of a {@link WebSocketClient}. */
export interface WebSocketClientOptions extends ConnectionOptions {
  /** The callbacks that handle the connection; the client itself is their caller. @defaultValue {} */
  callbackService?: WebSocketService
  /** Sub-protocols to offer, most wanted first. @defaultValue [] */
  subProtocols?: readonly string[]
  /** Extra headers of the handshake request. @defaultValue {} */
  customHeaders?: Readonly<Record<string, string>>
  /** Start reading messages as soon as the connection opens; `false` waits for `client.ready()`. @defaultValue true */
  readyOnConnect?: boolean
  /** Reconnect after failures and unexpected closes. @defaultValue undefined (no reconnection) */
  retry?: RetryOptions
  /** TLS options for `wss:` URLs. @defaultValue Node's defaults */
  secureSocket?: ClientSecureSocket
  /** How long the opening handshake may take, in ms. @defaultValue 10000 */
  handshakeTimeout?: number
}

/** Connection options with defaults applied. */
export interface ResolvedConnectionOptions {
  readonly maxMessageSize: number
  readonly autoPong: boolean
  readonly heartbeatInterval: number
  readonly idleTimeout: number
  readonly closeTimeout: number
  readonly perMessageDeflate: false | Record<string, unknown>
  readonly clock: Clock
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function invalid(name: string, expected: string): WebSocketError {
  return new WebSocketError('X_ERR_WEBSOCKET_INVALID_OPTION', `option ${name} must be ${expected}`)
}

/** Throws when `options` is not an object or names a key outside `allowed`. */
export function checkKeys(options: unknown, allowed: ReadonlySet<string>, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalid(what, 'an object')
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) throw invalid(key, `one of the known options of ${what}`)
  }
}

export function integer(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `an integer from ${min} to ${max}`)
  }
  return value
}

export function finite(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(name, `a finite number ≥ ${min}`)
  }
  return value
}

export function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean')
  return value
}

export function subProtocolList(value: unknown, name: string): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(name, 'an array of tokens')
  const seen = new Set<string>()
  for (const p of value) {
    if (typeof p !== 'string' || !TOKEN.test(p) || seen.has(p))
      throw invalid(name, 'an array of distinct tokens')
    seen.add(p)
  }
  return Object.freeze([...value] as string[])
}

export function serviceObject(value: unknown, name: string): WebSocketService {
  if (typeof value !== 'object' || value === null) throw invalid(name, 'an object of callbacks')
  for (const key of [
    'onOpen',
    'onText',
    'onBinary',
    'onPing',
    'onPong',
    'onIdleTimeout',
    'onClose',
    'onError',
  ] as const) {
    const fn = (value as Record<string, unknown>)[key]
    if (fn !== undefined && typeof fn !== 'function') throw invalid(`${name}.${key}`, 'a function')
  }
  return value as WebSocketService
}

function clockObject(value: unknown): Clock {
  if (value === undefined) return systemClock
  const c = value as Partial<Clock> | null
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw invalid('clock', 'an object with now(), setTimeout() and clearTimeout()')
  }
  return c as Clock
}

const DEFLATE_KEYS = new Set([
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'level',
  'memLevel',
  'concurrencyLimit',
])

/** Translates our permessage-deflate options into ws's. */
function deflate(value: unknown): false | Record<string, unknown> {
  if (value === undefined || value === false) return false
  if (value === true) return {}
  checkKeys(value, DEFLATE_KEYS, 'perMessageDeflate')
  const d = value as PerMessageDeflateOptions
  const out: Record<string, unknown> = {}
  if (d.serverNoContextTakeover !== undefined)
    out.serverNoContextTakeover = bool(
      d.serverNoContextTakeover,
      'perMessageDeflate.serverNoContextTakeover',
      false,
    )
  if (d.clientNoContextTakeover !== undefined)
    out.clientNoContextTakeover = bool(
      d.clientNoContextTakeover,
      'perMessageDeflate.clientNoContextTakeover',
      false,
    )
  if (d.serverMaxWindowBits !== undefined)
    out.serverMaxWindowBits = integer(
      d.serverMaxWindowBits,
      'perMessageDeflate.serverMaxWindowBits',
      8,
      15,
      15,
    )
  if (d.clientMaxWindowBits !== undefined)
    out.clientMaxWindowBits = integer(
      d.clientMaxWindowBits,
      'perMessageDeflate.clientMaxWindowBits',
      8,
      15,
      15,
    )
  if (d.threshold !== undefined)
    out.threshold = integer(d.threshold, 'perMessageDeflate.threshold', 0, Number.MAX_SAFE_INTEGER, 1024)
  if (d.concurrencyLimit !== undefined)
    out.concurrencyLimit = integer(d.concurrencyLimit, 'perMessageDeflate.concurrencyLimit', 1, 1024, 10)
  const zlib: Record<string, number> = {}
  if (d.level !== undefined) zlib.level = integer(d.level, 'perMessageDeflate.level', 0, 9, 6)
  if (d.memLevel !== undefined) zlib.memLevel = integer(d.memLevel, 'perMessageDeflate.memLevel', 1, 9, 8)
  if (Object.keys(zlib).length > 0) out.zlibDeflateOptions = zlib
  return out
}

export const CONNECTION_KEYS = [
  'maxMessageSize',
  'autoPong',
  'heartbeat',
  'idleTimeout',
  'closeTimeout',
  'perMessageDeflate',
  'clock',
] as const

const MAX_TIMER = 2 ** 31 - 1

/** Validates and applies defaults to the options every connection shares. */
export function resolveConnectionOptions(o: ConnectionOptions): ResolvedConnectionOptions {
  let heartbeatInterval = 30_000
  if (o.heartbeat === false) heartbeatInterval = 0
  else if (o.heartbeat !== undefined) {
    checkKeys(o.heartbeat, new Set(['interval']), 'heartbeat')
    heartbeatInterval = integer(o.heartbeat.interval, 'heartbeat.interval', 1, MAX_TIMER, 30_000)
  }
  return Object.freeze({
    maxMessageSize: integer(o.maxMessageSize, 'maxMessageSize', 1, 2 ** 32, 1024 * 1024),
    autoPong: bool(o.autoPong, 'autoPong', true),
    heartbeatInterval,
    idleTimeout: integer(o.idleTimeout, 'idleTimeout', 0, MAX_TIMER, 0),
    closeTimeout: integer(o.closeTimeout, 'closeTimeout', 1, MAX_TIMER, 30_000),
    perMessageDeflate: deflate(o.perMessageDeflate),
    clock: clockObject(o.clock),
  })
}

/** Normalises an origin for comparison with a request's `Origin` header. */
export function originList(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw invalid('allowedOrigins', 'an array of origins')
  const out = new Set<string>()
  for (const o of value) {
    let origin: string
    try {
      origin = new URL(String(o)).origin
    } catch {
      throw invalid('allowedOrigins', 'an array of origins like https://app.example.com')
    }
    if (typeof o !== 'string' || origin === 'null') {
      throw invalid('allowedOrigins', 'an array of origins like https://app.example.com')
    }
    out.add(origin)
  }
  return out
}

export { invalid as invalidOption, MAX_TIMER }
