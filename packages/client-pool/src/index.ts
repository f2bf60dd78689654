export type { ClientPoolErrorCode } from './errors.js'
export { ClientPoolError, isClientPoolError } from './errors.js'
export type {
  ClientPoolOptions,
  HttpVersion,
  KeepAlivePolicy,
  PoolTlsOptions,
  ProxyOptions,
  ResolvedPoolOptions,
  ResolvedProxy,
} from './options.js'
export type { OriginStats } from './pool.js'
export { ClientPool } from './pool.js'
