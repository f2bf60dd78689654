// Binding of path parameters, query parameters and headers to their declared types. Plans
// are compiled once per resource at attach time; a request pays only for what its resource
// declares. A value that does not convert is a 400 that names the parameter.

import { configError } from '../errors.js'
import { raise } from './problem.js'
import type { ArrayType, ParamSpec, RawParams, ScalarType } from './types.js'

const FAIL = Symbol('fail')
type Converted = string | number | boolean | typeof FAIL
type Converter = (raw: string) => Converted

function toInteger(raw: string): Converted {
  const len = raw.length
  if (len === 0 || len > 17) return FAIL
  let i = raw.charCodeAt(0) === 45 /* - */ || raw.charCodeAt(0) === 43 /* + */ ? 1 : 0
  if (i === len) return FAIL
  for (; i < len; i++) {
    const c = raw.charCodeAt(i)
    if (c < 48 || c > 57) return FAIL
  }
  const n = Number(raw)
  return Number.isSafeInteger(n) ? n : FAIL
}

// Decimal numbers only: no hex, no "Infinity", no blanks (Number() accepts all of those).
// The pattern cannot backtrack: every quantified part is delimited by a different char.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
function toNumber(raw: string): Converted {
  if (raw.length === 0 || raw.length > 64 || !DECIMAL.test(raw)) return FAIL
  const n = Number(raw)
  return Number.isFinite(n) ? n : FAIL
}

function toBoolean(raw: string): Converted {
  if (raw.length === 4 && raw.toLowerCase() === 'true') return true
  if (raw.length === 5 && raw.toLowerCase() === 'false') return false
  return FAIL
}

function asString(raw: string): Converted {
  return raw
}

const CONVERTERS: Record<ScalarType, Converter> = {
  string: asString,
  integer: toInteger,
  number: toNumber,
  boolean: toBoolean,
}

const TYPE_WORDS: Record<ScalarType, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
}

/** One declared query parameter or header, compiled. */
export interface ParamPlan {
  readonly name: string
  readonly scalar: ScalarType
  readonly array: boolean
  readonly convert: Converter
  readonly optional: boolean
  readonly hasDefault: boolean
  readonly default: unknown
}

function isScalar(t: unknown): t is ScalarType {
  return t === 'string' || t === 'integer' || t === 'number' || t === 'boolean'
}

/** Compiles one declared parameter; throws `X_ERR_HTTP_INVALID_SERVICE` for a bad declaration. */
export function compileParam(name: string, spec: ParamSpec, where: string, allowArray: boolean): ParamPlan {
  const decl = typeof spec === 'string' ? { type: spec } : spec
  if (typeof decl !== 'object' || decl === null || typeof decl.type !== 'string') {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where} ${name}: declare a type such as 'integer'`)
  }
  const type = decl.type as ScalarType | ArrayType
  const array = type.endsWith('[]')
  const scalar = (array ? type.slice(0, -2) : type) as ScalarType
  if (!isScalar(scalar) || (array && !allowArray)) {
    throw configError('X_ERR_HTTP_INVALID_SERVICE', `${where} ${name}: unknown type ${JSON.stringify(type)}`)
  }
  const optional = 'optional' in decl && decl.optional === true
  const hasDefault = 'default' in decl && decl.default !== undefined
  return {
    name,
    scalar,
    array,
    convert: CONVERTERS[scalar],
    optional,
    hasDefault,
    default: hasDefault ? decl.default : undefined,
  }
}

/** Converts a path parameter; throws a 400 naming it. */
export function convertPath(plan: ParamPlan, raw: string): unknown {
  const v = plan.convert(raw)
  if (v === FAIL) {
    throw raise(
      'X_ERR_HTTP_INVALID_PARAM',
      `path parameter ${plan.name} must be ${TYPE_WORDS[plan.scalar]}`,
      plan.name,
    )
  }
  return v
}

/** Binds one query parameter or header from its raw value(s); throws a 400 naming it. */
export function bindParam(
  plan: ParamPlan,
  raw: string | readonly string[] | undefined,
  kind: 'query parameter' | 'header',
): unknown {
  if (raw === undefined) {
    if (plan.hasDefault) return plan.default
    if (plan.optional) return undefined
    throw raise('X_ERR_HTTP_INVALID_PARAM', `${kind} ${plan.name} is required`, plan.name)
  }
  if (plan.array) {
    const list = typeof raw === 'string' ? [raw] : raw
    const out: unknown[] = []
    for (const item of list) {
      const v = plan.convert(item)
      if (v === FAIL) {
        throw raise(
          'X_ERR_HTTP_INVALID_PARAM',
          `${kind} ${plan.name} must hold ${TYPE_WORDS[plan.scalar]} in each value`,
          plan.name,
        )
      }
      out.push(v)
    }
    return out
  }
  if (typeof raw !== 'string') {
    throw raise('X_ERR_HTTP_INVALID_PARAM', `${kind} ${plan.name} must be given once`, plan.name)
  }
  const v = plan.convert(raw)
  if (v === FAIL) {
    throw raise(
      'X_ERR_HTTP_INVALID_PARAM',
      `${kind} ${plan.name} must be ${TYPE_WORDS[plan.scalar]}`,
      plan.name,
    )
  }
  return v
}

/** Splits a comma-separated header into its trimmed, non-empty members (RFC 9110 §5.6.1). */
export function headerList(raw: string | readonly string[]): string[] {
  const out: string[] = []
  const parts = typeof raw === 'string' ? [raw] : raw
  for (const part of parts) {
    for (const item of part.split(',')) {
      const t = item.trim()
      if (t.length !== 0) out.push(t)
    }
  }
  return out
}

function decodeComponent(s: string, plus: boolean): string | undefined {
  if (plus && s.indexOf('+') !== -1) s = s.replaceAll('+', ' ')
  if (s.indexOf('%') === -1) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** Most fields parsed from one query string or form body: the rest are ignored (as qs does). */
const MAX_FIELDS = 1000

/**
 * Parses `a=1&b=2&a=3` (query strings and form bodies): `+` is a space, values are
 * percent-decoded, a repeated name collects every value. Returns undefined for a malformed
 * escape. The result has no prototype, so `__proto__` is an ordinary name.
 */
export function parseParams(text: string): RawParams | undefined {
  const out: Record<string, string | string[]> = Object.create(null)
  if (text.length === 0) return out
  let start = 0
  let fields = 0
  while (start <= text.length && fields < MAX_FIELDS) {
    let end = text.indexOf('&', start)
    if (end === -1) end = text.length
    if (end > start) {
      const eq = text.indexOf('=', start)
      const hasValue = eq !== -1 && eq < end
      const name = decodeComponent(text.slice(start, hasValue ? eq : end), true)
      const value = hasValue ? decodeComponent(text.slice(eq + 1, end), true) : ''
      if (name === undefined || value === undefined) return undefined
      const prev = out[name]
      if (prev === undefined) out[name] = value
      else if (typeof prev === 'string') out[name] = [prev, value]
      else prev.push(value)
      fields++
    }
    start = end + 1
  }
  return out
}

/** The raw query string of a request target (after `?`), or ''. */
export function queryString(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q + 1)
}
