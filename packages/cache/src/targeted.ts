// Targeted cache-control fields (RFC 9213, such as CDN-Cache-Control): Structured Field
// dictionaries (RFC 8941 §4.2.2) read into the same directives Cache-Control gives. A field
// that does not parse is ignored as a whole, as RFC 9213 §2.1 asks. Surrogate-Control, the
// older W3C Edge Architecture field, has its own list syntax and is read apart.

import { type CacheControlDirectives, parseDeltaSeconds } from './directives.js'
import { fieldValue, splitList } from './headers.js'

type Bare =
  | number
  | string
  | boolean
  | { token: string }
  | { decimal: number }
  | { bytes: string }
  | { date: number }
type Member = { value: Bare | Bare[]; params: Map<string, Bare> }

class Reader {
  i = 0
  constructor(readonly s: string) {}
  ch(): string {
    return this.s[this.i] ?? ''
  }
  code(): number {
    return this.s.charCodeAt(this.i)
  }
  done(): boolean {
    return this.i >= this.s.length
  }
  skipSp(): void {
    while (this.s[this.i] === ' ') this.i++
  }
  skipOws(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++
  }
}

function isLcAlpha(c: number): boolean {
  return c >= 97 && c <= 122
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

// RFC 9110 tchar, plus ':' and '/' that sf-token allows after the first character.
function isTokenChar(c: number): boolean {
  if (isDigit(c) || (c >= 65 && c <= 90) || isLcAlpha(c)) return true
  return "!#$%&'*+-.^_`|~:/".includes(String.fromCharCode(c))
}

function parseKey(r: Reader): string | undefined {
  const first = r.code()
  if (!(isLcAlpha(first) || first === 42)) return undefined
  const start = r.i
  r.i++
  while (!r.done()) {
    const c = r.code()
    if (!(isLcAlpha(c) || isDigit(c) || c === 95 || c === 45 || c === 46 || c === 42)) break
    r.i++
  }
  return r.s.slice(start, r.i)
}

function parseNumber(r: Reader): number | undefined {
  const start = r.i
  if (r.ch() === '-') r.i++
  if (!isDigit(r.code())) return undefined
  let intDigits = 0
  while (isDigit(r.code())) {
    r.i++
    intDigits++
  }
  if (r.ch() !== '.') {
    if (intDigits > 15) return undefined
    return Number(r.s.slice(start, r.i))
  }
  if (intDigits > 12) return undefined
  r.i++
  let frac = 0
  while (isDigit(r.code())) {
    r.i++
    frac++
  }
  if (frac < 1 || frac > 3) return undefined
  return Number(r.s.slice(start, r.i))
}

function parseBare(r: Reader): Bare | undefined {
  const c = r.code()
  if (c === 45 || isDigit(c)) {
    const start = r.i
    const n = parseNumber(r)
    if (n === undefined) return undefined
    // Integers and decimals are different types, even for "60.0".
    return r.s.slice(start, r.i).includes('.') ? { decimal: n } : n
  }
  if (c === 34) {
    r.i++
    let out = ''
    while (!r.done()) {
      const ch = r.code()
      if (ch === 92) {
        r.i++
        const next = r.ch()
        if (next !== '"' && next !== '\\') return undefined
        out += next
        r.i++
      } else if (ch === 34) {
        r.i++
        return out
      } else if (ch < 0x20 || ch > 0x7e) {
        return undefined
      } else {
        out += r.s[r.i]
        r.i++
      }
    }
    return undefined
  }
  if (c === 42 || (c >= 65 && c <= 90) || isLcAlpha(c)) {
    const start = r.i
    r.i++
    while (!r.done() && isTokenChar(r.code())) r.i++
    return { token: r.s.slice(start, r.i) }
  }
  if (c === 58) {
    const end = r.s.indexOf(':', r.i + 1)
    if (end === -1) return undefined
    const b64 = r.s.slice(r.i + 1, end)
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined
    r.i = end + 1
    return { bytes: b64 }
  }
  if (c === 63) {
    const v = r.s[r.i + 1]
    if (v !== '0' && v !== '1') return undefined
    r.i += 2
    return v === '1'
  }
  if (c === 64) {
    r.i++
    const start = r.i
    const n = parseNumber(r)
    if (n === undefined || r.s.slice(start, r.i).includes('.')) return undefined
    return { date: n }
  }
  return undefined
}

function parseParams(r: Reader): Map<string, Bare> | undefined {
  const params = new Map<string, Bare>()
  while (r.ch() === ';') {
    r.i++
    r.skipSp()
    const key = parseKey(r)
    if (key === undefined) return undefined
    let value: Bare = true
    if (r.ch() === '=') {
      r.i++
      const v = parseBare(r)
      if (v === undefined) return undefined
      value = v
    }
    params.set(key, value)
  }
  return params
}

function parseItemOrInnerList(r: Reader): Member | undefined {
  if (r.ch() === '(') {
    r.i++
    const items: Bare[] = []
    for (;;) {
      r.skipSp()
      if (r.ch() === ')') {
        r.i++
        break
      }
      const item = parseBare(r)
      if (item === undefined || parseParams(r) === undefined) return undefined
      items.push(item)
      if (r.ch() !== ' ' && r.ch() !== ')') return undefined
    }
    const params = parseParams(r)
    return params === undefined ? undefined : { value: items, params }
  }
  const value = parseBare(r)
  if (value === undefined) return undefined
  const params = parseParams(r)
  return params === undefined ? undefined : { value, params }
}

/** Parses an RFC 8941 dictionary; undefined when the text is not one (the whole field is then ignored). */
export function parseDictionary(text: string): Map<string, Member> | undefined {
  const r = new Reader(text)
  const out = new Map<string, Member>()
  r.skipSp()
  while (!r.done()) {
    const key = parseKey(r)
    if (key === undefined) return undefined
    let member: Member | undefined
    if (r.ch() === '=') {
      r.i++
      member = parseItemOrInnerList(r)
    } else {
      const params = parseParams(r)
      member = params === undefined ? undefined : { value: true, params }
    }
    if (member === undefined) return undefined
    out.set(key, member)
    r.skipOws()
    if (r.done()) return out
    if (r.ch() !== ',') return undefined
    r.i++
    r.skipOws()
    if (r.done()) return undefined
  }
  return out
}

const NUMERIC = ['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'] as const
const FLAGS = [
  'public',
  'no-store',
  'must-revalidate',
  'proxy-revalidate',
  'must-understand',
  'immutable',
  'no-transform',
] as const

function fieldNamesOf(value: Bare | Bare[]): true | string[] {
  if (!Array.isArray(value)) return true
  const names: string[] = []
  for (const v of value) {
    if (typeof v === 'string') names.push(v.toLowerCase())
    else if (typeof v === 'object' && 'token' in v) names.push(v.token.toLowerCase())
  }
  return names.length === 0 ? true : names
}

/**
 * Surrogate-Control (W3C Edge Architecture 1.0): `max-age=n[+m]` and `no-store`, each
 * optionally `;device` targeted. Only untargeted directives apply to a cache that advertises
 * no device token; undefined when none applies.
 */
export function surrogateDirectives(value: string): CacheControlDirectives | undefined {
  const out: Record<string, unknown> = {}
  let any = false
  for (const member of splitList(value)) {
    if (member.includes(';')) continue
    const eq = member.indexOf('=')
    const name = (eq === -1 ? member : member.slice(0, eq)).trim().toLowerCase()
    if (name === 'no-store') {
      out['no-store'] = true
      any = true
    } else if (name === 'max-age' && eq !== -1) {
      const arg = member.slice(eq + 1)
      const plus = arg.indexOf('+')
      const n = parseDeltaSeconds(plus === -1 ? arg : arg.slice(0, plus))
      if (n !== undefined && !('max-age' in out)) {
        out['max-age'] = n
        any = true
      }
    }
  }
  return any ? (out as CacheControlDirectives) : undefined
}

/**
 * The directives of the first targeted field (in `targets` order) that is present, parses
 * and is not empty; undefined when none is, and the cache then reads Cache-Control. A
 * directive whose value has the wrong type (such as `max-age="60"`) is ignored.
 */
export function targetedDirectives(
  headers: Record<string, string | string[] | undefined>,
  targets: readonly string[],
): CacheControlDirectives | undefined {
  for (const name of targets) {
    const raw = fieldValue(headers[name])
    if (raw === undefined) continue
    const text = raw.trim()
    if (text.length === 0) continue
    if (name === 'surrogate-control') {
      const legacy = surrogateDirectives(text)
      if (legacy !== undefined) return legacy
      continue
    }
    const dict = parseDictionary(text)
    if (dict === undefined || dict.size === 0) continue
    const out: Record<string, unknown> = {}
    for (const key of NUMERIC) {
      const v = dict.get(key)?.value
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[key] = Math.min(v, 2147483648)
    }
    for (const key of FLAGS) if (dict.get(key)?.value === true) out[key] = true
    for (const key of ['no-cache', 'private'] as const) {
      const v = dict.get(key)?.value
      if (v === undefined || v === false) continue
      if (v === true || Array.isArray(v)) out[key] = fieldNamesOf(v)
    }
    return out as CacheControlDirectives
  }
  return undefined
}
