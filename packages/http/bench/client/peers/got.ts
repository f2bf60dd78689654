import { Agent } from 'node:http'
import got from 'got'
import type { ClientPeer } from './types.ts'

/** got 14 (got 16 needs Node 22) with a keep-alive Agent. */
export const gotPeer: ClientPeer = {
  name: 'got 14',
  async start(url, connections) {
    const agent = new Agent({ keepAlive: true, maxSockets: connections })
    const g = got.extend({ agent: { http: agent } })
    const target = `${url}/`
    return {
      get: () => g(target).text(),
      close: async () => agent.destroy(),
    }
  },
}
