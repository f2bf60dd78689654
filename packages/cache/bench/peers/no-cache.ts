import { Agent } from 'undici'
import type { Peer } from './types.ts'

export function noCache(): Peer {
  const agent = new Agent({ connections: 16 })
  return {
    name: 'no cache (round trip)',
    path: '/none',
    caches: false,
    dispatcher: agent,
    close: () => agent.close(),
  }
}
