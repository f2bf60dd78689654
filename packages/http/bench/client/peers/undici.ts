import { Agent, fetch, request } from 'undici'
import type { ClientPeer } from './types.ts'

/** Bare `undici.request` on its own Agent (undici's defaults). */
export const undiciRequest: ClientPeer = {
  name: 'undici.request',
  async start(url) {
    const agent = new Agent()
    const target = `${url}/`
    return {
      get: async () => (await request(target, { dispatcher: agent })).body.text(),
      close: () => agent.close(),
    }
  },
}

/** undici's `fetch` on its own Agent. */
export const undiciFetch: ClientPeer = {
  name: 'undici fetch',
  async start(url) {
    const agent = new Agent()
    const target = `${url}/`
    return {
      get: async () => (await fetch(target, { dispatcher: agent })).text(),
      close: () => agent.close(),
    }
  },
}
