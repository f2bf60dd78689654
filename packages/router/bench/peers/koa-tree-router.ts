import KoaTreeRouter from 'koa-tree-router'
import { colonSyntax, type PeerAdapter } from './types.ts'

export const koaTree: PeerAdapter = {
  name: 'koa-tree-router',
  build(routes, values) {
    const router = new KoaTreeRouter()
    for (const [i, [m, t]] of routes.entries()) {
      const value = values[i]
      router.on(
        m,
        colonSyntax(t, (n) => `*${n}`),
        Object.assign(() => value, { value }),
      )
    }
    return (method, path) => {
      // The handle is the middleware chain; the route's own handler is its last element.
      const found = router.find(method, path) as { handle: Array<{ value: unknown }> | null }
      return found.handle === null ? undefined : found.handle[found.handle.length - 1]!.value
    }
  },
}
