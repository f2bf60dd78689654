// HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate and the two obsolete forms a recipient
// must accept. Anything else is undefined, never an exception and never a guessed date.

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
}
const DAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])
const LONG_DAYS = new Set(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])

function digits(s: string, from: number, n: number): number {
  let v = 0
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

function time(s: string, at: number): [number, number, number] | undefined {
  if (s[at + 2] !== ':' || s[at + 5] !== ':') return undefined
  const h = digits(s, at, 2)
  const m = digits(s, at + 3, 2)
  const sec = digits(s, at + 6, 2)
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return undefined
  return [h, m, sec]
}

function build(y: number, mon: number | undefined, d: number, t: [number, number, number] | undefined) {
  if (mon === undefined || t === undefined || y < 0 || d < 1 || d > 31) return undefined
  const ms = Date.UTC(y, mon, d, t[0], t[1], t[2] === 60 ? 59 : t[2])
  // Date.UTC rolls 31 Feb into March: reject days the month does not have.
  if (new Date(ms).getUTCDate() !== d) return undefined
  return ms
}

/** Milliseconds since the epoch for a valid HTTP-date, or undefined. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const s = value.trim()
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars)
  if (s.length === 29 && s[3] === ',' && s.endsWith(' GMT')) {
    if (!DAYS.has(s.slice(0, 3)) || s[4] !== ' ' || s[7] !== ' ' || s[11] !== ' ' || s[16] !== ' ')
      return undefined
    return build(digits(s, 12, 4), MONTHS[s.slice(8, 11)], digits(s, 5, 2), time(s, 17))
  }
  // asctime: "Sun Nov  6 08:49:37 1994" (24 chars)
  if (s.length === 24 && s[3] === ' ' && s[7] === ' ') {
    if (!DAYS.has(s.slice(0, 3)) || s[10] !== ' ' || s[19] !== ' ') return undefined
    const day = s[8] === ' ' ? digits(s, 9, 1) : digits(s, 8, 2)
    return build(digits(s, 20, 4), MONTHS[s.slice(4, 7)], day, time(s, 11))
  }
  // rfc850: "Sunday, 06-Nov-94 08:49:37 GMT"
  const comma = s.indexOf(',')
  if (comma > 0 && s.length === comma + 24 && s.endsWith(' GMT') && LONG_DAYS.has(s.slice(0, comma))) {
    const at = comma + 2
    if (s[at - 1] !== ' ' || s[at + 2] !== '-' || s[at + 6] !== '-' || s[at + 9] !== ' ') return undefined
    let y = digits(s, at + 7, 2)
    if (y < 0) return undefined
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    const thisYear = new Date().getUTCFullYear()
    y += 2000
    if (y > thisYear + 50) y -= 100
    return build(y, MONTHS[s.slice(at + 3, at + 6)], digits(s, at, 2), time(s, at + 10))
  }
  return undefined
}

/** Formats `ms` as an IMF-fixdate. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString()
}
