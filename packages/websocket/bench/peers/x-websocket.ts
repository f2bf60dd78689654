import { WebSocketListener } from '@x/websocket'
import type { RunningServer, ServerPeer } from './types.ts'

/** @x/websocket's listener with an echo service, defaults otherwise (heartbeat on, 1 MiB cap). */
export const xWebSocket: ServerPeer = {
  name: '@x/websocket',
  env: {},
  native: true,
  async start(): Promise<RunningServer> {
    const listener = new WebSocketListener({
      port: 0,
      host: '127.0.0.1',
      maxConnections: 50_000,
      service: {
        onText: (caller, text) => caller.pushText(text),
        onBinary: (caller, data) => caller.pushBinary(data),
      },
    })
    await listener.start()
    return {
      port: listener.port,
      connections: () => listener.connectionCount,
      close: () => listener.immediateStop(),
    }
  },
}
