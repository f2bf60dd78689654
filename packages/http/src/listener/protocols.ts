// HTTP/2 next to HTTP/1.1 on the Listener's one port: ALPN picks the protocol on TLS, the
// connection preface does in cleartext (h2c with prior knowledge). Owns the node:http2
// sessions, their limits and their part in stopping; requests go to the pipeline as usual.

import { channel } from 'node:diagnostics_channel'
import type { Server as HttpServer } from 'node:http'
import {
  constants,
  createServer as createHttp2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2'
import type { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { Http2Request, Http2Response, RESET_HERE } from './http2-adapter.js'
import type { ResolvedHttp2, ResolvedOptions } from './options.js'
import type { Dispatcher } from './pipeline.js'
import { raise, rawProblemResponse } from './problem.js'

const protocolChannel = channel('x:http:listener-protocol')
const sessionErrorChannel = channel('x:http:listener-session-error')

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_SETTINGS_TIMEOUT } = constants

/** How long a connection closed gracefully may wait for the client to close its side, in ms. */
const LINGER_MS = 2_000

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

/** Why the Listener closed a session itself (published on `x:http:listener-session-error`). */
class SessionLimitError extends Error {
  override readonly name = 'SessionLimitError'
  constructor(
    readonly code: 'ERR_HTTP2_SETTINGS_TIMEOUT' | 'ERR_HTTP2_RESET_FLOOD',
    message: string,
  ) {
    super(message)
  }
}

/** What the Listener keeps per session, on the session object itself. */
interface SessionState {
  /** The connection's own socket (`session.socket` is a proxy that cannot be destroyed). */
  readonly socket: Socket
  /** Streams open now: the idle sweep leaves a session with open streams alone. */
  open: number
  /** A stream opened since the last sweep. */
  active: boolean
  /** How long the session has been idle, as the sweeps counted it (ms). */
  idleMs: number
  /** Set once the idle sweep closed the session (GOAWAY); the socket is cut off after LINGER_MS. */
  linger: NodeJS.Timeout | undefined
  /** The reset token bucket: tokens left, and when it was last refilled (ms). */
  tokens: number
  refilled: number
}

const STATE = Symbol('x.http.session')
const SESSION = Symbol('x.http.streamSession')
type TrackedSession = ServerHttp2Session & { [STATE]?: SessionState }
type TrackedStream = ServerHttp2Stream & { [SESSION]?: TrackedSession; [RESET_HERE]?: true }

type ConnectionListener = (socket: Socket) => void

/** What the Listener needs to stop the HTTP/2 side. */
export interface Http2Front {
  /** Live sessions. */
  readonly sessions: ReadonlySet<ServerHttp2Session>
  /**
   * Graceful: GOAWAY on every session (streams in flight finish, new ones are refused so the
   * client retries them elsewhere) and connections not yet classified are closed. Immediate:
   * every session is destroyed.
   */
  stop(graceful: boolean): void
}

/**
 * Makes `server` (node:http, or node:https for TLS) serve HTTP/2 as well: its connection
 * listener is replaced by one that hands each connection to Node's HTTP/1.1 handling or to a
 * node:http2 server that never listens itself.
 */
export function serveHttp2(
  server: HttpServer | HttpsServer,
  secure: boolean,
  options: ResolvedOptions,
  dispatcher: Dispatcher,
): Http2Front {
  const o = options.http2
  const maxHeaderListSize = o.maxHeaderListSize
  const maxHeaderCount = options.maxHeaderCount
  const h2 = createHttp2Server({
    settings: {
      maxConcurrentStreams: o.maxConcurrentStreams,
      initialWindowSize: o.initialWindowSize,
      maxFrameSize: o.maxFrameSize,
      maxHeaderListSize,
      headerTableSize: o.headerTableSize,
    },
    maxSessionInvalidFrames: o.maxSessionInvalidFrames,
    maxSessionRejectedStreams: o.maxSessionRejectedStreams,
    // Node refuses a stream with more fields than this; a few above the Listener's own limit
    // (plus the pseudo-header fields) so that limit answers 431 first.
    maxHeaderListPairs: options.maxHeaderCount + 8,
    maxSessionMemory: o.maxSessionMemory,
    maxOutstandingPings: o.maxOutstandingPings,
    maxSettings: o.maxSettings,
  } as Parameters<typeof createHttp2Server>[0])

  const sessions = new Set<ServerHttp2Session>()
  const undecided = new Set<Socket>()
  let stopping = false
  /** The socket being handed to node:http2, which creates its session synchronously. */
  let handing: Socket | undefined

  /**
   * 'close' of a stream: one fewer open. A stream that closed before its response was handed
   * over whole was reset (by the client, whatever code it used): that costs a token.
   */
  function onStreamClose(this: TrackedStream): void {
    // node:http2 has let go of `stream.session` by the time 'close' is emitted.
    const session = this[SESSION]
    const state = session?.[STATE]
    if (state === undefined) return
    state.open--
    if (!this.writableFinished && this[RESET_HERE] !== true) takeResetToken(session!, state, o)
  }

  h2.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => {
      const session = stream.session as TrackedSession | undefined
      const state = session?.[STATE]
      if (state !== undefined) {
        state.open++
        state.active = true
        ;(stream as TrackedStream)[SESSION] = session as TrackedSession
        // 'close' comes once: on() spares the wrapper once() allocates per stream.
        stream.on('close', onStreamClose)
      }
      // The header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2):
      // node:http2 advertises the limit but does not hold clients to it. The field count
      // leaves out the pseudo-header fields, so both protocols count the same fields.
      let size = 0
      let pseudo = 0
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!
        if (name.charCodeAt(0) === 58 /* : */) pseudo++
        size += name.length + raw[i + 1]!.length + 32
      }
      const socket = state === undefined ? (session?.socket as Socket) : state.socket
      const req = new Http2Request(stream, headers, raw, socket)
      const res = new Http2Response(stream, req)
      if (size > maxHeaderListSize || raw.length / 2 - pseudo > maxHeaderCount) {
        const detail =
          size > maxHeaderListSize
            ? 'the request headers are too large'
            : 'the request has too many header fields'
        dispatcher.rejectRequest(req as never, res as never, raise('X_ERR_HTTP_HEADERS_TOO_LARGE', detail))
        return
      }
      dispatcher.onRequest(req as never, res as never)
    },
  )

  h2.on('session', (session: TrackedSession) => {
    sessions.add(session)
    const socket = handing ?? (session.socket as Socket)
    const state: SessionState = {
      socket,
      open: 0,
      active: false,
      idleMs: 0,
      linger: undefined,
      tokens: o.streamResetBurst,
      refilled: Date.now(),
    }
    session[STATE] = state
    if (o.connectionWindowSize > 65_535) session.setLocalWindowSize(o.connectionWindowSize)
    let settingsTimer: NodeJS.Timeout | undefined
    if (o.settingsTimeout > 0) {
      // RFC 9113 §6.5.3: a peer that does not acknowledge our SETTINGS in time is a
      // connection error SETTINGS_TIMEOUT. This also drops clients that never send a preface.
      settingsTimer = setTimeout(() => {
        if (session.destroyed) return
        const error = new SessionLimitError(
          'ERR_HTTP2_SETTINGS_TIMEOUT',
          'the client did not acknowledge the SETTINGS frame in time',
        )
        session.destroy(error, NGHTTP2_SETTINGS_TIMEOUT)
      }, o.settingsTimeout)
      session.once('localSettings', () => clearTimeout(settingsTimer))
    }
    session.once('close', () => {
      clearTimeout(settingsTimer)
      clearTimeout(state.linger)
      sessions.delete(session)
    })
    if (stopping) session.close()
  })
  h2.on('sessionError', (error: Error, session: ServerHttp2Session) => {
    if (sessionErrorChannel.hasSubscribers) sessionErrorChannel.publish({ error, session })
  })

  // Idle HTTP/2 connections are found by a sweep rather than a timer per session, which
  // node:http2 would refresh on every frame of every request.
  let sweeper: NodeJS.Timeout | undefined
  const keepAlive = options.keepAliveTimeout
  if (keepAlive > 0) {
    const tick = Math.max(25, Math.min(1_000, Math.floor(keepAlive / 4)))
    sweeper = setInterval(() => {
      for (const session of sessions) sweep(session as TrackedSession, tick, keepAlive)
    }, tick)
    sweeper.unref()
  }

  const toHttp2 = (socket: Socket, protocol: 'h2' | 'h2c'): void => {
    if (protocolChannel.hasSubscribers) protocolChannel.publish({ socket, protocol })
    // node:http keeps half-open sockets (it ends them itself); HTTP/2 has no use for one, and
    // a client that sent FIN in the middle of a frame would otherwise keep its socket here.
    socket.allowHalfOpen = false
    handing = socket
    try {
      h2.emit('connection', socket)
    } finally {
      handing = undefined
    }
  }

  const event = secure ? 'secureConnection' : 'connection'
  const [http1] = server.listeners(event) as ConnectionListener[]
  if (http1 === undefined) throw new TypeError(`node:http registered no ${event} listener`)
  server.removeListener(event, http1)
  const toHttp1 = (socket: Socket): void => {
    if (protocolChannel.hasSubscribers) protocolChannel.publish({ socket, protocol: 'http/1.1' })
    http1.call(server, socket)
  }

  if (secure) {
    server.on(event, (socket: TLSSocket) => {
      // @x/tls's `optional` client check may have refused the connection already.
      if (socket.destroyed) return
      if (socket.alpnProtocol === 'h2') toHttp2(socket, 'h2')
      else if (o.allowHTTP1) toHttp1(socket)
      else socket.destroy()
    })
  } else if (!o.allowHTTP1) {
    server.on(event, (socket: Socket) => toHttp2(socket, 'h2c'))
  } else {
    server.on(event, (socket: Socket) => {
      if (stopping) {
        socket.destroy()
        return
      }
      undecided.add(socket)
      sniff(socket, options.headersTimeout, (decided, http2) => {
        undecided.delete(decided)
        if (stopping) decided.destroy()
        else if (http2) toHttp2(decided, 'h2c')
        else {
          toHttp1(decided)
          // Node's HTTP/1.1 parser reads from the handle; what was put back must be flushed to it.
          decided.resume()
        }
      })
    })
  }

  return {
    sessions,
    stop(graceful: boolean): void {
      stopping = true
      clearInterval(sweeper)
      for (const socket of undecided) socket.destroy()
      undecided.clear()
      for (const session of sessions) {
        if (graceful) session.close()
        else session.destroy()
      }
    },
  }
}

/**
 * One sweep over a session: idle means no stream open and none opened for `keepAlive` ms.
 * This also closes a session node:http2 gave up on after a connection error: Node 20 sends
 * GOAWAY and stops reading, but leaves the socket open. A graceful close waits for the client
 * to close its side; one that never does is cut off after LINGER_MS.
 */
function sweep(session: TrackedSession, tick: number, keepAlive: number): void {
  const state = session[STATE]
  if (state === undefined || state.linger !== undefined) return
  if (state.open > 0 || state.active) {
    state.active = false
    state.idleMs = 0
    return
  }
  state.idleMs += tick
  if (state.idleMs < keepAlive) return
  session.close()
  const socket = state.socket
  state.linger = setTimeout(() => socket.destroy(), LINGER_MS)
  state.linger.unref()
}

/**
 * A stream the client reset before its response went out takes a token; with none left the session is
 * closed with GOAWAY ENHANCE_YOUR_CALM. Node 20's own limit (nghttp2's) answers GOAWAY but
 * leaves the connection open and unread, so this one sits below it and closes the socket.
 */
function takeResetToken(session: ServerHttp2Session, state: SessionState, o: ResolvedHttp2): void {
  const now = Date.now()
  const refill = ((now - state.refilled) * o.streamResetRate) / 1000
  if (refill >= 1) {
    state.tokens = Math.min(o.streamResetBurst, state.tokens + Math.floor(refill))
    state.refilled = now
  }
  if (--state.tokens >= 0 || session.destroyed) return
  const error = new SessionLimitError('ERR_HTTP2_RESET_FLOOD', 'the client reset streams faster than allowed')
  session.destroy(error, NGHTTP2_ENHANCE_YOUR_CALM)
}

/**
 * Reads the first bytes of a cleartext connection until they either are the HTTP/2 preface
 * or cannot be (the preface may come split over packets), puts them back, and calls
 * `decide`. A client that sends nothing within `timeout` ms is answered 408 and closed, as
 * Node does for HTTP/1.1; one that closes its side first is dropped.
 */
function sniff(socket: Socket, timeout: number, decide: (socket: Socket, http2: boolean) => void): void {
  let buffered: Buffer | undefined
  let timer: NodeJS.Timeout | undefined
  const cleanup = (): void => {
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', cleanup)
  }
  // Until HTTP/1.1 or HTTP/2 takes the socket over (each with its own handler), a reset must
  // not become an uncaught 'error'.
  const onError = (): void => {
    cleanup()
    socket.destroy()
  }
  const finish = (http2: boolean): void => {
    cleanup()
    socket.off('error', onError)
    socket.pause()
    if (buffered !== undefined) socket.unshift(buffered)
    decide(socket, http2)
  }
  const onData = (chunk: Buffer): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk])
    const n = Math.min(buffered.length, PREFACE.length)
    if (buffered.compare(PREFACE, 0, n, 0, n) !== 0) finish(false)
    else if (n === PREFACE.length) finish(true)
  }
  const onEnd = (): void => {
    cleanup()
    socket.destroy()
  }
  timer = setTimeout(() => {
    cleanup()
    if (buffered === undefined && socket.writable) {
      socket.end(rawProblemResponse('X_ERR_HTTP_REQUEST_TIMEOUT', 'the request was not received in time'))
      socket.setTimeout(2_000, () => socket.destroy())
    } else socket.destroy()
  }, timeout)
  socket.on('error', onError)
  socket.on('data', onData)
  socket.once('end', onEnd)
  socket.once('close', cleanup)
}
