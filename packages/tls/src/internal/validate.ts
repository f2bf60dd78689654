// Eager option checks shared by the server and client factories; each failure is a
// TlsError with code X_ERR_TLS_INVALID_OPTION naming the option.
import { TlsError } from '../errors.js'

/** TLS protocol versions Node accepts as minVersion / maxVersion. */
export type TlsVersion = 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1'

/** ALPN protocol identifiers this package negotiates. */
export type AlpnProtocol = 'h2' | 'http/1.1'

const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

function invalid(option: string, message: string): TlsError {
  return new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} ${message}`, { option })
}

export function checkBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(option, 'must be a boolean')
  return value
}

/** A positive safe integer (or zero when `allowZero`), `fallback` when undefined. */
export function checkPositive(value: unknown, option: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || (value === 0 && !allowZero)) {
    throw invalid(option, allowZero ? 'must be a non-negative integer' : 'must be a positive integer')
  }
  return value
}

export function checkRatio(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value > 0 && value < 1))
    throw invalid(option, 'must be a number between 0 and 1')
  return value
}

export function checkEnum<const T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(option, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

export function checkVersions(min: unknown, max: unknown): { min: TlsVersion; max: TlsVersion } {
  const lo = min === undefined ? 'TLSv1.2' : checkEnum(min, 'minVersion', VERSIONS)
  const hi = max === undefined ? 'TLSv1.3' : checkEnum(max, 'maxVersion', VERSIONS)
  if (VERSIONS.indexOf(lo) > VERSIONS.indexOf(hi)) throw invalid('minVersion', 'is above maxVersion')
  return { min: lo, max: hi }
}

export function checkAlpn(value: unknown, option: string): readonly AlpnProtocol[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(option, 'must be a non-empty list')
  const seen = new Set<string>()
  for (const protocol of value) {
    checkEnum(protocol, option, ['h2', 'http/1.1'] as const)
    if (seen.has(protocol)) throw invalid(option, `lists ${protocol} twice`)
    seen.add(protocol)
  }
  return value as AlpnProtocol[]
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** A DNS host name (LDH labels, at most 253 characters), lower-cased; trailing dot dropped. */
export function checkServerName(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 254) {
    throw invalid(option, 'must be a DNS host name')
  }
  let name = value.toLowerCase()
  if (name.endsWith('.')) name = name.slice(0, -1)
  const labels = name.split('.')
  if (labels.length < 1 || !labels.every((l) => LABEL.test(l)))
    throw invalid(option, 'must be a DNS host name')
  return name
}

/** An SNI map key: a host name, or `*.` followed by one (the wildcard covers exactly one label). */
export function checkSniName(value: string, option: string): string {
  if (value.startsWith('*.')) return `*.${checkServerName(value.slice(2), option)}`
  return checkServerName(value, option)
}

export function cipherList(ciphers: string | readonly string[]): string {
  const list = typeof ciphers === 'string' ? ciphers : Array.isArray(ciphers) ? ciphers.join(':') : undefined
  if (list === undefined || list === '') {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', 'ciphers must be a non-empty string or list', {
      option: 'ciphers',
    })
  }
  return list
}

export function checkUrl(url: unknown, option: string): void {
  try {
    if (typeof url !== 'string') throw new Error('not a string')
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)')
  } catch (cause) {
    throw new TlsError('X_ERR_TLS_INVALID_OPTION', `${option} must be an http(s) URL`, { option, cause })
  }
}
