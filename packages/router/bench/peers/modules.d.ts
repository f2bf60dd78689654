declare module '@medley/router' {
  class Router {
    register(path: string): Record<string, unknown>
    find(path: string): { store: unknown; params: Record<string, string> } | null
  }
  export default Router
}

declare module 'koa-tree-router' {
  class KoaTreeRouter {
    on(method: string, path: string, ...handle: unknown[]): this
    find(method: string, path: string): { handle: unknown[] | null; params: unknown }
  }
  export default KoaTreeRouter
}
