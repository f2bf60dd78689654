export type { WebSocketClientState } from './client.js'
export { WebSocketClient } from './client.js'
export type { Clock, TimerHandle } from './clock.js'
export { systemClock } from './clock.js'
export type { WebSocketErrorCode, WebSocketErrorDetails } from './errors.js'
export { isWebSocketError, WebSocketError } from './errors.js'
export { WebSocketListener } from './listener.js'
export type {
  ClientSecureSocket,
  ConnectionOptions,
  HeartbeatOptions,
  ListenerSecureSocket,
  PerMessageDeflateOptions,
  RetryOptions,
  WebSocketClientOptions,
  WebSocketListenerOptions,
  WebSocketUpgradeOptions,
} from './options.js'
export type { WebSocketCaller, WebSocketService } from './service.js'
export type { UpgradeRefusal, UpgradeRejection, UpgradeResult } from './upgrader.js'
export { WebSocketUpgrader } from './upgrader.js'
