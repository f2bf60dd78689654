import { addRoute, createRouter, findRoute } from 'rou3'
import { compileRouter } from 'rou3/compiler'
import { type BenchRoute, colonSyntax, type PeerAdapter } from './types.ts'

function table(routes: readonly BenchRoute[], values: readonly unknown[]) {
  const router = createRouter<unknown>()
  for (const [i, [m, t]] of routes.entries())
    addRoute(
      router,
      m,
      colonSyntax(t, (n) => `**:${n}`),
      values[i],
    )
  return router
}

export const rou3: PeerAdapter = {
  name: 'rou3',
  build(routes, values) {
    const router = table(routes, values)
    return (method, path) => findRoute(router, method, path)?.data
  },
}

export const rou3Compiled: PeerAdapter = {
  name: 'rou3 compiled',
  build(routes, values) {
    const find = compileRouter(table(routes, values))
    return (method, path) => find(method, path)?.data
  },
}
