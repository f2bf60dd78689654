// The fault test: three backends, 100 concurrent requests, one backend killed mid-run
// (server closed, sockets destroyed) and restarted on the same port. Phases advance on events
// (request counts, breaker state changes), never on sleeps; times are shortened to keep it
// to a few seconds.
import type { StateChangeEvent } from '@x/circuit-breaker'
import { describe, expect, it } from 'vitest'
import type { LoadBalanceClient } from '../../src/index.js'
import { backend, channelMessages, loadBalanceClient } from './helpers.ts'

const CONCURRENCY = 100
const PER_PHASE = 300

/** Resolves when `client`'s breaker for `url` enters `state`. */
function whenState(client: LoadBalanceClient, url: string, state: string): Promise<void> {
  const breaker = client.targetBreaker(url)!
  return new Promise((resolve) => {
    const fn = (e: StateChangeEvent) => {
      if (e.to !== state) return
      breaker.off('stateChange', fn)
      resolve()
    }
    breaker.on('stateChange', fn)
  })
}

describe('fault: one of three backends dies under load', () => {
  it('fails no request with failover on, opens the dead target breaker, and sends traffic back once it returns', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const c = await backend('c')
    const lb = loadBalanceClient({
      targets: [a.url, b.url, c.url],
      timeout: 15_000,
      circuitBreaker: {
        rollingWindow: { timeWindow: 500, bucketSize: 50, requestVolumeThreshold: 5 },
        failureThreshold: 0.5,
        resetTime: 300,
      },
      outlierDetection: { baseEjectionTime: 200, maxEjectionTime: 400 },
    })

    const failovers = channelMessages('x:client-pool:failover')
    const failures: unknown[] = []
    const served = { a: 0, b: 0, c: 0 } as Record<string, number>
    let done = 0
    let stop = false
    const waiters: Array<{ at: number; resolve: () => void }> = []
    const after = (n: number) =>
      new Promise<void>((resolve) => {
        waiters.push({ at: done + n, resolve })
      })
    const loop = async () => {
      while (!stop) {
        try {
          const body = await (await lb.get('/')).text()
          served[body] = (served[body] ?? 0) + 1
        } catch (err) {
          failures.push(err)
        }
        done++
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (done >= waiters[i]!.at) waiters.splice(i, 1)[0]!.resolve()
        }
      }
    }

    const loops = Array.from({ length: CONCURRENCY }, loop)
    await after(PER_PHASE)
    expect(served.b).toBeGreaterThan(0)

    // Kill b mid-run: its server closes and every socket to it is destroyed.
    const opened = whenState(lb, b.url, 'open')
    await b.kill()
    await opened
    await after(PER_PHASE)
    const servedWhileDead = { ...served }

    // b comes back on the same port; after resetTime a probe finds it and closes its breaker.
    const closed = whenState(lb, b.url, 'closed')
    const seenBefore = b.seen.length
    await b.restart()
    await closed
    await after(PER_PHASE)
    stop = true
    await Promise.all(loops)

    expect(failures).toEqual([])
    expect(failovers.length).toBeGreaterThan(0) // requests caught on b moved on
    expect(b.seen.length).toBeGreaterThan(seenBefore)
    expect(served.b).toBeGreaterThan(servedWhileDead.b!)
    expect(lb.targetStats()[1]!.circuit).toBe('closed')
  })
})
