// Where the decorators of `@x/http/decorators` leave a class's service and resource
// configuration, and how `attach()` reads it back. Keys are registered symbols, so the ESM and
// CJS builds of each entry point agree.

import type { Resource, Service, UpgradeSpec } from './types.js'

/** Key of the `@ServiceConfig` options in a class's decorator metadata. */
export const SERVICE_KEY: unique symbol = Symbol.for('x.http.service') as never
/** Key of the per-class list of `@ResourceConfig` methods in a class's decorator metadata. */
export const RESOURCES_KEY: unique symbol = Symbol.for('x.http.resources') as never

/** One decorated method: its name on the instance and its configuration. */
export interface DecoratedResource {
  readonly key: string | symbol
  /** A resource without its handler; an `upgrade` without `service` makes the method its service factory. */
  readonly config: Omit<Resource, 'handler' | 'upgrade'> & {
    readonly upgrade?: Omit<UpgradeSpec, 'service'> & { readonly service?: UpgradeSpec['service'] }
  }
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
  const resources: Resource[] = (decorated ?? []).map((d) => {
    // Looked up on the instance, so a subclass that overrides a decorated method serves its override.
    const method = target[d.key] as (ctx: unknown) => unknown
    const upgrade = d.config.upgrade
    if (upgrade !== undefined && upgrade.service === undefined) {
      // Ballerina's upgrade resource: the method returns the service of each connection.
      const service = (ctx: unknown) => method.call(instance, ctx)
      return { ...d.config, upgrade: { ...upgrade, service } } as Resource
    }
    return { ...d.config, handler: method } as Resource
  })
  return { service: { ...config, resources } }
}
