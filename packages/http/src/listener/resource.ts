// The typed way to declare a resource as a plain object: resource() infers the path template
// and the binding declarations, so the handler's ctx is typed and its parameter names checked.

import type { CacheControlOptions } from '@x/cache'
import type { CompressionPolicy } from '../client/options.js'
import type { ResourceValidators } from './caching.js'
import type { CompressionOptions } from './compression.js'
import type { CorsOptions } from './cors.js'
import type { SseResourceOptions } from './sse.js'
import type {
  BodySpec,
  ChunkingPolicy,
  Context,
  PathParamNames,
  Resource,
  ResourceContext,
  ScalarType,
  UpgradeSpec,
} from './types.js'

/** A resource declaration whose handler context is typed from the declaration itself. */
export interface ResourceSpec<Path extends string, PT, QT, HT, BT> {
  readonly methods?: readonly string[]
  readonly path: Path
  readonly params?: PT
  readonly query?: QT
  readonly headers?: HT
  readonly body?: BT
  readonly consumes?: readonly string[]
  readonly produces?: readonly string[]
  readonly chunking?: ChunkingPolicy
  readonly cors?: CorsOptions | false
  readonly compression?: CompressionPolicy | CompressionOptions
  readonly cacheControl?: CacheControlOptions
  readonly etag?: boolean
  validators?(ctx: Context): ResourceValidators | undefined | Promise<ResourceValidators | undefined>
  readonly sse?: boolean | SseResourceOptions
  /** WebSocket upgrade: a service, or a function of the typed request that returns one. */
  readonly upgrade?: UpgradeSpec<ResourceContext<Path, PT, QT, HT, undefined>>
  /** Optional with `upgrade` (plain requests then get 426). */
  handler?(ctx: ResourceContext<Path, PT, QT, HT, BT>): unknown
}

/**
 * Declares a resource with a typed context: `ctx.params` has the template's parameter names
 * (converted to their declared types), `ctx.query`, `ctx.headers` and `ctx.body` their
 * declared types. Returns the declaration unchanged.
 */
export function resource<
  const Path extends string,
  const PT extends { readonly [K in PathParamNames<Path>]?: ScalarType } = Record<never, never>,
  const QT = unknown,
  const HT = unknown,
  const BT extends BodySpec | undefined = undefined,
>(spec: ResourceSpec<Path, PT, QT, HT, BT>): Resource {
  return spec as unknown as Resource
}
