import { ConsecutiveBreaker, circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel'
import { type PeerAdapter, SETTINGS } from './types.ts'

/** cockatiel's rolling-window breaker, the one that matches ours. */
export const cockatielSampling: PeerAdapter = {
  name: 'cockatiel 3 (SamplingBreaker)',
  make(action) {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: SETTINGS.resetTime,
      breaker: new SamplingBreaker({
        threshold: SETTINGS.failureThreshold,
        duration: SETTINGS.timeWindow,
        minimumRps: SETTINGS.requestVolumeThreshold / (SETTINGS.timeWindow / 1000),
      }),
    })
    return { call: () => policy.execute(action), close() {} }
  },
}

/** cockatiel's cheapest breaker (counts consecutive failures, no window), for reference. */
export const cockatielConsecutive: PeerAdapter = {
  name: 'cockatiel 3 (ConsecutiveBreaker)',
  make(action) {
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: SETTINGS.resetTime,
      breaker: new ConsecutiveBreaker(SETTINGS.requestVolumeThreshold),
    })
    return { call: () => policy.execute(action), close() {} }
  },
}
