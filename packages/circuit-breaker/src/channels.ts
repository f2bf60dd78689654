// The diagnostics channels this package publishes on. Channels are process-wide by name,
// so ESM and CJS copies of the package share them.
import { channel } from 'node:diagnostics_channel'

/** Every state change of every breaker: a {@link StateChangeEvent} plus `breaker`. */
export const stateChangeChannel = channel('x:circuit-breaker:state-change')
/** A call rejected by an open (or full half-open) circuit: `{ breaker, name, state, retryAfterMs }`. */
export const rejectChannel = channel('x:circuit-breaker:reject')
/** A keyed breaker dropped to stay within `maxBreakers`: `{ key, state }`. */
export const evictChannel = channel('x:circuit-breaker:evict')
