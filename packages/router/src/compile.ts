// Compiles a route trie into one specialised lookup function: segment lengths and char
// codes are compared in generated code, so a lookup allocates nothing until it builds its
// result. Paths with percent-escapes take the interpreted walk (router.ts) instead.

import {
  EMPTY_PARAMS,
  type Endpoint,
  type FoundMatch,
  found,
  type MethodNotAllowedMatch,
  methodNotAllowed,
  NOT_FOUND,
  type Node,
  type Route,
  type RouteMatch,
} from './trie.js'

/** A lookup function: the same contract as Router.find. */
export type CompiledFind<T> = (method: string, path: string) => RouteMatch<T>

// A generated function above this many characters is split into several: V8 stops
// optimising functions whose bytecode grows past about 60 KB.
const SPLIT_AT = 4000
// Static text longer than this compares with startsWith rather than char by char.
const CHARWISE_MAX = 12

class Generator<T> {
  readonly routes: Route<T>[] = []
  private readonly routeIndex = new Map<Route<T>, number>()
  readonly notAllowed: MethodNotAllowedMatch[] = []
  readonly functions: string[] = []
  maxParams = 0

  constructor(
    private readonly ignoreTrailingSlash: boolean,
    /** Some static text holds a literal "%": then even a static hit must rule escapes out. */
    private readonly hasPercentStatics: boolean,
  ) {}

  private ref(route: Route<T>): number {
    let i = this.routeIndex.get(route)
    if (i === undefined) {
      i = this.routes.length
      this.routes.push(route)
      this.routeIndex.set(route, i)
    }
    return i
  }

  /**
   * The expression that builds the result for `route`, with `k` positional params in P
   * and an optional rest value. A result with parameters is only valid when the path has
   * no escape before `len`: checking here keeps the scan off static hits.
   */
  private result(route: Route<T>, k: number, rest: string | undefined): string {
    const i = this.ref(route)
    if (route.paramNames.length === 0)
      return this.hasPercentStatics ? `(pct(p, len) ? slow(m, p) : F[${i}])` : `F[${i}]`
    const fields: string[] = []
    for (let j = 0; j < k; j++)
      fields.push(`${JSON.stringify(route.paramNames[j])}: p.slice(P[${2 * j}], P[${2 * j + 1}])`)
    if (rest !== undefined) fields.push(`${JSON.stringify(route.paramNames[k])}: ${rest}`)
    return `(pct(p, len) ? slow(m, p) : { kind: "found", value: V[${i}], params: { ${fields.join(', ')} }, template: T[${i}] })`
  }

  /** Code that answers from `ep` when it accepts the method, or records what it would allow. */
  private endpoint(ep: Endpoint<T>, k: number, rest: string | undefined): string {
    const byRoute = new Map<Route<T>, string[]>()
    for (const m of Object.keys(ep.methods)) {
      const r = ep.methods[m]!
      const list = byRoute.get(r)
      if (list === undefined) byRoute.set(r, [m])
      else list.push(m)
    }
    let code = ''
    if (byRoute.size > 0) {
      code += 'switch (m) {'
      for (const [route, methods] of byRoute) {
        code += `${methods.map((m) => `case ${JSON.stringify(m)}:`).join(' ')} return ${this.result(route, k, rest)};`
      }
      code += '}'
    }
    if (ep.any !== undefined) {
      code += `return ${this.result(ep.any, k, rest)};`
    } else {
      const a = this.notAllowed.length
      this.notAllowed.push(methodNotAllowed(ep.allow()))
      code += `allow = allow === undefined ? NA[${a}] : U(allow, NA[${a}]);`
    }
    return code
  }

  /**
   * True when the segment at s{d} is exactly `text`: its chars match and a "/" or the end
   * follows. Template text never holds "/" or "?", so a match cannot run past `len`.
   */
  private staticTest(text: string, d: number, from: number): string {
    const parts: string[] = []
    if (text.length - from > CHARWISE_MAX)
      parts.push(`p.startsWith(${JSON.stringify(text.slice(from))}, s${d} + ${from})`)
    else
      for (let i = from; i < text.length; i++)
        parts.push(`p.charCodeAt(s${d} + ${i}) === ${text.charCodeAt(i)}`)
    parts.push(`(s${d} + ${text.length} === len || p.charCodeAt(s${d} + ${text.length}) === 47)`)
    return parts.join(' && ')
  }

  private staticChild(text: string, child: Node<T>, d: number, k: number, from: number): string {
    return `if (${this.staticTest(text, d, from)}) { const s${d + 1} = s${d} + ${text.length + 1}; ${this.node(child, d + 1, k)} }`
  }

  /** Static children, told apart by first char, then compared whole; no indexOf needed. */
  private statics(children: Map<string, Node<T>>, d: number, k: number): string {
    let code = ''
    const byFirst = new Map<number, Array<[string, Node<T>]>>()
    for (const [text, child] of children) {
      if (text.length === 0) {
        // The empty final segment of a template kept with its trailing slash.
        code += `if (s${d} === len) { const s${d + 1} = len + 1; ${this.node(child, d + 1, k)} }`
        continue
      }
      const c = text.charCodeAt(0)
      const group = byFirst.get(c)
      if (group === undefined) byFirst.set(c, [[text, child]])
      else group.push([text, child])
    }
    if (byFirst.size === 1) {
      const [, group] = [...byFirst][0]!
      if (group.length === 1) return code + this.staticChild(group[0]![0], group[0]![1], d, k, 0)
    }
    if (byFirst.size === 0) return code
    code += `switch (p.charCodeAt(s${d})) {`
    for (const [c, group] of byFirst) {
      // Texts differ, so at most one of a group can match the whole segment.
      code += `case ${c}: ${group.map(([text, child]) => this.staticChild(text, child, d, k, 1)).join(' else ')} break;`
    }
    return `${code}}`
  }

  /** Code that tries every route below `node`, whose segment starts at s{d}, with k params bound. */
  node(node: Node<T>, d: number, k: number): string {
    if (k > this.maxParams) this.maxParams = k
    let done = ''
    if (node.end !== undefined) done += this.endpoint(node.end, k, undefined)
    if (node.rest !== undefined) done += this.endpoint(node.rest, k, '""')
    let more = ''
    if (node.statics !== undefined) more += this.statics(node.statics, d, k)
    if (node.param !== undefined) {
      if (k + 1 > this.maxParams) this.maxParams = k + 1
      more += `{ let e = p.indexOf("/", s${d}); if (e === -1 || e > len) e = len;`
      more += `if (e !== s${d}) { P[${2 * k}] = s${d}; P[${2 * k + 1}] = e; const s${d + 1} = e + 1; ${this.node(node.param, d + 1, k + 1)} } }`
    }
    if (node.rest !== undefined) more += this.endpoint(node.rest, k, `p.slice(s${d}, len)`)
    let code = ''
    if (done !== '' && more !== '') code = `if (s${d} > len) {${done}} else {${more}}`
    else if (done !== '') code = `if (s${d} > len) {${done}}`
    else if (more !== '') code = `if (s${d} <= len) {${more}}`
    if (d > 0 && code.length > SPLIT_AT) {
      const name = `f${this.functions.length}`
      this.functions.push(`function ${name}(p, m, len, s${d}) {${code} return undefined; }`)
      return `{ const r = ${name}(p, m, len, s${d}); if (r !== undefined) return r; }`
    }
    return code
  }

  source(root: Node<T>): string {
    const body = this.node(root, 0, 0)
    return `"use strict";
let allow;
function pct(p, len) { const i = p.indexOf("%"); return i !== -1 && i < len; }
${this.functions.join('\n')}
return function find(m, p) {
  let len = p.length;
  const q = p.indexOf("?");
  if (q !== -1) len = q;
  if (len === 0 || p.charCodeAt(0) !== 47) return NF;
  ${this.ignoreTrailingSlash ? 'if (len > 1 && p.charCodeAt(len - 1) === 47) len--;' : ''}
  allow = undefined;
  const s0 = len === 1 ? 2 : 1;
  ${body}
  // No route answered from the raw path; a path with escapes may still match decoded.
  if (pct(p, len)) return slow(m, p);
  return allow === undefined ? NF : allow;
};`
  }
}

function hasPercent<T>(node: Node<T>): boolean {
  if (node.statics !== undefined) {
    for (const [text, child] of node.statics) if (text.includes('%') || hasPercent(child)) return true
  }
  return node.param !== undefined && hasPercent(node.param)
}

function union(a: MethodNotAllowedMatch, b: MethodNotAllowedMatch): MethodNotAllowedMatch {
  return methodNotAllowed([...a.allow, ...b.allow])
}

/** Compiles the trie under `root`; `slow` answers paths the generated code does not handle. */
export function compileTrie<T>(
  root: Node<T>,
  ignoreTrailingSlash: boolean,
  slow: CompiledFind<T>,
): CompiledFind<T> {
  const gen = new Generator<T>(ignoreTrailingSlash, hasPercent(root))
  const source = gen.source(root)
  const P = new Array<number>(Math.max(2, 2 * gen.maxParams)).fill(0)
  const V = gen.routes.map((r) => r.value)
  const T = gen.routes.map((r) => r.template)
  const F: Array<FoundMatch<T> | undefined> = gen.routes.map((r) =>
    r.paramNames.length === 0 ? found(r.value, EMPTY_PARAMS, r.template) : undefined,
  )
  const factory = new Function('P', 'V', 'T', 'F', 'NA', 'NF', 'U', 'slow', source) as (
    ...args: unknown[]
  ) => CompiledFind<T>
  return factory(P, V, T, F, gen.notAllowed, NOT_FOUND, union, slow)
}
