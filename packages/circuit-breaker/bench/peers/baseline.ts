import type { PeerAdapter } from './types.ts'

/** No breaker at all: the action awaited as a promise, to show what a breaker adds. */
export const baseline: PeerAdapter = {
  name: 'no breaker',
  make(action) {
    return { call: () => Promise.resolve(action()), close() {} }
  },
}
