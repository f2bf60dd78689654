import Opossum from 'opossum'
import { type PeerAdapter, SETTINGS } from './types.ts'

function opossum(name: string, timeout: number | false): PeerAdapter {
  return {
    name,
    make(action) {
      const breaker = new Opossum(action as () => Promise<number>, {
        timeout,
        errorThresholdPercentage: SETTINGS.failureThreshold * 100,
        volumeThreshold: SETTINGS.requestVolumeThreshold,
        resetTimeout: SETTINGS.resetTime,
        rollingCountTimeout: SETTINGS.timeWindow,
        rollingCountBuckets: SETTINGS.buckets,
      })
      return { call: () => breaker.fire(), close: () => breaker.shutdown() }
    },
  }
}

/** opossum's default: a 10 s action timer armed for every call. */
export const opossumTimer = opossum('opossum 9 (10 s timer)', 10_000)
export const opossumNoTimer = opossum('opossum 9 (timeout: false)', false)
