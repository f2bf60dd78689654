// Request header plumbing shared by the Client and its interceptors: validation (RFC 9110
// tokens, no CR/LF/NUL), undici's several header shapes flattened to one, and lookups.
import type { DispatchOptions } from './handler.js'

type AnyHeaders = DispatchOptions['headers']

// RFC 9110 §5.6.2 tchar, as a lookup table indexed by char code.
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 48; c <= 57; c++) TCHAR[c] = 1
for (let c = 65; c <= 90; c++) TCHAR[c] = 1
for (let c = 97; c <= 122; c++) TCHAR[c] = 1

/** True for a non-empty RFC 9110 token (header names, methods). */
export function isToken(s: string): boolean {
  if (s.length === 0 || s.length > 256) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 127 || TCHAR[c] !== 1) return false
  }
  return true
}

/** True for a field value without CR, LF, NUL or other controls (HTAB allowed), RFC 9110 §5.5. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false
  }
  return true
}

/** Any undici header shape as a flat `[name, value, ...]` list; repeated values stay repeated. */
export function flatHeaders(headers: AnyHeaders): string[] {
  const out: string[] = []
  if (headers == null) return out
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [k, v] of headers as unknown as Array<[string, string | string[]]>) push(out, k, v)
    } else {
      for (let i = 0; i < headers.length; i += 2) out.push(String(headers[i]), String(headers[i + 1]))
    }
    return out
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string | string[] | undefined]>) push(out, k, v)
    return out
  }
  const record = headers as Record<string, string | string[] | undefined>
  for (const k of Object.keys(record)) push(out, k, record[k])
  return out
}

function push(out: string[], name: string, value: string | string[] | undefined): void {
  if (value === undefined) return
  if (Array.isArray(value)) for (const v of value) out.push(name, v)
  else out.push(name, String(value))
}

/** Whether `headers` has a field named `lower` (given in lower case), in any undici shape. */
export function hasHeader(headers: AnyHeaders, lower: string): boolean {
  if (headers == null) return false
  if (Array.isArray(headers) && (headers.length === 0 || !Array.isArray(headers[0]))) {
    for (let i = 0; i < headers.length; i += 2) {
      const k = String(headers[i])
      if (k.length === lower.length && k.toLowerCase() === lower) return true
    }
    return false
  }
  if (!Array.isArray(headers) && typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    for (const k of Object.keys(headers)) {
      if (k.length === lower.length && k.toLowerCase() === lower) {
        return (headers as Record<string, unknown>)[k] !== undefined
      }
    }
    return false
  }
  const flat = flatHeaders(headers)
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === lower) return true
  return false
}

/** A flat copy of `headers` without the fields for which `drop(lowerName)` is true. */
export function filterHeaders(headers: AnyHeaders, drop: (lower: string) => boolean): string[] {
  const flat = flatHeaders(headers)
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) {
    if (!drop(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!)
  }
  return out
}

/** A flat copy of `headers` with `name` set to `value` (replacing any field of that name). */
export function withHeader(headers: AnyHeaders, lower: string, value: string): string[] {
  const out = filterHeaders(headers, (n) => n === lower)
  out.push(lower, value)
  return out
}
