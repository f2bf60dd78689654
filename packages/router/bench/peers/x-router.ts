import { createRouter } from '@x/router'
import type { PeerAdapter } from './types.ts'

export const xRouter: PeerAdapter = {
  name: '@x/router',
  build(routes, values) {
    const router = createRouter<unknown>()
    for (const [i, [m, t]] of routes.entries()) router.add(m, t, values[i])
    return (method, path) => {
      const match = router.find(method, path)
      return match.kind === 'found' ? match.value : undefined
    }
  },
}
