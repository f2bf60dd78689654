// A clock tests move by hand, so time is the contract and nothing sleeps.

/** A manual clock: `now()` for the breaker, `advance()` for the test. */
export interface FakeClock {
  readonly now: () => number
  advance(ms: number): void
  set(ms: number): void
}

export function fakeClock(start = 1_000_000): FakeClock {
  let t = start
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
    set(ms) {
      t = ms
    },
  }
}

/** A promise and the functions that settle it, for calls a test holds open. */
export function deferred<T = void>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
