import type { ServerPeer } from './types.ts'
import { nativeWs, rawWs } from './ws.ts'
import { xWebSocket } from './x-websocket.ts'

/** Every peer of the benchmark, @x first. */
export const peers: readonly ServerPeer[] = [xWebSocket, rawWs, nativeWs]
