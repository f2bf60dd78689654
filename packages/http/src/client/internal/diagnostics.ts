// The Client's diagnostics_channel events (channels are process-wide by name).
import { channel } from 'node:diagnostics_channel'

const redirect = channel('x:http:client:redirect')
const retry = channel('x:http:client:retry')
const retryRefused = channel('x:http:client:retry-refused')

/** A redirect is being followed. */
export function publishRedirect(from: string, to: string, statusCode: number, method: string): void {
  if (redirect.hasSubscribers) redirect.publish({ from, to, statusCode, method })
}

/** A failed attempt will be retried after `delayMs`. */
export function publishRetry(details: {
  method: string
  url: string
  attempt: number
  delayMs: number
  statusCode: number | undefined
  error: Error | undefined
}): void {
  if (retry.hasSubscribers) retry.publish(details)
}

/** A `Retry-After` asked for a longer wait than `maxWaitInterval`: the response is returned instead. */
export function publishRetryRefused(details: {
  method: string
  url: string
  statusCode: number
  retryAfterMs: number
  maxWaitInterval: number
}): void {
  if (retryRefused.hasSubscribers) retryRefused.publish(details)
}
