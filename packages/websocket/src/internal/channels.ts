// The diagnostics_channel channels this package publishes on (x:websocket:<event>).
// Channels are global by name, so ESM and CJS copies publish on the same ones.
import { channel } from 'node:diagnostics_channel'

/** `{ caller, side }` once a connection is open. */
export const openChannel = channel('x:websocket:open')
/** `{ caller, side, code, reason }` once a connection has closed. */
export const closeChannel = channel('x:websocket:close')
/** `{ caller, side, error }` for every error (also those no `onError` saw). */
export const errorChannel = channel('x:websocket:error')
/** `{ statusCode, reason, remoteAddress }` when an upgrade is refused. */
export const rejectChannel = channel('x:websocket:upgrade-rejected')
/** `{ caller, side }` when the heartbeat closes a peer that stopped answering. */
export const heartbeatTimeoutChannel = channel('x:websocket:heartbeat-timeout')
/** `{ client, attempt, delay }` when a client schedules a reconnection. */
export const reconnectChannel = channel('x:websocket:reconnect')
