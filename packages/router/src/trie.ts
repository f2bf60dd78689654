// The route trie's data: one node per segment position, endpoints holding routes by
// method, and the shared result shapes. Building lives in router.ts, code generation in compile.ts.

import { RouterError } from './errors.js'

/** Path parameters of a match, percent-decoded. Do not mutate: params of a static path are shared. */
export type Params = Readonly<Record<string, string>>

/** A route matched the method and the path. */
export interface FoundMatch<T> {
  readonly kind: 'found'
  readonly value: T
  readonly params: Params
  /** The template the route was added with, for logs and metrics. */
  readonly template: string
}

/** Some route matched the path but none accepts the method; `allow` lists every method that would. */
export interface MethodNotAllowedMatch {
  readonly kind: 'method-not-allowed'
  readonly allow: readonly string[]
}

/** No route matched the path. */
export interface NotFoundMatch {
  readonly kind: 'not-found'
}

/** The result of a lookup: a discriminated union on `kind`. */
export type RouteMatch<T> = FoundMatch<T> | MethodNotAllowedMatch | NotFoundMatch

export const ANY = '*'
export const EMPTY_PARAMS: Params = Object.freeze(Object.create(null) as Record<string, string>)
export const NOT_FOUND: NotFoundMatch = Object.freeze({ kind: 'not-found' as const })

/** Every found result has this one shape (same keys, same order), so consumers stay monomorphic. */
export function found<T>(value: T, params: Params, template: string): FoundMatch<T> {
  return { kind: 'found', value, params, template }
}

export function methodNotAllowed(allow: Iterable<string>): MethodNotAllowedMatch {
  return Object.freeze({
    kind: 'method-not-allowed' as const,
    allow: Object.freeze([...new Set(allow)].sort()),
  })
}

export class Route<T> {
  constructor(
    readonly method: string,
    readonly template: string,
    readonly value: T,
    readonly paramNames: readonly string[],
  ) {}

  params(values: readonly string[]): Params {
    if (this.paramNames.length === 0) return EMPTY_PARAMS
    const out: Record<string, string> = {}
    for (let i = 0; i < this.paramNames.length; i++) out[this.paramNames[i]!] = values[i]!
    return out
  }
}

/** The routes that end at one place in the trie, by method. */
export class Endpoint<T> {
  /** Explicit methods, plus HEAD answered by GET when no HEAD was added. */
  readonly methods: Record<string, Route<T>> = Object.create(null)
  any: Route<T> | undefined = undefined
  explicitHead = false

  /** The route already added for `method`, if adding another would duplicate it. */
  conflict(method: string): Route<T> | undefined {
    if (method === ANY) return this.any
    if (method === 'HEAD' && !this.explicitHead) return undefined
    return this.methods[method]
  }

  add(method: string, route: Route<T>): void {
    if (method === ANY) {
      this.any = route
      return
    }
    this.methods[method] = route
    if (method === 'HEAD') this.explicitHead = true
    else if (method === 'GET' && !this.explicitHead) this.methods.HEAD = route
  }

  answer(method: string): Route<T> | undefined {
    return this.methods[method] ?? this.any
  }

  allow(): string[] {
    return Object.keys(this.methods)
  }
}

export class Node<T> {
  statics: Map<string, Node<T>> | undefined = undefined
  param: Node<T> | undefined = undefined
  end: Endpoint<T> | undefined = undefined
  rest: Endpoint<T> | undefined = undefined
}

export function duplicate(method: string, template: string, existing: string): RouterError {
  return new RouterError(
    'X_ERR_ROUTER_DUPLICATE_ROUTE',
    `${method} ${template} duplicates the route ${method} ${existing}`,
    {
      template,
      method,
    },
  )
}
