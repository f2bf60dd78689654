// Connections through an HTTP proxy. https targets: a CONNECT tunnel, then TLS to the target
// over it. http targets: a plain connection to the proxy; the pool then writes requests in
// absolute form. One connect timeout covers proxy, tunnel and TLS handshake.
import { request as httpRequest } from 'node:http'
import type { Socket } from 'node:net'
import { type buildConnector, errors } from 'undici'
import { ClientPoolError } from '../errors.js'
import type { ResolvedProxy } from '../options.js'

type Connector = buildConnector.connector
type ConnectOptions = buildConnector.Options

/** Opens a CONNECT tunnel to `opts`' host through `proxy`, then hands it to `tlsConnect`. */
export function tunnelConnector(
  proxy: ResolvedProxy,
  connectTimeout: number,
  tlsConnect: Connector,
): Connector {
  return (opts: ConnectOptions, callback: buildConnector.Callback) => {
    const port =
      opts.port === '' || opts.port === undefined ? (opts.protocol === 'https:' ? '443' : '80') : opts.port
    const hostname = opts.hostname.includes(':') ? `[${opts.hostname}]` : opts.hostname
    const authority = `${hostname}:${port}`
    const origin = `${opts.protocol}//${authority}`
    let done = false
    const finish = (err: Error | null, socket: Socket | null) => {
      if (done) {
        if (socket !== null) socket.destroy()
        return
      }
      done = true
      clearTimeout(timer)
      if (err !== null) callback(err, null)
      else callback(null, socket as Socket)
    }
    const headers: Record<string, string> = { host: authority }
    if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization
    const req = httpRequest({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      setHost: false,
    })
    const timer = setTimeout(() => {
      req.destroy()
      finish(new errors.ConnectTimeoutError(`proxy tunnel to ${authority} timed out`), null)
    }, connectTimeout)
    req.once('error', (err) => finish(err, null))
    req.once('response', (res) => {
      // A proxy that answers CONNECT with a regular response (not 'connect'): refuse.
      res.resume()
      req.destroy()
      finish(
        new ClientPoolError('X_ERR_POOL_PROXY_CONNECT', `proxy answered CONNECT with ${res.statusCode}`, {
          origin,
          ...(res.statusCode === undefined ? {} : { statusCode: res.statusCode }),
        }),
        null,
      )
    })
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        finish(
          new ClientPoolError('X_ERR_POOL_PROXY_CONNECT', `proxy answered CONNECT with ${res.statusCode}`, {
            origin,
            ...(res.statusCode === undefined ? {} : { statusCode: res.statusCode }),
          }),
          null,
        )
        return
      }
      if (head.length > 0) socket.unshift(head)
      if (done) {
        socket.destroy()
        return
      }
      if (opts.protocol !== 'https:') {
        finish(null, socket)
        return
      }
      tlsConnect({ ...opts, httpSocket: socket }, (err, tlsSocket) => {
        if (err !== null) {
          socket.destroy()
          finish(err, null)
        } else finish(null, tlsSocket)
      })
    })
    req.end()
  }
}

/** Connects to the proxy itself; requests on it are written in absolute form. */
export function forwardConnector(proxy: ResolvedProxy, base: Connector): Connector {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host
  return (opts: ConnectOptions, callback: buildConnector.Callback) => {
    base(
      {
        ...opts,
        protocol: 'http:',
        hostname: proxy.host,
        host: `${host}:${proxy.port}`,
        port: String(proxy.port),
      },
      callback,
    )
  }
}
