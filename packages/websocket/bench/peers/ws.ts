import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import type { RunningServer, ServerPeer } from './types.ts'

/** ws's own echo server, as its README writes one: the received Buffer goes back as is. */
async function startWs(): Promise<RunningServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  wss.on('connection', (ws) => {
    ws.on('error', () => ws.terminate())
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }))
  })
  return {
    port: (wss.address() as AddressInfo).port,
    connections: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resolve())
      }),
  }
}

/** ws with its pure-JS masking and UTF-8 paths (the helpers are switched off by environment). */
export const rawWs: ServerPeer = {
  name: 'ws',
  env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  native: false,
  start: startWs,
}

/** ws with bufferutil and utf-8-validate loaded. */
export const nativeWs: ServerPeer = {
  name: 'ws + native',
  env: {},
  native: true,
  start: startWs,
}
