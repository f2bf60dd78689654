// Conditional requests (RFC 9110 §13.2.2) evaluated in the RFC's order, for a server (the
// Listener) and for the cache answering a client's own validators from a stored response.

import { type EntityTag, parseEtag, parseEtagList } from './etag.js'
import { fieldValue, type HeaderRecord } from './headers.js'
import { parseHttpDate } from './http-date.js'

/** What the selected representation looks like, as the server would send it. */
export interface ConditionalTarget {
  /** The request method. */
  method: string
  /** The request's header fields, lower-case names. */
  headers: HeaderRecord
  /** The selected representation's ETag (after content coding), if it has one. */
  etag?: string | undefined
  /** Its Last-Modified, as an HTTP-date string or milliseconds. */
  lastModified?: string | number | undefined
  /** Whether a current representation exists (for `*`). @defaultValue true */
  exists?: boolean
  /** The status the response would have without conditionals; only 2xx is evaluated. @defaultValue 200 */
  status?: number
}

/** The outcome: send the response, answer 304 Not Modified, or 412 Precondition Failed. */
export type ConditionalResult =
  | { kind: 'proceed' }
  | { kind: 'not-modified' }
  | { kind: 'precondition-failed' }

const PROCEED: ConditionalResult = Object.freeze({ kind: 'proceed' })
const NOT_MODIFIED: ConditionalResult = Object.freeze({ kind: 'not-modified' })
const FAILED: ConditionalResult = Object.freeze({ kind: 'precondition-failed' })

function singleDate(value: string | string[] | undefined): number | undefined {
  // A list of dates (or repeated lines) is not a valid HTTP-date: ignored (RFC 9110 §13.1.3-4).
  if (value === undefined || Array.isArray(value)) return undefined
  return parseHttpDate(value)
}

function lastModifiedMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v / 1000) * 1000 : undefined
  return parseHttpDate(v)
}

function anyMatch(list: EntityTag[], current: EntityTag, strong: boolean): boolean {
  for (const t of list) {
    if (t.opaque !== current.opaque) continue
    if (!strong || (!t.weak && !current.weak)) return true
  }
  return false
}

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the
 * order of RFC 9110 §13.2.2. Garbage dates are ignored, malformed list members skipped;
 * it never throws.
 */
export function evaluateConditionals(target: ConditionalTarget): ConditionalResult {
  const status = target.status ?? 200
  if (status < 200 || status > 299) return PROCEED
  const h = target.headers
  const exists = target.exists ?? true
  const current = target.etag === undefined ? undefined : parseEtag(target.etag)
  const lm = lastModifiedMs(target.lastModified)
  const method = target.method.toUpperCase()
  const safe = method === 'GET' || method === 'HEAD'

  // Step 1: If-Match (strong comparison); step 2: If-Unmodified-Since only without it.
  const ifMatch = fieldValue(h['if-match'])
  if (ifMatch !== undefined) {
    const list = parseEtagList(ifMatch)
    const ok = list === '*' ? exists : exists && current !== undefined && anyMatch(list ?? [], current, true)
    if (!ok) return FAILED
  } else {
    const since = singleDate(h['if-unmodified-since'])
    if (since !== undefined && lm !== undefined && lm > since) return FAILED
  }

  // Step 3: If-None-Match (weak comparison); step 4: If-Modified-Since only without it.
  const ifNoneMatch = fieldValue(h['if-none-match'])
  if (ifNoneMatch !== undefined) {
    const list = parseEtagList(ifNoneMatch)
    const matched = list === '*' ? exists : current !== undefined && anyMatch(list ?? [], current, false)
    if (matched) return safe ? NOT_MODIFIED : FAILED
    return PROCEED
  }
  if (safe) {
    const since = singleDate(h['if-modified-since'])
    if (since !== undefined && lm !== undefined && lm <= since) return NOT_MODIFIED
  }
  return PROCEED
}

// RFC 9110 §15.4.5: what a 304 must carry if a 200 would have (plus Last-Modified, which
// lets caches update their stored metadata).
const NOT_MODIFIED_FIELDS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
]

/** The header fields of a 304 answer, picked from those the 200 would have carried. */
export function notModifiedHeaders(headers: HeaderRecord): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name of NOT_MODIFIED_FIELDS) {
    const v = headers[name]
    if (v !== undefined) out[name] = v
  }
  return out
}
