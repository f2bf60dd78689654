import { Client } from '@x/http'
import type { ClientPeer } from './types.ts'

/** @x/http's Client with a capped pool, retries and redirects configured (the setting). */
export const xClient: ClientPeer = {
  name: '@x/http Client',
  async start(url, connections) {
    const c = new Client(url, {
      poolConfig: { maxActiveConnections: connections, waitTime: 30_000 },
      retryConfig: { count: 3 },
      followRedirects: { enabled: true },
    })
    return {
      get: async () => (await c.get('/')).text(),
      close: () => c.close(),
    }
  },
}
