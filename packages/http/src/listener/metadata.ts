// Where the decorators of `@x/http/decorators` leave a class's service and resource
// configuration, and how `attach()` reads it back. Keys are registered symbols, so the ESM and
// CJS builds of each entry point agree.

import type { Resource, Service } from './types.js'

/** Key of the `@ServiceConfig` options in a class's decorator metadata. */
export const SERVICE_KEY: unique symbol = Symbol.for('x.http.service') as never
/** Key of the per-class list of `@ResourceConfig` methods in a class's decorator metadata. */
export const RESOURCES_KEY: unique symbol = Symbol.for('x.http.resources') as never

/** One decorated method: its name on the instance and its configuration. */
export interface DecoratedResource {
  readonly key: string | symbol
  readonly config: Omit<Resource, 'handler'>
}

/** `Symbol.metadata`, or the registered symbol the decorators entry installs on Node 20. */
export function metadataSymbol(): symbol {
  return (Symbol as { metadata?: symbol }).metadata ?? Symbol.for('Symbol.metadata')
}

/** The service a decorated class instance declares, or undefined for a plain object. */
export function decoratedService(instance: object): { service: Service } | undefined {
  const ctor = (instance as { constructor?: unknown }).constructor
  if (typeof ctor !== 'function') return undefined
  const meta = (ctor as unknown as Record<symbol, Record<symbol, unknown> | undefined>)[metadataSymbol()]
  if (meta === undefined || meta === null) return undefined
  const config = meta[SERVICE_KEY] as Omit<Service, 'resources'> | undefined
  const decorated = meta[RESOURCES_KEY] as readonly DecoratedResource[] | undefined
  if (config === undefined && decorated === undefined) return undefined
  const target = instance as Record<string | symbol, unknown>
  const resources: Resource[] = (decorated ?? []).map((d) => ({
    ...d.config,
    // Looked up on the instance, so a subclass that overrides a decorated method serves its override.
    handler: target[d.key] as Resource['handler'],
  }))
  return { service: { ...config, resources } }
}
