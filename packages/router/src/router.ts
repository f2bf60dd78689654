// The route table: add() builds a segment trie; find() runs code compiled from it, and
// falls back to an interpreted walk of the same trie for percent-escaped paths and
// case-insensitive tables. Template grammar: template.ts; generated lookup: compile.ts.

import { type CompiledFind, compileTrie } from './compile.js'
import { RouterError } from './errors.js'
import { parseTemplate, type TemplateSegment } from './template.js'
import {
  ANY,
  duplicate,
  Endpoint,
  found,
  methodNotAllowed,
  NOT_FOUND,
  Node,
  Route,
  type RouteMatch,
} from './trie.js'

/** One route as it was added. */
export interface RouteEntry<T> {
  readonly method: string
  readonly template: string
  readonly value: T
}

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /**
   * Compare static segments case-sensitively (RFC 3986 paths are case-sensitive).
   * Parameter values keep their case either way.
   * @defaultValue true
   */
  caseSensitive?: boolean
  /**
   * Treat `/a/` as `/a`, for templates and for looked-up paths.
   * @defaultValue true
   */
  ignoreTrailingSlash?: boolean
}

/** A method + path router. */
export interface Router<T> {
  /**
   * Adds a route for one method, several, or `'*'` (any method). Throws a `RouterError`
   * for a malformed template or method, or when the method is already routed on an
   * equivalent template. Add routes at start-up: the first find() after an add compiles the table.
   */
  add(method: string | readonly string[], template: string, value: T): void
  /** Finds the best route for `method` and `path` (a query string is ignored). Never throws. */
  find(method: string, path: string): RouteMatch<T>
  /** Every route added, in the order added. */
  routes(): readonly RouteEntry<T>[]
}

// RFC 9110 §5.6.2 token characters.
function isToken(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ok =
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 33 ||
      (c >= 35 && c <= 39) ||
      c === 42 ||
      c === 43 ||
      c === 45 ||
      c === 46 ||
      c === 94 ||
      c === 95 ||
      c === 96 ||
      c === 124 ||
      c === 126
    if (!ok) return false
  }
  return true
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** Scratch of the interpreted walk, reused: a lookup is synchronous and never re-entered. */
class WalkState {
  method = ''
  decode = false
  values: string[] = []
  allow: Set<string> | undefined = undefined

  addAllow(methods: readonly string[]): void {
    if (this.allow === undefined) this.allow = new Set()
    for (const m of methods) this.allow.add(m)
  }
}

class RadixRouter<T> implements Router<T> {
  private readonly caseSensitive: boolean
  private readonly ignoreTrailingSlash: boolean
  private readonly root = new Node<T>()
  private readonly entries: RouteEntry<T>[] = []
  private readonly state = new WalkState()
  private compiled: CompiledFind<T> | undefined = undefined

  constructor(options: RouterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new RouterError('X_ERR_ROUTER_INVALID_OPTION', 'router options must be an object')
    }
    const { caseSensitive = true, ignoreTrailingSlash = true } = options
    if (typeof caseSensitive !== 'boolean') {
      throw new RouterError('X_ERR_ROUTER_INVALID_OPTION', 'caseSensitive must be a boolean')
    }
    if (typeof ignoreTrailingSlash !== 'boolean') {
      throw new RouterError('X_ERR_ROUTER_INVALID_OPTION', 'ignoreTrailingSlash must be a boolean')
    }
    this.caseSensitive = caseSensitive
    this.ignoreTrailingSlash = ignoreTrailingSlash
  }

  add(method: string | readonly string[], template: string, value: T): void {
    const methods = typeof method === 'string' ? [method] : method
    if (!Array.isArray(methods) || methods.length === 0) {
      throw new RouterError('X_ERR_ROUTER_INVALID_METHOD', 'a route needs at least one method, or "*"', {
        template,
      })
    }
    for (const m of methods) {
      if (typeof m !== 'string' || (m !== ANY && !isToken(m))) {
        throw new RouterError(
          'X_ERR_ROUTER_INVALID_METHOD',
          `${JSON.stringify(m)} is not an HTTP method token`,
          {
            template,
            method: String(m),
          },
        )
      }
    }
    const parsed = parseTemplate(template, this.ignoreTrailingSlash)
    // Check every method before changing the trie, so a failed add leaves the table as it was.
    const existing = this.endpointFor(parsed.segments, false)
    const seen = new Set<string>()
    for (const m of methods) {
      if (seen.has(m)) throw duplicate(m, template, template)
      seen.add(m)
      const clash = existing?.conflict(m)
      if (clash !== undefined) throw duplicate(m, template, clash.template)
    }
    const target = this.endpointFor(parsed.segments, true)!
    for (const m of methods) {
      target.add(m, new Route(m, template, value, parsed.paramNames))
      this.entries.push({ method: m, template, value })
    }
    this.compiled = undefined
  }

  routes(): readonly RouteEntry<T>[] {
    return this.entries.slice()
  }

  find(method: string, path: string): RouteMatch<T> {
    const compiled = this.compiled ?? this.compile()
    return compiled(method, path)
  }

  private compile(): CompiledFind<T> {
    const slow: CompiledFind<T> = (method, path) => this.walkFind(method, path)
    this.compiled = this.caseSensitive ? compileTrie(this.root, this.ignoreTrailingSlash, slow) : slow
    return this.compiled
  }

  /** The interpreted lookup: decodes escapes and folds case; the compiled one handles neither. */
  private walkFind(method: string, path: string): RouteMatch<T> {
    const q = path.indexOf('?')
    if (q !== -1) path = path.slice(0, q)
    let len = path.length
    if (len === 0 || path.charCodeAt(0) !== 47 /* / */) return NOT_FOUND
    if (this.ignoreTrailingSlash && len > 1 && path.charCodeAt(len - 1) === 47) {
      path = path.slice(0, len - 1)
      len--
    }
    const decode = path.indexOf('%') !== -1
    // A malformed escape anywhere makes the path unmatchable; checking it once here
    // means no single segment can fail to decode during the walk.
    if (decode && safeDecode(path) === undefined) return NOT_FOUND
    const st = this.state
    st.method = method
    st.decode = decode
    st.allow = undefined
    const route = this.walk(this.root, path, len === 1 ? -1 : 1, 0)
    if (route !== undefined) return found(route.value, route.params(st.values), route.template)
    if (st.allow !== undefined) return methodNotAllowed(st.allow)
    return NOT_FOUND
  }

  /**
   * Walks the trie from `node` with the segment starting at `pos` (-1: every segment is
   * consumed) and `k` parameters bound so far. Each trie node sits at one depth, so a
   * lookup visits each node at most once however much it backtracks.
   */
  private walk(node: Node<T>, path: string, pos: number, k: number): Route<T> | undefined {
    const st = this.state
    if (pos === -1) {
      const end = node.end
      if (end !== undefined) {
        const route = end.answer(st.method)
        if (route !== undefined) return route
        st.addAllow(end.allow())
      }
      const rest = node.rest
      if (rest !== undefined) {
        const route = rest.answer(st.method)
        if (route !== undefined) {
          st.values[k] = ''
          return route
        }
        st.addAllow(rest.allow())
      }
      return undefined
    }
    const slash = path.indexOf('/', pos)
    const segEnd = slash === -1 ? path.length : slash
    const next = slash === -1 ? -1 : slash + 1
    let seg = path.slice(pos, segEnd)
    if (st.decode) seg = decodeURIComponent(seg)
    const statics = node.statics
    if (statics !== undefined) {
      const child = statics.get(this.caseSensitive ? seg : seg.toLowerCase())
      if (child !== undefined) {
        const route = this.walk(child, path, next, k)
        if (route !== undefined) return route
      }
    }
    const param = node.param
    if (param !== undefined && seg.length !== 0) {
      const route = this.walk(param, path, next, k + 1)
      if (route !== undefined) {
        st.values[k] = seg
        return route
      }
    }
    const rest = node.rest
    if (rest !== undefined) {
      const route = rest.answer(st.method)
      if (route !== undefined) {
        const raw = path.slice(pos)
        st.values[k] = st.decode ? decodeURIComponent(raw) : raw
        return route
      }
      st.addAllow(rest.allow())
    }
    return undefined
  }

  private endpointFor(segments: readonly TemplateSegment[], create: boolean): Endpoint<T> | undefined {
    let node: Node<T> | undefined = this.root
    for (const seg of segments) {
      if (seg.kind === 'rest') {
        if (node.rest === undefined && create) node.rest = new Endpoint()
        return node.rest
      }
      let next: Node<T> | undefined
      if (seg.kind === 'param') {
        next = node.param
        if (next === undefined && create) next = node.param = new Node()
      } else {
        const key = this.caseSensitive ? seg.text : seg.text.toLowerCase()
        next = node.statics?.get(key)
        if (next === undefined && create) {
          node.statics ??= new Map()
          next = new Node()
          node.statics.set(key, next)
        }
      }
      if (next === undefined) return undefined
      node = next
    }
    if (node.end === undefined && create) node.end = new Endpoint()
    return node.end
  }
}

/** Creates an empty router. */
export function createRouter<T>(options: RouterOptions = {}): Router<T> {
  return new RadixRouter<T>(options)
}
