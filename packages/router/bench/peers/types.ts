/** One route of a benchmark table: method and template in @x syntax (`{id}`, `{...rest}`). */
export type BenchRoute = readonly [method: string, template: string]

/** Finds the value registered for the best route, or undefined. */
export type Lookup = (method: string, path: string) => unknown

/** One router under test: builds a lookup function over a route table, or refuses it. */
export interface PeerAdapter {
  readonly name: string
  build(routes: readonly BenchRoute[], values: readonly unknown[]): Lookup
}

/** Rewrites `{id}` to `:id` and `{...rest}` with `rest(name)`, for routers of the `:param` family. */
export function colonSyntax(template: string, rest: (name: string) => string): string {
  return template
    .replace(/\{\.\.\.([A-Za-z_]\w*)\}/g, (_, n: string) => rest(n))
    .replace(/\{([A-Za-z_]\w*)\}/g, ':$1')
}
