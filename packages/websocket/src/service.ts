// The callback service model (Ballerina's WebSocket service) and the caller handed to every
// callback. Types only: the behaviour lives in connection.ts.

/**
 * The callbacks of a WebSocket service, every one optional, sync or async (a returned promise
 * is watched for rejection; other return values are ignored). A callback that
 * throws or rejects is reported to `onError` as `X_ERR_WEBSOCKET_CALLBACK_FAILED`; with no
 * `onError`, the connection is closed with 1011. Nothing a callback does crashes the process.
 */
export interface WebSocketService {
  /** The handshake completed; the connection is open. */
  onOpen?(caller: WebSocketCaller): unknown
  /**
   * A whole text message arrived. ws reassembles fragmented messages before delivering them,
   * so `final` is always `true`: fragments are never delivered one by one.
   */
  onText?(caller: WebSocketCaller, text: string, final: boolean): unknown
  /** A whole binary message arrived; `final` is always `true` (see `onText`). */
  onBinary?(caller: WebSocketCaller, data: Buffer, final: boolean): unknown
  /** A ping arrived. With `autoPong` on it has already been answered; otherwise answer with `caller.pong(data)`. */
  onPing?(caller: WebSocketCaller, data: Buffer): unknown
  /** A pong arrived. */
  onPong?(caller: WebSocketCaller, data: Buffer): unknown
  /** No text or binary message went either way for `idleTimeout` ms; the connection stays open. */
  onIdleTimeout?(caller: WebSocketCaller): unknown
  /** The connection closed: `code` is the peer's close code, 1005 when it sent none, 1006 when the TCP connection ended without a close frame. */
  onClose?(caller: WebSocketCaller, code: number, reason: string): unknown
  /** A protocol violation by the peer, a transport error, or a failed callback. */
  onError?(caller: WebSocketCaller, error: Error): unknown
}

/** One WebSocket connection as a service sees it. */
export interface WebSocketCaller {
  /** A random UUID naming this connection (for a client: the client, across reconnections). */
  readonly id: string
  /** The peer's IP address, kept after the connection closes. */
  readonly remoteAddress: string | undefined
  /** The sub-protocol agreed in the handshake, or `undefined`. */
  readonly negotiatedSubProtocol: string | undefined
  /** True when the connection runs over TLS (`wss:`). */
  readonly isSecure: boolean
  /** True while messages can be pushed. */
  readonly isOpen: boolean
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: number
  /** Free-form per-connection state for the service. */
  readonly attributes: Map<string | symbol, unknown>
  /**
   * Sends a text message, or a fragment of one when `final` is `false` (the next pushes
   * continue it until one is final). Resolves once the data has been handed to the socket,
   * so a producer that awaits each push never buffers more than one message; rejects with
   * `X_ERR_WEBSOCKET_NOT_OPEN` when the connection is not open. An unawaited push that fails
   * is not an unhandled rejection.
   */
  pushText(text: string, final?: boolean): Promise<void>
  /** Sends a binary message (or fragment); resolves and rejects as `pushText`. */
  pushBinary(data: Uint8Array | ArrayBuffer, final?: boolean): Promise<void>
  /** Sends a ping (at most 125 bytes of data). */
  ping(data?: Uint8Array | string): Promise<void>
  /** Sends a pong (at most 125 bytes of data). */
  pong(data?: Uint8Array | string): Promise<void>
  /**
   * Starts the close handshake with `code` (1000, 1001–1014 but 1004–1006, or 3000–4999) and
   * `reason` (at most 123 UTF-8 bytes); resolves once the connection has closed. When the peer
   * has not answered within `timeout` ms, the TCP connection is destroyed.
   */
  close(code?: number, reason?: string, timeout?: number): Promise<void>
}
