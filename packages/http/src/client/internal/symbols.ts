// Dispatch-option keys the Client sets for its own interceptors. Symbols, so they never
// collide with undici's options and never reach the wire.

/** `true`: the Client already asked for compression; the decompress step decodes without touching headers. */
export const DECODE = Symbol('x.http.client.decode')
/** A per-request overall timeout (ms) for the deadline step, replacing its default. */
export const DEADLINE = Symbol('x.http.client.deadline')
/** The retry step's per-request state, carried where undici's RetryHandler passes dispatch options. */
export const RETRY_GATE = Symbol('x.http.client.retry-gate')
/** `true` on a redirect hop that names one server: the balancer sends it there, unbalanced. */
export const PINNED = Symbol('x.http.client.pinned')
