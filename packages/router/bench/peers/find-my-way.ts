import FindMyWay from 'find-my-way'
import { colonSyntax, type PeerAdapter } from './types.ts'

export const findMyWay: PeerAdapter = {
  name: 'find-my-way 9',
  build(routes, values) {
    const router = FindMyWay()
    for (const [i, [m, t]] of routes.entries()) {
      const value = values[i]
      router.on(
        m as 'GET',
        colonSyntax(t, () => '*'),
        () => value,
        { value },
      )
    }
    return (method, path) => {
      const found = router.find(method as 'GET', path)
      return found === null ? undefined : (found.store as { value: unknown }).value
    }
  },
}
