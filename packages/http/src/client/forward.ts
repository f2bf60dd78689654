// forward(): turns a request a server received (node:http IncomingMessage, an HTTP/2
// compatibility request, or the Listener's HTTP/2 request) into an outbound one: same method,
// headers and body, minus hop-by-hop fields (RFC 9110 §7.6.1), plus Forwarded (RFC 7239).
import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import { PassThrough, type Readable } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { Http2Request } from '../listener/http2-adapter.js'
import { REQUEST_LINK, type RequestIdLink } from '../listener/request-id.js'
import type { ForwardedPolicy } from './options.js'

/** A request received by a server: what `forward()` accepts (`ctx.request` under either protocol). */
export type InboundRequest = IncomingMessage | Http2ServerRequest | Http2Request

// Hop-by-hop fields (RFC 9110 §7.6.1, RFC 9113 §8.2.2), and Host, which names this hop's
// authority; plus Expect, which undici does not send.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
  'expect',
])

export interface ForwardedRequest {
  method: string
  headers: string[]
  body: IncomingMessage | Http2ServerRequest | Readable | null
  hasBody: boolean
}

/** RFC 7239 §6: an IPv6 address is quoted and bracketed; other values are quoted when not tokens. */
function node(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  if (address.startsWith('::ffff:') && address.includes('.')) address = address.slice(7)
  return address.includes(':') ? `"[${address}]"` : address
}

function quoted(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`
}

function element(inbound: InboundRequest, host: string | undefined): string {
  const socket = inbound.socket as TLSSocket | undefined
  const proto = socket?.encrypted === true ? 'https' : 'http'
  let out = `for=${node(socket?.remoteAddress)};by=${node(socket?.localAddress)}`
  if (host !== undefined && host !== '') out += `;host=${quoted(host)}`
  return `${out};proto=${proto}`
}

/** Builds the Forwarded value from X-Forwarded-For/-Proto/-Host (for `transition`). */
function fromXForwarded(
  fwdFor: string | undefined,
  proto: string | undefined,
  host: string | undefined,
): string[] {
  if (fwdFor === undefined) return []
  const hops = fwdFor
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  return hops.map((address, i) => {
    let e = `for=${node(address)}`
    if (i === 0 && host !== undefined) e += `;host=${quoted(host.trim())}`
    if (i === 0 && proto !== undefined) e += `;proto=${quoted(proto.trim().toLowerCase())}`
    return e
  })
}

/** The outbound method, headers and body for `inbound`, under the Forwarded `policy`. */
export function forwardedRequest(inbound: InboundRequest, policy: ForwardedPolicy): ForwardedRequest {
  const raw = inbound.rawHeaders
  const connectionTokens = new Set<string>()
  let host: string | undefined
  let forwarded: string | undefined
  let xFor: string | undefined
  let xProto: string | undefined
  let xHost: string | undefined
  let contentLength = false
  let chunked = false
  const cookies: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const value = raw[i + 1]!
    if (name === 'connection') {
      for (const t of value.split(',')) connectionTokens.add(t.trim().toLowerCase())
    } else if (name === 'host' || name === ':authority') host ??= value
    else if (name === 'forwarded') forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`
    else if (name === 'x-forwarded-for') xFor = xFor === undefined ? value : `${xFor}, ${value}`
    else if (name === 'x-forwarded-proto') xProto ??= value
    else if (name === 'x-forwarded-host') xHost ??= value
    else if (name === 'content-length') contentLength = true
    else if (name === 'transfer-encoding') chunked = true
  }
  const transition = policy === 'transition' && forwarded === undefined
  const headers: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    if (lower.startsWith(':') || HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) continue
    if (policy !== 'disable' && lower === 'forwarded') continue
    if (transition && lower.startsWith('x-forwarded-')) continue
    // HTTP/2 may split Cookie into several fields; HTTP/1.1 wants one (RFC 9113 §8.2.3).
    if (lower === 'cookie') {
      cookies.push(raw[i + 1]!)
      continue
    }
    headers.push(name, raw[i + 1]!)
  }
  if (cookies.length > 0) headers.push('cookie', cookies.join('; '))
  // A request the Listener received carries its exchange's id on: the one in the logs, which
  // replaces whatever the client sent (it may have been refused as unsafe to log).
  const link = (inbound as unknown as Record<symbol, RequestIdLink | undefined>)[REQUEST_LINK]
  const id = link?.requestId
  const idHeader = link?.requestIdHeader
  if (id !== undefined && idHeader !== undefined) {
    for (let i = headers.length - 2; i >= 0; i -= 2)
      if (headers[i]!.toLowerCase() === idHeader) headers.splice(i, 2)
    headers.push(idHeader, id)
  }
  if (policy !== 'disable') {
    const elements: string[] = []
    if (forwarded !== undefined) elements.push(forwarded)
    else if (transition) elements.push(...fromXForwarded(xFor, xProto, xHost))
    elements.push(element(inbound, host))
    headers.push('forwarded', elements.join(', '))
  }
  const method = inbound.method ?? 'GET'
  const endAfterHeaders = (inbound as Http2ServerRequest).stream?.endAfterHeaders === true
  const hasBody = contentLength || chunked || (inbound.httpVersionMajor === 2 && !endAfterHeaders)
  const body = hasBody ? (inbound instanceof Http2Request ? streamBody(inbound) : inbound) : null
  return { method, headers, body, hasBody }
}

/**
 * The body of the Listener's HTTP/2 request as a Readable of its own: undici destroys a body
 * once it has sent it, and destroying the HTTP/2 stream itself would also end the response.
 */
function streamBody(inbound: Http2Request): Readable {
  const stream = inbound.stream
  const out = new PassThrough()
  stream.pipe(out)
  stream.once('close', () => {
    if (!stream.readableEnded) out.destroy(new Error('the client stopped sending the body'))
  })
  return out
}
