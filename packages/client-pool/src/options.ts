// Pool options, their defaults, and their validation. Everything is checked once, at
// construction, so a bad value is a coded error there and never a surprise on a request.
import type { ConnectionOptions } from 'node:tls'
import type { buildConnector } from 'undici'
import { ClientPoolError } from './errors.js'

/**
 * What to do with connections after a response. `AUTO`: keep them alive unless a request
 * carries `Connection: close`; `ALWAYS`: keep them alive and drop a request's `Connection`
 * header; `NEVER`: send `Connection: close` and open a new connection for each request.
 * HTTP/2 connections are always kept (the policy is an HTTP/1.1 concept).
 */
export type KeepAlivePolicy = 'AUTO' | 'ALWAYS' | 'NEVER'

/** `'2'` offers h2 through ALPN on https origins and falls back to HTTP/1.1; http origins always use HTTP/1.1. */
export type HttpVersion = '1.1' | '2'

/** An HTTP proxy: CONNECT tunnels for https targets, absolute-form requests for http targets. */
export interface ProxyOptions {
  /** Host name or IP address of the proxy. */
  host: string
  /** TCP port of the proxy. */
  port: number
  /** User for `Proxy-Authorization: Basic`; must not contain `:`. */
  userName?: string
  /** Password for `Proxy-Authorization: Basic`. */
  password?: string
}

/** TLS settings for https origins: the `node:tls` connect options (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`, ...). */
export type PoolTlsOptions = Omit<ConnectionOptions, 'ALPNProtocols' | 'socket' | 'host' | 'port' | 'path'>

/** Options of {@link ClientPool}. Times are milliseconds. */
export interface ClientPoolOptions {
  /**
   * Hard cap on open connections per origin. More concurrent requests wait for a free
   * connection (see `waitTime`).
   * @defaultValue Infinity
   */
  maxActiveConnections?: number
  /**
   * How long a request may wait for a free connection before it fails with
   * `X_ERR_POOL_WAIT_TIMEOUT`; `0` fails at once, `Infinity` waits without limit.
   * @defaultValue 30000
   */
  waitTime?: number
  /**
   * A connection idle this long is closed. A server's `Keep-Alive: timeout=N` hint can
   * shorten this for its connections, never lengthen it.
   * @defaultValue 30000
   */
  idleTimeout?: number
  /** @defaultValue 'AUTO' */
  keepAlive?: KeepAlivePolicy
  /** @defaultValue '1.1' */
  httpVersion?: HttpVersion
  /**
   * Concurrent requests on one HTTP/2 connection before the pool opens another one.
   * @defaultValue 100
   */
  maxActiveStreamsPerConnection?: number
  /**
   * Time to open a connection, TLS handshake and proxy tunnel included.
   * @defaultValue 10000
   */
  connectTimeout?: number
  /**
   * Time from sending a request to the end of the response headers; `0` disables it.
   * @defaultValue 300000
   */
  headersTimeout?: number
  /**
   * Longest pause between two chunks of a response body; `0` disables it.
   * @defaultValue 300000
   */
  bodyTimeout?: number
  /**
   * Largest response head, in bytes.
   * @defaultValue 16384
   */
  maxHeaderSize?: number
  /**
   * Largest response body on the wire, in bytes (before any decoding); `Infinity` for none.
   * @defaultValue Infinity
   */
  maxResponseSize?: number
  /** TLS settings for https origins. */
  tls?: PoolTlsOptions
  /**
   * Replaces the socket connector (for example one that checks certificate revocation). It
   * receives undici's connect options, with `allowH2` set when `httpVersion` is `'2'`.
   */
  connector?: buildConnector.connector
  /** Send every request through this HTTP proxy. */
  proxy?: ProxyOptions
}

/** Options after defaults and validation. */
export interface ResolvedPoolOptions {
  readonly maxActiveConnections: number
  readonly waitTime: number
  readonly idleTimeout: number
  readonly keepAlive: KeepAlivePolicy
  readonly httpVersion: HttpVersion
  readonly maxActiveStreamsPerConnection: number
  readonly connectTimeout: number
  readonly headersTimeout: number
  readonly bodyTimeout: number
  readonly maxHeaderSize: number
  readonly maxResponseSize: number
  readonly tls: PoolTlsOptions | undefined
  readonly connector: buildConnector.connector | undefined
  readonly proxy: ResolvedProxy | undefined
}

/** A validated proxy, with its `Proxy-Authorization` value worked out once. */
export interface ResolvedProxy {
  readonly host: string
  readonly port: number
  readonly authorization: string | undefined
}

/** Node's timers overflow above this (the timer then fires at once), so no time option may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647

const KNOWN = new Set([
  'maxActiveConnections',
  'waitTime',
  'idleTimeout',
  'keepAlive',
  'httpVersion',
  'maxActiveStreamsPerConnection',
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'maxHeaderSize',
  'maxResponseSize',
  'tls',
  'connector',
  'proxy',
])

function invalid(option: string, why: string): ClientPoolError {
  return new ClientPoolError('X_ERR_POOL_INVALID_OPTION', `${option} ${why}`, { option })
}

/** An integer in [min, max], or Infinity when allowed; `fallback` when undefined. */
function count(
  options: ClientPoolOptions,
  name: keyof ClientPoolOptions,
  fallback: number,
  min: number,
  max: number,
  allowInfinity: boolean,
): number {
  const v = options[name]
  if (v === undefined) return fallback
  if (typeof v !== 'number' || Number.isNaN(v)) throw invalid(name, 'must be a number')
  if (v === Number.POSITIVE_INFINITY && allowInfinity) return v
  if (!Number.isInteger(v) || v < min || v > max) {
    throw invalid(name, `must be an integer from ${min} to ${max}${allowInfinity ? ', or Infinity' : ''}`)
  }
  return v
}

/** A time in ms: 0 up to MAX_TIMER_MS (or Infinity when allowed). */
function time(
  options: ClientPoolOptions,
  name: keyof ClientPoolOptions,
  fallback: number,
  min: number,
  allowInfinity: boolean,
): number {
  return count(options, name, fallback, min, MAX_TIMER_MS, allowInfinity)
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

function resolveProxy(proxy: unknown): ResolvedProxy | undefined {
  if (proxy === undefined) return undefined
  if (typeof proxy !== 'object' || proxy === null) throw invalid('proxy', 'must be an object')
  const p = proxy as Record<string, unknown>
  for (const k of Object.keys(p)) {
    if (k !== 'host' && k !== 'port' && k !== 'userName' && k !== 'password')
      throw invalid(`proxy.${k}`, 'is not an option')
  }
  const { host, port, userName, password } = p
  if (
    typeof host !== 'string' ||
    host.length === 0 ||
    host.length > 253 ||
    hasControl(host) ||
    /[\s/@?#]/.test(host)
  ) {
    throw invalid('proxy.host', 'must be a host name or IP address')
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid('proxy.port', 'must be an integer from 1 to 65535')
  }
  if (
    userName !== undefined &&
    (typeof userName !== 'string' || userName.includes(':') || hasControl(userName))
  ) {
    throw invalid('proxy.userName', 'must be a string without ":" or control characters')
  }
  if (password !== undefined && (typeof password !== 'string' || hasControl(password))) {
    throw invalid('proxy.password', 'must be a string without control characters')
  }
  if (password !== undefined && userName === undefined)
    throw invalid('proxy.password', 'needs proxy.userName')
  const authorization =
    userName === undefined
      ? undefined
      : `Basic ${Buffer.from(`${userName}:${(password as string | undefined) ?? ''}`, 'utf8').toString('base64')}`
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port, authorization }
}

/** Applies defaults and validates; throws `X_ERR_POOL_INVALID_OPTION` naming the option. */
export function resolvePoolOptions(options: ClientPoolOptions | undefined): ResolvedPoolOptions {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'must be an object')
  }
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw invalid(k, 'is not an option')

  const keepAlive = options.keepAlive ?? 'AUTO'
  if (keepAlive !== 'AUTO' && keepAlive !== 'ALWAYS' && keepAlive !== 'NEVER') {
    throw invalid('keepAlive', "must be 'AUTO', 'ALWAYS' or 'NEVER'")
  }
  const httpVersion = options.httpVersion ?? '1.1'
  if (httpVersion !== '1.1' && httpVersion !== '2') throw invalid('httpVersion', "must be '1.1' or '2'")
  const tls = options.tls
  if (tls !== undefined && (typeof tls !== 'object' || tls === null))
    throw invalid('tls', 'must be an object')
  const connector = options.connector
  if (connector !== undefined && typeof connector !== 'function')
    throw invalid('connector', 'must be a function')

  return {
    maxActiveConnections: count(
      options,
      'maxActiveConnections',
      Number.POSITIVE_INFINITY,
      1,
      1_000_000,
      true,
    ),
    waitTime: time(options, 'waitTime', 30_000, 0, true),
    idleTimeout: time(options, 'idleTimeout', 30_000, 1, false),
    keepAlive,
    httpVersion,
    maxActiveStreamsPerConnection: count(
      options,
      'maxActiveStreamsPerConnection',
      100,
      1,
      2 ** 31 - 1,
      false,
    ),
    connectTimeout: time(options, 'connectTimeout', 10_000, 1, false),
    headersTimeout: time(options, 'headersTimeout', 300_000, 0, false),
    bodyTimeout: time(options, 'bodyTimeout', 300_000, 0, false),
    maxHeaderSize: count(options, 'maxHeaderSize', 16_384, 1, 2 ** 31 - 1, false),
    maxResponseSize: count(
      options,
      'maxResponseSize',
      Number.POSITIVE_INFINITY,
      0,
      Number.MAX_SAFE_INTEGER,
      true,
    ),
    tls,
    connector,
    proxy: resolveProxy(options.proxy),
  }
}
