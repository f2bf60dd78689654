// The Client's diagnostics_channel events (channels are process-wide by name).
import { channel } from 'node:diagnostics_channel'

const redirect = channel('x:http:client:redirect')
const retry = channel('x:http:client:retry')
const retryRefused = channel('x:http:client:retry-refused')
const retryBudgetExhausted = channel('x:http:client:retry-budget-exhausted')

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

/** A retry was not made because the retry budget is spent: the failure is returned as it is. */
export function publishRetryBudgetExhausted(details: {
  method: string
  url: string
  attempt: number
  statusCode: number | undefined
}): void {
  if (retryBudgetExhausted.hasSubscribers) retryBudgetExhausted.publish(details)
}
