// Turns service declarations (plain objects or decorated class instances) into the tables the
// pipeline runs on: one router per service, binding plans per resource, and the service list
// ordered for Ballerina's longest-base-path selection. All validation happens here, eagerly.

import type { IncomingMessage } from 'node:http'
import { createRouter, isRouterError, type Router } from '@x/router'
import { configError } from '../errors.js'
import { compileParam, type ParamPlan } from './binding.js'
import { type BodyPlan, compileBody } from './body.js'
import { type CachePlan, compileCaching } from './caching.js'
import { type CompressionPlan, compileCompression } from './compression.js'
import { type CorsPolicy, compileCors } from './cors.js'
import { compileMatcher, compileProduces, type MediaMatcher } from './media.js'
import { decoratedService } from './metadata.js'
import { checkFilters, policy, type ResolvedOptions } from './options.js'
import { compileSse, type SsePlan } from './sse.js'
import type { ChunkingPolicy, Filter, ParamSpec, ScalarType, Service } from './types.js'
import { type CompiledUpgrade, compileUpgrade, upgradeRequired } from './upgrade.js'

/** A resource ready to run. */
export interface CompiledResource {
  readonly handler: (ctx: unknown) => unknown
  readonly thisArg: unknown
  readonly template: string
  /** Nothing to bind: the handler runs straight after the lookup. */
  readonly plain: boolean
  /** Path parameters declared with a non-string type. */
  readonly pathPlans: readonly ParamPlan[] | undefined
  readonly queryPlans: readonly ParamPlan[] | undefined
  readonly headerPlans: readonly ParamPlan[] | undefined
  readonly body: BodyPlan | undefined
  readonly consumes: MediaMatcher | undefined
  readonly produces: readonly string[] | undefined
  readonly chunking: ChunkingPolicy
  /** The CORS policy (the resource's fields over the service's), if any. */
  readonly cors: CorsPolicy | undefined
  readonly compression: CompressionPlan
  readonly cache: CachePlan | undefined
  readonly sse: SsePlan | undefined
  /** Where WebSocket handshakes that reach this resource are handed over. */
  readonly upgrade: CompiledUpgrade | undefined
}

/** A service ready to run. */
export interface CompiledService {
  /** The declaration it came from (what `detach()` is given). */
  readonly source: object
  /** Without a trailing slash; '' for the root. */
  readonly basePath: string
  /** `basePath` decoded and, for case-insensitive listeners, lower-cased: the slow-path key. */
  readonly basePathKey: string
  readonly host: string | undefined
  readonly chain: readonly Filter[]
  readonly hasRequestHooks: boolean
  readonly hasResponseHooks: boolean
  readonly router: Router<CompiledResource>
  /** Every method any resource answers, for `OPTIONS *`. */
  readonly methods: readonly string[]
  /** The service's own CORS policy: its 404 and 405 answers follow it. */
  readonly cors: CorsPolicy | undefined
  /** The service or one of its resources has a CORS policy: preflights are answered, responses get CORS headers. */
  readonly hasCors: boolean
  readonly compression: CompressionPlan
  /** The upgrade resources' WebSocket endpoints (their connections, for stopping). */
  readonly upgrades: readonly CompiledUpgrade[]
}

const PARAM_NAME = /\{(?:\.\.\.)?([A-Za-z_][A-Za-z0-9_]*)\}/g

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function normaliseBasePath(raw: unknown): string {
  if (raw === undefined) return ''
  if (typeof raw !== 'string' || !raw.startsWith('/')) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', 'basePath must be a string starting with /')
  }
  if (/[{}?#\s]/.test(raw) || raw.includes('//')) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `basePath ${JSON.stringify(raw)} must be a static path`)
  }
  return raw.endsWith('/') ? raw.slice(0, -1) : raw
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `basePath ${JSON.stringify(s)} has a malformed escape`)
  }
}

function compileSpecs(
  specs: unknown,
  where: string,
  allowArray: boolean,
  lowerCaseNames: boolean,
): ParamPlan[] | undefined {
  if (specs === undefined) return undefined
  if (!isObject(specs)) throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where} must be an object`)
  const plans: ParamPlan[] = []
  for (const name of Object.keys(specs)) {
    if (lowerCaseNames && name !== name.toLowerCase()) {
      throw configError(
        'X_ERR_HTTP_INVALID_SERVICE',
        `${where} ${name}: header names are declared lower-case`,
      )
    }
    plans.push(compileParam(name, specs[name] as ParamSpec, where, allowArray))
  }
  return plans.length === 0 ? undefined : plans
}

function compileResource(
  r: unknown,
  thisArg: unknown,
  basePath: string,
  serviceChunking: ChunkingPolicy,
  serviceCors: unknown,
  serviceCompression: CompressionPlan,
  options: ResolvedOptions,
  index: number,
): { methods: string[] | '*'; template: string; compiled: CompiledResource } {
  const where = `resource ${index}`
  if (!isObject(r)) throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where} must be an object`)
  const { path, methods } = r
  let handler = r.handler
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where}: path must be a string starting with /`)
  }
  const at = `resource ${path}`
  const upgrade = r.upgrade === undefined ? undefined : compileUpgrade(r.upgrade, at)
  // An upgrade resource without a handler answers plain requests with 426.
  if (upgrade !== undefined && handler === undefined) handler = upgradeRequired
  if (typeof handler !== 'function')
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: handler must be a function`)
  let routed: string[] | '*'
  // RFC 6455 §4.1: a handshake is a GET, so a resource that only upgrades only takes GET.
  if (methods === undefined) routed = upgrade !== undefined && r.handler === undefined ? ['GET'] : '*'
  else if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string')) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: methods must be an array of method names`)
  } else routed = methods.length === 0 || methods.includes('*') ? '*' : (methods as string[])
  if (upgrade !== undefined && routed !== '*' && !routed.includes('GET')) {
    throw configError(
      'X_ERR_HTTP_INVALID_SERVICE',
      `${at}: an upgrade resource must take GET (the handshake)`,
    )
  }
  const template = path === '/' ? basePath || '/' : basePath + path

  const names = new Set<string>()
  const restNames = new Set<string>()
  for (const m of path.matchAll(PARAM_NAME)) {
    names.add(m[1]!)
    if (m[0].startsWith('{...')) restNames.add(m[1]!)
  }
  let pathPlans: ParamPlan[] | undefined
  if (r.params !== undefined) {
    if (!isObject(r.params))
      throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: params must be an object`)
    for (const name of Object.keys(r.params)) {
      const type = r.params[name] as ScalarType
      if (!names.has(name)) {
        throw configError(
          'X_ERR_HTTP_INVALID_SERVICE',
          `${at}: params.${name} is not a parameter of the path`,
        )
      }
      if (restNames.has(name) && type !== 'string') {
        throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: the rest parameter ${name} is a string`)
      }
      const plan = compileParam(name, type, `${at} path parameter`, false)
      if (plan.scalar !== 'string') {
        pathPlans ??= []
        pathPlans.push(plan)
      }
    }
  }
  const queryPlans = compileSpecs(r.query, `${at} query parameter`, true, false)
  const headerPlans = compileSpecs(r.headers, `${at} header`, true, true)
  if (r.consumes !== undefined && (!Array.isArray(r.consumes) || r.consumes.length === 0)) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: consumes must be a non-empty array`)
  }
  const consumesList = r.consumes as readonly unknown[] | undefined
  const body =
    r.body === undefined ? undefined : compileBody(r.body as never, consumesList, options.maxBodySize, at)
  const consumes =
    body !== undefined
      ? body.consumes
      : consumesList === undefined
        ? undefined
        : compileMatcher(consumesList, at)
  if (r.produces !== undefined && !Array.isArray(r.produces)) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${at}: produces must be an array`)
  }
  const produces = r.produces === undefined ? undefined : compileProduces(r.produces as unknown[], at)
  const chunking = policy<ChunkingPolicy>(r.chunking, `${at} chunking`, serviceChunking)
  const cors = compileCors(serviceCors, r.cors, at)
  const compression = compileCompression(
    r.compression,
    serviceCompression,
    `${at}: `,
    'X_ERR_HTTP_INVALID_SERVICE',
  )
  const cache = compileCaching(r, at)
  const sse = compileSse(r.sse, at)
  const plain =
    pathPlans === undefined &&
    queryPlans === undefined &&
    headerPlans === undefined &&
    body === undefined &&
    consumes === undefined &&
    produces === undefined &&
    cache?.validators === undefined &&
    upgrade === undefined
  return {
    methods: routed,
    template,
    compiled: {
      handler: handler as (ctx: unknown) => unknown,
      thisArg: thisArg ?? r,
      template,
      plain,
      pathPlans,
      queryPlans,
      headerPlans,
      body,
      consumes,
      produces,
      chunking,
      cors,
      compression,
      cache,
      sse,
      upgrade,
    },
  }
}

/** Compiles one service declaration (plain object or decorated instance). */
export function compileService(declared: unknown, options: ResolvedOptions): CompiledService {
  if (!isObject(declared)) throw configError('X_ERR_HTTP_INVALID_SERVICE', 'a service must be an object')
  const fromClass = decoratedService(declared)
  const svc: Service = fromClass?.service ?? (declared as unknown as Service)
  const thisArg = fromClass === undefined ? undefined : declared
  if (!Array.isArray(svc.resources)) {
    throw configError(
      'X_ERR_HTTP_INVALID_SERVICE',
      'a service needs a resources array (or @ResourceConfig methods)',
    )
  }
  const basePath = normaliseBasePath(svc.basePath)
  let host: string | undefined
  if (svc.host !== undefined) {
    if (typeof svc.host !== 'string' || svc.host.length === 0 || /[\s/:]/.test(svc.host)) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', 'host must be a host name without port')
    }
    host = svc.host.toLowerCase()
  }
  const serviceChunking = policy<ChunkingPolicy>(svc.chunking, 'service chunking', options.chunking)
  const serviceCors = compileCors(svc.cors, undefined, `service ${basePath || '/'}`)
  const serviceCompression = compileCompression(
    svc.compression,
    options.compression,
    'service ',
    'X_ERR_HTTP_INVALID_SERVICE',
  )
  let hasCors = serviceCors !== undefined
  const chain = [...options.filters, ...checkFilters(svc.filters, 'service')]
  const router = createRouter<CompiledResource>({
    caseSensitive: options.caseSensitive,
    ignoreTrailingSlash: options.ignoreTrailingSlash,
  })
  const methods = new Set<string>()
  const upgrades: CompiledUpgrade[] = []
  svc.resources.forEach((r, i) => {
    const {
      methods: routed,
      template,
      compiled,
    } = compileResource(r, thisArg, basePath, serviceChunking, svc.cors, serviceCompression, options, i)
    if (compiled.cors !== undefined) hasCors = true
    try {
      router.add(routed, template, compiled)
    } catch (e) {
      if (isRouterError(e))
        throw configError('X_ERR_HTTP_INVALID_SERVICE', `resource ${template}: ${e.message}`, e)
      throw e
    }
    if (routed === '*') methods.add('*')
    else for (const m of routed) methods.add(m)
    if (compiled.upgrade !== undefined) upgrades.push(compiled.upgrade)
  })
  const basePathKey = options.caseSensitive ? safeDecode(basePath) : safeDecode(basePath).toLowerCase()
  return {
    source: declared,
    basePath,
    basePathKey,
    host,
    chain,
    hasRequestHooks: chain.some((f) => f.request !== undefined),
    hasResponseHooks: chain.some((f) => f.response !== undefined),
    router,
    methods: [...methods],
    cors: serviceCors,
    hasCors,
    compression: serviceCompression,
    upgrades,
  }
}

/** The services of one Listener, ordered for selection. */
export class ServiceTable {
  /** Longest base path first; a host-bound service before a host-less one of the same base path. */
  private readonly ordered: readonly CompiledService[]
  private readonly byHost: Map<string, readonly CompiledService[]> | undefined
  private readonly hostless: readonly CompiledService[]
  /** Listener filters alone: the chain of requests no service takes. */
  readonly rootChain: readonly Filter[]
  readonly rootHasRequestHooks: boolean
  readonly rootHasResponseHooks: boolean
  /** Methods of every resource, for `OPTIONS *`. */
  readonly allow: readonly string[]
  /** Some resource upgrades to WebSocket: handshakes go through the pipeline (upgrade.ts). */
  readonly upgrades: boolean
  private readonly slow: boolean

  constructor(
    readonly services: readonly CompiledService[],
    options: ResolvedOptions,
  ) {
    const seen = new Set<string>()
    for (const s of services) {
      const key = `${s.host ?? ''} ${s.basePathKey}`
      if (seen.has(key)) {
        throw configError(
          'X_ERR_HTTP_DUPLICATE_BASE_PATH',
          `two services share the basePath ${s.basePath || '/'}${s.host === undefined ? '' : ` on host ${s.host}`}`,
        )
      }
      seen.add(key)
    }
    const order = (a: CompiledService, b: CompiledService) =>
      b.basePath.length - a.basePath.length || (a.host === undefined ? 1 : 0) - (b.host === undefined ? 1 : 0)
    this.ordered = [...services].sort(order)
    this.hostless = this.ordered.filter((s) => s.host === undefined)
    const hosts = new Set(services.flatMap((s) => (s.host === undefined ? [] : [s.host])))
    this.byHost =
      hosts.size === 0
        ? undefined
        : new Map(
            [...hosts].map((h) => [h, this.ordered.filter((s) => s.host === undefined || s.host === h)]),
          )
    this.rootChain = options.filters
    this.rootHasRequestHooks = options.filters.some((f) => f.request !== undefined)
    this.rootHasResponseHooks = options.filters.some((f) => f.response !== undefined)
    const all = new Set<string>()
    for (const s of services) for (const m of s.methods) if (m !== '*') all.add(m)
    if (all.has('GET')) all.add('HEAD')
    all.add('OPTIONS')
    this.allow = [...all].sort()
    this.upgrades = services.some((s) => s.upgrades.length > 0)
    this.slow = !options.caseSensitive
  }

  /** The service for a request: Ballerina's longest matching base path, among those for its host. */
  select(req: IncomingMessage, url: string): CompiledService | undefined {
    const list = this.byHost === undefined ? this.hostless : (this.byHost.get(hostOf(req)) ?? this.hostless)
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!
      const bp = s.basePath
      if (bp.length === 0) return s
      if (url.startsWith(bp)) {
        const c = url.charCodeAt(bp.length)
        if (Number.isNaN(c) /* end */ || c === 47 /* / */ || c === 63 /* ? */) return s
      }
    }
    if (this.slow || url.indexOf('%') !== -1) return this.selectSlow(list, url)
    return undefined
  }

  /** Percent-escaped or case-folded paths: compare decoded segments. */
  private selectSlow(list: readonly CompiledService[], url: string): CompiledService | undefined {
    const q = url.indexOf('?')
    let path: string
    try {
      path = decodeURIComponent(q === -1 ? url : url.slice(0, q))
    } catch {
      return undefined
    }
    if (this.slow) path = path.toLowerCase()
    for (const s of list) {
      const bp = s.basePathKey
      if (bp.length === 0) return s
      if (path.startsWith(bp) && (path.length === bp.length || path.charCodeAt(bp.length) === 47)) return s
    }
    return undefined
  }
}

/** The Host header's name, lower-cased, without port (IPv6 literals keep their brackets). */
function hostOf(req: IncomingMessage): string {
  const host = req.headers.host
  if (host === undefined) return ''
  let end = host.length
  const colon = host.lastIndexOf(':')
  if (colon !== -1 && host.indexOf(']', colon) === -1) end = colon
  return host.slice(0, end).toLowerCase()
}
