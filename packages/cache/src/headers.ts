// Header plumbing: undici's request-header shapes to one lower-case record, field values
// joined and normalised as RFC 9111 §4.1 allows for Vary matching, and list splitting.

/** Lower-case field name to value; repeated field lines are kept as an array. */
export type HeaderRecord = Record<string, string | string[] | undefined>

function addValue(out: Record<string, string | string[]>, key: string, v: string): void {
  const prev = out[key]
  if (prev === undefined) out[key] = v
  else if (Array.isArray(prev)) prev.push(v)
  else out[key] = [prev, v]
}

function addField(out: Record<string, string | string[]>, name: unknown, value: unknown): void {
  if (value === undefined || value === null) return
  const key = typeof name === 'string' ? name.toLowerCase() : String(name).toLowerCase()
  if (Array.isArray(value)) {
    for (const v of value) addValue(out, key, String(v))
  } else {
    addValue(out, key, typeof value === 'string' ? value : String(value))
  }
}

/**
 * Turns any request-header shape undici accepts (object, flat array, array of pairs,
 * iterable of pairs) into a fresh lower-case record. Repeated lines become arrays.
 */
export function toHeaderRecord(headers: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (headers == null || typeof headers !== 'object') return out
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) addField(out, pair[0], pair[1])
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) addField(out, headers[i], headers[i + 1])
    }
    return out
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[unknown, unknown]>) addField(out, pair[0], pair[1])
    return out
  }
  const record = headers as Record<string, unknown>
  for (const name in record) addField(out, name, record[name])
  return out
}

/** One string for a field: repeated lines joined with ", " (RFC 9110 §5.3). */
export function fieldValue(value: string | string[] | undefined | null): string | undefined {
  if (value == null) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

/** Splits a comma-separated list, trimming members and dropping empty ones; quotes are respected. */
export function splitList(value: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i <= value.length; i++) {
    const c = value.charCodeAt(i)
    if (i < value.length) {
      if (c === 34 /* " */) quoted = !quoted
      else if (c === 92 /* \ */ && quoted) i++
      if (c !== 44 /* , */ || quoted) continue
    }
    const member = value.slice(start, i).trim()
    if (member.length > 0) out.push(member)
    start = i + 1
  }
  return out
}

// Fields whose values are case-insensitive tokens and whose member order carries no
// meaning (q-values rank them), so a cache may lower-case and sort them (RFC 9111 §4.1).
const UNORDERED_CASELESS = new Set(['accept-encoding', 'accept-charset', 'te'])
const CASELESS = new Set(['accept-encoding', 'accept-charset', 'accept-language', 'te'])

/**
 * The value a cache compares for a field named by Vary: lines combined, whitespace
 * around list commas and parameter semicolons removed, case and order normalised where
 * the field's definition makes them meaningless. Absent fields are null.
 */
export function normaliseVaryValue(name: string, value: string | string[] | undefined | null): string | null {
  const joined = fieldValue(value)
  if (joined === undefined) return null
  const members = splitList(joined)
  const caseless = CASELESS.has(name)
  for (let i = 0; i < members.length; i++) {
    let m = members[i]!
    if (m.includes(';')) {
      m = m
        .split(';')
        .map((p) => p.trim())
        .join(';')
    }
    members[i] = caseless ? m.toLowerCase() : m
  }
  if (UNORDERED_CASELESS.has(name)) members.sort()
  return members.join(',')
}

/** True for an RFC 9110 token (field names, directive names). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (
      c <= 32 ||
      c >= 127 ||
      c === 34 ||
      c === 40 ||
      c === 41 ||
      c === 44 ||
      c === 47 ||
      (c >= 58 && c <= 64) ||
      (c >= 91 && c <= 93) ||
      c === 123 ||
      c === 125
    )
      return false
  }
  return true
}
