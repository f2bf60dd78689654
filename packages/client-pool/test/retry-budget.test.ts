import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRetryBudget } from '../src/index.js'
import { clock } from './helpers/backends.ts'

describe('retry budget', () => {
  it('applies the documented defaults', () => {
    expect(createRetryBudget().options).toEqual({ ratio: 0.2, minPerSecond: 10, window: 10_000 })
  })

  it('allows the floor of retries with no traffic, then refuses', () => {
    const c = clock()
    const b = createRetryBudget({ ratio: 0.5, minPerSecond: 0.3, window: 10_000, now: c.now })
    expect(b.available).toBe(3)
    expect([b.tryWithdraw(), b.tryWithdraw(), b.tryWithdraw(), b.tryWithdraw()]).toEqual([
      true,
      true,
      true,
      false,
    ])
    expect(b.available).toBe(0)
  })

  it('allows a fraction of the recent requests on top of the floor', () => {
    const c = clock()
    const b = createRetryBudget({ ratio: 0.2, minPerSecond: 0, window: 10_000, now: c.now })
    for (let i = 0; i < 10; i++) b.deposit()
    expect(b.available).toBe(2)
    expect([b.tryWithdraw(), b.tryWithdraw(), b.tryWithdraw()]).toEqual([true, true, false])
    for (let i = 0; i < 5; i++) b.deposit()
    expect(b.tryWithdraw()).toBe(true)
    expect(b.tryWithdraw()).toBe(false)
  })

  it('forgets requests and retries as their buckets leave the window', () => {
    const c = clock(0)
    const b = createRetryBudget({ ratio: 1, minPerSecond: 0, window: 1_000, now: c.now })
    b.deposit() // bucket 0
    c.advance(500)
    b.deposit() // bucket 5
    expect(b.tryWithdraw()).toBe(true)
    expect(b.tryWithdraw()).toBe(true)
    expect(b.tryWithdraw()).toBe(false)
    c.advance(500) // bucket 10: bucket 0 left the window, with one deposit
    expect(b.available).toBe(0)
    c.advance(500) // bucket 15: bucket 5 (a deposit and both retries) left too
    expect(b.available).toBe(0)
    b.deposit()
    expect(b.available).toBe(1)
  })

  it('starts afresh after a gap longer than the window or a clock that went back', () => {
    const c = clock(50_000)
    const b = createRetryBudget({ ratio: 1, minPerSecond: 0, window: 1_000, now: c.now })
    b.deposit()
    expect(b.tryWithdraw()).toBe(true)
    c.advance(-10_000)
    expect(b.available).toBe(0)
    b.deposit()
    c.advance(5_000)
    expect(b.available).toBe(0)
  })

  it('never lets retries exceed floor + ratio × requests in any window (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.boolean()), { maxLength: 200 }),
        (ratio, perSecond, ops) => {
          const c = clock(0)
          const window = 1_000
          const b = createRetryBudget({ ratio, minPerSecond: perSecond, window, now: c.now })
          // A naive reference: every event with its time, counted over the trailing buckets.
          const events: Array<{ at: number; retry: boolean }> = []
          const bucket = window / 10
          for (const [step, isRetry] of ops) {
            c.advance(step)
            const now = c.now()
            const first = (Math.floor(now / bucket) - 9) * bucket
            const inWindow = events.filter((e) => e.at >= first)
            const deposits = inWindow.filter((e) => !e.retry).length
            const retries = inWindow.length - deposits
            if (isRetry) {
              const allowed = retries + 1 <= (perSecond * window) / 1000 + ratio * deposits
              expect(b.tryWithdraw()).toBe(allowed)
              if (allowed) events.push({ at: now, retry: true })
            } else {
              b.deposit()
              events.push({ at: now, retry: false })
            }
          }
        },
      ),
    )
  })
})
