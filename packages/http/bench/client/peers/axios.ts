import { Agent } from 'node:http'
import axios from 'axios'
import type { ClientPeer } from './types.ts'

/** axios with a keep-alive Agent. */
export const axiosPeer: ClientPeer = {
  name: 'axios',
  async start(url, connections) {
    const agent = new Agent({ keepAlive: true, maxSockets: connections })
    const a = axios.create({ httpAgent: agent, responseType: 'text' })
    const target = `${url}/`
    return {
      get: async () => (await a.get<string>(target)).data,
      close: async () => agent.destroy(),
    }
  },
}
