// `@x/http/decorators`: Ballerina's @ServiceConfig and @ResourceConfig as TC39 standard
// decorators. Importing this module installs a `Symbol.metadata` shim on runtimes without it
// (Node 20), which is why this entry point is listed in the package's `sideEffects`.

import type { WebSocketService } from '@x/websocket'
import { configError } from './errors.js'
import { type DecoratedResource, RESOURCES_KEY, SERVICE_KEY } from './listener/metadata.js'
import type { ResourceContext, Service } from './listener/types.js'

// The registered symbol esbuild's decorator helpers fall back to, so classes compiled by
// esbuild (tsx, vite, tsup) and by tsc agree on where their metadata lives.
if ((Symbol as { metadata?: symbol }).metadata === undefined) {
  Object.defineProperty(Symbol, 'metadata', { value: Symbol.for('Symbol.metadata'), configurable: true })
}

/** Options of {@link ServiceConfig}: a service's settings, without its resources. */
export type ServiceConfigOptions = Omit<Service, 'resources'>

/**
 * Options of {@link ResourceConfig}: a resource's settings, without its handler (the method is
 * the handler). With an `upgrade` that names no `service`, the method is the upgrade resource
 * of Ballerina instead: it returns the WebSocket service of each connection.
 */
export type ResourceConfigOptions = DecoratedResource['config']

/** What a decorated method returns: a WebSocket service when it makes the service of an upgrade. */
export type ResourceMethodResult<C> = C extends { readonly upgrade: infer U }
  ? U extends { readonly service: unknown }
    ? unknown
    : WebSocketService | PromiseLike<WebSocketService>
  : unknown

/** The context type a `@ResourceConfig(config)` method receives. */
export type ResourceConfigContext<C> = ResourceContext<
  C extends { readonly path: infer P extends string } ? P : string,
  C extends { readonly params: infer T } ? T : unknown,
  C extends { readonly query: infer T } ? T : unknown,
  C extends { readonly headers: infer T } ? T : unknown,
  C extends { readonly body: infer T } ? T : undefined
>

/** Marks a class as a service (`basePath`, `host`, `filters`, `chunking`); attach an instance to a Listener. */
export function ServiceConfig(config: ServiceConfigOptions = {}) {
  if (typeof config !== 'object' || config === null) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', '@ServiceConfig takes an options object')
  }
  return <C extends abstract new (...args: never) => object>(
    _target: C,
    context: ClassDecoratorContext<C>,
  ): void => {
    if (context.metadata === undefined) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', 'decorator metadata is unavailable on this runtime')
    }
    context.metadata[SERVICE_KEY] = config
  }
}

/**
 * Marks a method as a resource. The method receives the typed context of `config`: a method
 * that declares parameters the path template does not have does not compile.
 */
export function ResourceConfig<const C extends ResourceConfigOptions>(config: C) {
  if (typeof config !== 'object' || config === null || typeof config.path !== 'string') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', '@ResourceConfig needs a path')
  }
  return <This>(
    _target: (this: This, ctx: ResourceConfigContext<C>) => ResourceMethodResult<C>,
    context: ClassMethodDecoratorContext<
      This,
      (this: This, ctx: ResourceConfigContext<C>) => ResourceMethodResult<C>
    >,
  ): void => {
    if (context.static || context.private) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', '@ResourceConfig goes on public instance methods')
    }
    const meta = context.metadata
    if (meta === undefined) {
      throw configError('X_ERR_HTTP_INVALID_SERVICE', 'decorator metadata is unavailable on this runtime')
    }
    // A subclass's metadata inherits its parent's through the prototype chain: copy the list
    // before adding to it, so the subclass's routes never leak into the parent.
    let list: DecoratedResource[]
    if (Object.hasOwn(meta, RESOURCES_KEY)) list = meta[RESOURCES_KEY] as DecoratedResource[]
    else {
      list = [...((meta[RESOURCES_KEY] as DecoratedResource[] | undefined) ?? [])]
      meta[RESOURCES_KEY] = list
    }
    const entry: DecoratedResource = { key: context.name, config }
    const overridden = list.findIndex((d) => d.key === context.name)
    if (overridden === -1) list.push(entry)
    else list[overridden] = entry
  }
}
