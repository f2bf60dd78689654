import { Agent, get } from 'node:http'
import type { ClientPeer } from './types.ts'

/** `node:http` with a keep-alive Agent. */
export const nodeHttp: ClientPeer = {
  name: 'node:http (keep-alive)',
  async start(url, connections) {
    const agent = new Agent({ keepAlive: true, maxSockets: connections })
    const target = `${url}/`
    return {
      get: () =>
        new Promise<string>((resolve, reject) => {
          get(target, { agent }, (res) => {
            res.setEncoding('utf8')
            let body = ''
            res.on('data', (c: string) => {
              body += c
            })
            res.on('end', () => resolve(body))
            res.on('error', reject)
          }).on('error', reject)
        }),
      close: async () => agent.destroy(),
    }
  },
}
