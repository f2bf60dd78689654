// The package's one error class. Thrown for bad options and bad arguments; handed to
// `onError` for protocol violations, failed callbacks and failed connections.

/** Every code a {@link WebSocketError} can carry. */
export type WebSocketErrorCode =
  | 'X_ERR_WEBSOCKET_INVALID_OPTION'
  | 'X_ERR_WEBSOCKET_INVALID_ARGUMENT'
  | 'X_ERR_WEBSOCKET_NOT_OPEN'
  | 'X_ERR_WEBSOCKET_PROTOCOL_ERROR'
  | 'X_ERR_WEBSOCKET_INVALID_UTF8'
  | 'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG'
  | 'X_ERR_WEBSOCKET_TOO_MANY_FRAGMENTS'
  | 'X_ERR_WEBSOCKET_SOCKET_ERROR'
  | 'X_ERR_WEBSOCKET_CALLBACK_FAILED'
  | 'X_ERR_WEBSOCKET_CONNECT_FAILED'
  | 'X_ERR_WEBSOCKET_RETRY_EXHAUSTED'
  | 'X_ERR_WEBSOCKET_CLOSED'
  | 'X_ERR_WEBSOCKET_LISTEN_FAILED'

const brand = Symbol.for('x.error.websocket')

/** Details a {@link WebSocketError} may carry besides its code. */
export interface WebSocketErrorDetails {
  cause?: unknown
  /** The close code sent to the peer because of this error (1002, 1007, 1008, 1009). */
  closeCode?: number
  /** The HTTP status of a refused client handshake. */
  statusCode?: number
  /** The service callback that threw or rejected. */
  callback?: string
  /** How many connection attempts were made. */
  attempts?: number
}

/** A WebSocket failure; `code` says which, and the fields below say more where they apply. */
export class WebSocketError extends Error {
  override readonly name = 'WebSocketError'
  readonly code: WebSocketErrorCode
  readonly closeCode: number | undefined
  readonly statusCode: number | undefined
  readonly callback: string | undefined
  readonly attempts: number | undefined

  constructor(code: WebSocketErrorCode, message: string, details: WebSocketErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.closeCode = details.closeCode
    this.statusCode = details.statusCode
    this.callback = details.callback
    this.attempts = details.attempts
  }

  get [brand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }
}

/** True when `value` is a {@link WebSocketError} (from any copy of this package), optionally with the given code. */
export function isWebSocketError(value: unknown, code?: WebSocketErrorCode): value is WebSocketError {
  return value instanceof WebSocketError && (code === undefined || value.code === code)
}

/** Classifies an error ws emitted for a bad frame (its `code` is `WS_ERR_*`) into ours. */
export function fromWsError(error: unknown): WebSocketError {
  const wsCode = (error as { code?: unknown } | null)?.code
  switch (wsCode) {
    case 'WS_ERR_INVALID_UTF8':
      return new WebSocketError('X_ERR_WEBSOCKET_INVALID_UTF8', 'the peer sent invalid UTF-8', {
        cause: error,
        closeCode: 1007,
      })
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return new WebSocketError(
        'X_ERR_WEBSOCKET_MESSAGE_TOO_BIG',
        'the peer sent a message over the size limit',
        {
          cause: error,
          closeCode: 1009,
        },
      )
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return new WebSocketError('X_ERR_WEBSOCKET_TOO_MANY_FRAGMENTS', 'the peer sent too many fragments', {
        cause: error,
        closeCode: 1008,
      })
    default:
      if (typeof wsCode === 'string' && wsCode.startsWith('WS_ERR_')) {
        return new WebSocketError('X_ERR_WEBSOCKET_PROTOCOL_ERROR', 'the peer broke the WebSocket protocol', {
          cause: error,
          closeCode: 1002,
        })
      }
      return new WebSocketError('X_ERR_WEBSOCKET_SOCKET_ERROR', 'the connection failed', { cause: error })
  }
}
