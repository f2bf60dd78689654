import { RegExpRouter } from 'hono/router/reg-exp-router'
import { TrieRouter } from 'hono/router/trie-router'
import { colonSyntax, type PeerAdapter } from './types.ts'

type HonoRouter = RegExpRouter<unknown> | TrieRouter<unknown>

function hono(name: string, create: () => HonoRouter): PeerAdapter {
  return {
    name,
    build(routes, values) {
      const router = create()
      for (const [i, [m, t]] of routes.entries())
        router.add(
          m,
          colonSyntax(t, () => '*'),
          values[i],
        )
      return (method, path) => {
        // Hono returns every matching handler (middleware semantics); the first is the route.
        const [handlers] = router.match(method, path)
        const first = handlers[0]
        return first === undefined ? undefined : first[0]
      }
    },
  }
}

export const honoRegExp = hono('hono RegExpRouter', () => new RegExpRouter())
export const honoTrie = hono('hono TrieRouter', () => new TrieRouter())
