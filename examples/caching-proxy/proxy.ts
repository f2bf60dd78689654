// A shared caching reverse proxy built from the @x/http Listener and a Client with the cache:
// every request goes to one origin with its fields unchanged except hop-by-hop ones (RFC 9110
// §7.6.1), and is answered from the shared cache whenever RFC 9111 allows.
import {
  type CacheStore,
  Client,
  type ClientResponse,
  type Context,
  type ForwardedPolicy,
  HttpError,
  HttpResponse,
  isClientError,
  Listener,
} from '@x/http'

/** Options of {@link createCachingProxy}. */
export interface CachingProxyOptions {
  /** The origin every request goes to: `http(s)://host[:port][/base/path]`. */
  origin: string
  /** The port to listen on (0 lets the OS pick). */
  port: number
  /** The address to listen on. @defaultValue '127.0.0.1' */
  host?: string
  /** Where responses are kept; a `RedisStore` shares them between proxies. @defaultValue a MemoryStore of `capacity` entries */
  store?: CacheStore
  /** Entries of the default MemoryStore. @defaultValue 4096 */
  capacity?: number
  /** Targeted cache-control fields this proxy obeys (RFC 9213; Surrogate-Control in its own syntax). @defaultValue ['CDN-Cache-Control', 'Surrogate-Control'] */
  targets?: readonly string[]
  /** `Forwarded` handling towards the origin (the Client's `forwarded` option). @defaultValue 'disable' */
  forwarded?: ForwardedPolicy
  /** The name this proxy gives itself in `Via` (RFC 9110 §7.6.3). @defaultValue 'x-caching-proxy' */
  via?: string
  /** Time to the origin's response head, ms. @defaultValue 60000 */
  headersTimeout?: number
  /** Longest pause in the origin's body, ms. @defaultValue 60000 */
  bodyTimeout?: number
  /** The cache's clock, for tests. @defaultValue Date.now */
  now?: () => number
}

/** A started or stoppable proxy. */
export interface CachingProxy {
  readonly listener: Listener
  readonly client: Client
  /** The bound port, once started. */
  readonly port: number
  start(): Promise<void>
  /** Stops taking requests, lets running ones finish, closes the origin connections. */
  stop(): Promise<void>
}

// RFC 9110 §7.6.1: fields that describe one connection, never relayed.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** The response fields relayed to the client: all but hop-by-hop ones and those `Connection` names. */
export function relayedHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const connection = headers.connection
  let listed: Set<string> | undefined
  if (connection !== undefined) {
    listed = new Set()
    for (const line of Array.isArray(connection) ? connection : [connection])
      for (const name of line.split(',')) listed.add(name.trim().toLowerCase())
  }
  for (const name of Object.keys(headers)) {
    const v = headers[name]
    if (v === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue
    out[name] = v
  }
  return out
}

const GATEWAY_TIMEOUT = new Set([
  'X_ERR_CLIENT_DEADLINE',
  'X_ERR_CLIENT_HEADERS_TIMEOUT',
  'X_ERR_CLIENT_CONNECT_TIMEOUT',
  'X_ERR_CLIENT_WAIT_TIMEOUT',
])
const BAD_REQUEST = new Set([
  'X_ERR_CLIENT_INVALID_URL',
  'X_ERR_CLIENT_INVALID_HEADER',
  'X_ERR_CLIENT_INVALID_REQUEST',
])

/** What the client hears when the origin could not be asked: 504 for time, 400 for a request the origin must not see, else 502. */
function gatewayError(err: unknown): HttpError {
  if (isClientError(err)) {
    if (GATEWAY_TIMEOUT.has(err.code))
      return new HttpError(504, 'the origin did not answer in time', { cause: err })
    if (BAD_REQUEST.has(err.code))
      return new HttpError(400, 'the request cannot be forwarded', { cause: err })
  }
  return new HttpError(502, 'the origin could not be reached', { cause: err })
}

/** A caching reverse proxy in front of `options.origin`; call `start()`. */
export function createCachingProxy(options: CachingProxyOptions): CachingProxy {
  const via = options.via ?? 'x-caching-proxy'
  const client = new Client(options.origin, {
    // The proxy relays bodies as sent: no Accept-Encoding of its own, no decoding.
    compression: 'NEVER',
    timeout: 0,
    headersTimeout: options.headersTimeout ?? 60_000,
    bodyTimeout: options.bodyTimeout ?? 60_000,
    forwarded: options.forwarded ?? 'disable',
    cache: {
      isShared: true,
      policy: 'RFC_9111',
      targets: options.targets ?? ['CDN-Cache-Control', 'Surrogate-Control'],
      ...(options.store === undefined ? { capacity: options.capacity ?? 4096 } : { store: options.store }),
      ...(options.now === undefined ? {} : { now: options.now }),
    },
  })

  async function forward(ctx: Context): Promise<HttpResponse> {
    const req = ctx.request
    const prior = req.headers.via
    const hop = `${req.httpVersion} ${via}`
    let res: ClientResponse
    try {
      res = await client.forward(ctx.url, req, {
        signal: ctx.signal,
        headers: { via: prior === undefined ? hop : `${prior}, ${hop}` },
        informational(status, headers) {
          if (status !== 102 && status !== 103) return
          try {
            ctx.caller.informational(status, relayedHeaders(headers))
          } catch {
            // An interim response the Listener will not write is dropped; the final one follows.
          }
        },
      })
    } catch (err) {
      throw gatewayError(err)
    }
    return new HttpResponse({ status: res.status, headers: relayedHeaders(res.headers), body: res.body })
  }

  const listener = new Listener({ port: options.port, host: options.host ?? '127.0.0.1' })
  listener.attach({ basePath: '/', resources: [{ path: '/{...path}', handler: forward }] })

  return {
    listener,
    client,
    get port() {
      return listener.port
    },
    start: () => listener.start(),
    async stop() {
      await listener.gracefulStop()
      await client.close()
    },
  }
}
