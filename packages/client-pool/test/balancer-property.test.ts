import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BalanceConfig, BalanceState, TargetState } from '../src/internal/balance-state.js'

const config = (algorithm: BalanceConfig['algorithm'], panicThreshold: number): BalanceConfig => ({
  algorithm,
  failover: null,
  outlier: {
    consecutiveFailures: 1,
    baseEjectionTime: 1_000_000,
    maxEjectionTime: 1_000_000,
    maxEjectionPercent: 100,
    statusCodes: new Set([500]),
  },
  panicThreshold,
  budget: null,
  deposit: false,
  bypass: null,
  now: () => 0,
  random: Math.random,
})

const targetState = fc.record({
  available: fc.boolean(),
  ejected: fc.boolean(),
  tried: fc.boolean(),
  inflight: fc.nat(5),
})

describe('balancer pick (property)', () => {
  it.each([
    { name: 'round-robin', algorithm: 'round-robin' as const },
    { name: 'least-request', algorithm: 'least-request' as const },
    { name: 'failover', algorithm: 'failover' as const },
  ])(
    '$name picks an available, untried target, ejected only when no other can take it or in panic',
    ({ algorithm }) => {
      fc.assert(
        fc.property(
          fc.array(targetState, { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 0, max: 100 }),
          (states, panic) => {
            const targets = states.map((s, i) => {
              const t = new TargetState(i, `http://t${i}`, `http://t${i}`, '', () => s.available, null)
              t.inflight = s.inflight
              return t
            })
            const state = new BalanceState(targets, config(algorithm, panic))
            // One failure ejects (for a long time, on a clock that stands still).
            for (let i = 0; i < targets.length; i++) if (states[i]!.ejected) state.failure(targets[i]!)
            const tried = targets.filter((_, i) => states[i]!.tried)
            const req = {
              method: 'GET',
              path: '/',
              headers: undefined,
              attempt: 0,
              tried: tried.length === 0 ? null : tried,
            }
            const picked = state.pick(req)
            // A naive reference of who may take the request.
            const usable = states.map((s) => s.available && !s.tried)
            const healthy = states.filter((s) => s.available && !s.ejected).length
            const anyEjected = states.some((s) => s.ejected)
            const panicking = anyEjected && healthy * 100 < panic * states.length
            const preferred = usable.map((u, i) => u && (panicking || !states[i]!.ejected))
            if (!usable.some(Boolean)) {
              expect(picked).toBeUndefined()
              return
            }
            expect(picked).toBeDefined()
            const i = picked!.index
            expect(usable[i]).toBe(true)
            if (preferred.some(Boolean)) expect(preferred[i]).toBe(true)
            if (algorithm === 'failover')
              expect(i).toBe(preferred.some(Boolean) ? preferred.indexOf(true) : usable.indexOf(true))
          },
        ),
        { numRuns: 500 },
      )
    },
  )
})
