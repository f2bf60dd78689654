// The diagnostics channels this package publishes on. Channels are process-wide by name,
// so ESM and CJS copies of the package share them.
import { channel } from 'node:diagnostics_channel'

/** Every state change of every breaker: a {@link StateChangeEvent} plus `breaker`. */
export const stateChangeChannel = channel('x:circuit-breaker:state-change')
/** A call rejected by an open (or full half-open) circuit: `{ breaker, name, state, retryAfterMs }`. */
export const rejectChannel = channel('x:circuit-breaker:reject')
/** A keyed breaker dropped to stay within `maxBreakers`: `{ key, state }`. */
export const evictChannel = channel('x:circuit-breaker:evict')
/** A breaker's shared store failed (or timed out); it counts locally until the store answers again: `{ name, error }`. */
export const storeErrorChannel = channel('x:circuit-breaker:store-error')
/** A breaker's shared store answers again after a failure: `{ name }`. */
export const storeRecoverChannel = channel('x:circuit-breaker:store-recover')
