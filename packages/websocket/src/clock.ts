// The time source behind every timer of this package (heartbeat, idle timeout, close
// timeout, reconnect back-off), injectable so tests can drive time themselves.

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown

/** Where this package reads the time and sets its timers. */
export interface Clock {
  /** Milliseconds on a monotonic or wall clock; only differences are used. */
  now(): number
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** The clock used when none is given: `performance.now()` and Node's timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
})

/** Lets a timer of the system clock stop holding the process open; a no-op on injected clocks. */
export function unrefTimer(handle: TimerHandle): void {
  ;(handle as { unref?: () => void } | null)?.unref?.()
}
