import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../src/index.ts'
import { fakeClock } from './helpers/clock.ts'

/** The naive reference: keep every call, and count those whose bucket is still in the window. */
function referenceTripIndex(
  events: ReadonlyArray<{ at: number; failed: boolean }>,
  timeWindow: number,
  bucketSize: number,
  volume: number,
  threshold: number,
): number {
  const buckets = timeWindow / bucketSize
  const kept: Array<{ bucket: number; failed: boolean }> = []
  for (const [i, e] of events.entries()) {
    const bucket = Math.floor(e.at / bucketSize)
    kept.push({ bucket, failed: e.failed })
    const inWindow = kept.filter((k) => k.bucket > bucket - buckets)
    const failures = inWindow.filter((k) => k.failed).length
    if (e.failed && inWindow.length >= volume && failures >= threshold * inWindow.length) return i
  }
  return -1
}

describe('rolling window', () => {
  it('trips at the same call as a naive count over the window', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([1_000, 100], [1_000, 1_000], [10_000, 2_000], [6_000, 500]),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(0.1, 0.2, 0.5, 0.75, 1),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3_000 }), failed: fc.boolean() }), {
          maxLength: 80,
        }),
        ([timeWindow, bucketSize], volume, threshold, steps) => {
          const clock = fakeClock(0)
          const breaker = new CircuitBreaker({
            rollingWindow: { timeWindow, bucketSize, requestVolumeThreshold: volume },
            failureThreshold: threshold,
            now: clock.now,
          })
          const events: Array<{ at: number; failed: boolean }> = []
          let tripped = -1
          for (const [i, step] of steps.entries()) {
            clock.advance(step.dt)
            events.push({ at: clock.now(), failed: step.failed })
            // Synchronous functions are counted before execute() returns.
            breaker
              .execute(() => {
                if (step.failed) throw new Error('x')
                return 1
              })
              .catch(() => {})
            if (breaker.state === 'open') {
              tripped = i
              break
            }
          }
          expect(tripped).toBe(referenceTripIndex(events, timeWindow, bucketSize, volume, threshold))
        },
      ),
      { numRuns: 300 },
    )
  })
})
