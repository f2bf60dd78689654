import Router from '@medley/router'
import { colonSyntax, type PeerAdapter } from './types.ts'

export const medley: PeerAdapter = {
  name: '@medley/router',
  build(routes, values) {
    const router = new Router()
    for (const [i, [m, t]] of routes.entries()) router.register(colonSyntax(t, () => '*'))[m] = values[i]
    return (method, path) => {
      const found = router.find(path)
      return found === null ? undefined : (found.store as Record<string, unknown>)[method]
    }
  },
}
