import { CircuitBreaker } from '@x/circuit-breaker'
import { type PeerAdapter, SETTINGS } from './types.ts'

export const xBreaker: PeerAdapter = {
  name: '@x/circuit-breaker',
  make(action) {
    const breaker = new CircuitBreaker({
      rollingWindow: {
        timeWindow: SETTINGS.timeWindow,
        bucketSize: SETTINGS.timeWindow / SETTINGS.buckets,
        requestVolumeThreshold: SETTINGS.requestVolumeThreshold,
      },
      failureThreshold: SETTINGS.failureThreshold,
      resetTime: SETTINGS.resetTime,
    })
    return { call: () => breaker.execute(action), close() {} }
  },
}
