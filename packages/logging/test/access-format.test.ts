import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AccessRecord, accessLog } from '../src/index.ts'
import { basicUser, escapeNginx, formatTimeLocal } from '../src/internal/nginx.ts'

function record(overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    remoteAddress: '192.0.2.7',
    method: 'GET',
    target: '/index.html?a=1',
    protocol: 'HTTP/1.1',
    headers: { referer: 'https://ref.example/', 'user-agent': 'curl/8.5.0' },
    status: 200,
    bodyBytes: 612,
    requestBodyBytes: 0,
    startTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    durationMs: 12.3456,
    requestId: 'abc',
    aborted: false,
    ...overrides,
  }
}

const stream = { write() {} }

// The naive reference: nginx's escape table written out as a predicate, byte by byte.
function naiveEscape(bytes: number[]): string {
  return bytes
    .map((b) =>
      b <= 0x1f || b === 0x22 || b === 0x5c || b >= 0x7f
        ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b),
    )
    .join('')
}

describe('nginx escaping', () => {
  it('escapes exactly the bytes in nginx’s table, with upper-case hex', () => {
    const all = Array.from({ length: 256 }, (_, i) => i)
    expect(escapeNginx(String.fromCharCode(...all))).toBe(naiveEscape(all))
    expect(escapeNginx('"\\\x00\x7f\xff')).toBe('\\x22\\x5C\\x00\\x7F\\xFF')
  })

  it('agrees with the byte-by-byte reference on any latin1 string', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }), (bytes) => {
        expect(escapeNginx(String.fromCharCode(...bytes))).toBe(naiveEscape(bytes))
      }),
    )
  })

  it('writes a char above 0xFF as the escaped UTF-8 bytes it travels as', () => {
    expect(escapeNginx('a€b')).toBe('a\\xE2\\x82\\xACb')
    expect(escapeNginx('😀')).toBe('\\xF0\\x9F\\x98\\x80')
  })

  it('never lets a field break the line or close its quotes, whatever the record holds', () => {
    const log = accessLog({ destination: { stream } })
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (agent, target) => {
        const line = log.format(record({ target, headers: { 'user-agent': agent } }))
        expect(line.includes('\n')).toBe(false)
        expect(line.match(/"/g)).toHaveLength(6)
      }),
    )
  })
})

describe('$time_local', () => {
  it('has the Common Log Format shape with the local offset', () => {
    const t = formatTimeLocal(Date.UTC(2026, 0, 2, 3, 4, 5))
    expect(t).toMatch(/^\d{2}\/Jan\/2026:\d{2}:04:05 [+-]\d{4}$/)
    const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5))
    const off = -d.getTimezoneOffset()
    const sign = off < 0 ? '-' : '+'
    const abs = Math.abs(off)
    expect(
      t.endsWith(
        `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`,
      ),
    ).toBe(true)
  })
})

describe('$remote_user', () => {
  const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64')
  it.each([
    { name: 'plain credentials', header: `Basic ${b64('alice:secret')}`, user: 'alice' },
    { name: 'scheme in any case and extra spaces', header: `bAsIc    ${b64('bob:x')}`, user: 'bob' },
    { name: 'empty password', header: `Basic ${b64('carol:')}`, user: 'carol' },
    { name: 'colon in the password', header: `Basic ${b64('dave:a:b')}`, user: 'dave' },
    { name: 'unpadded base64', header: `Basic ${b64('erin:pw').replace(/=+$/, '')}`, user: 'erin' },
    { name: 'latin1 byte in the name', header: `Basic ${b64('z\xe9:p')}`, user: 'z\xe9' },
    { name: 'no header', header: undefined, user: undefined },
    { name: 'another scheme', header: 'Bearer abc.def', user: undefined },
    { name: 'no colon', header: `Basic ${b64('frank')}`, user: undefined },
    { name: 'empty name', header: `Basic ${b64(':pw')}`, user: undefined },
    { name: 'bad base64 byte', header: 'Basic YWxp*2U6cA==', user: undefined },
    { name: 'length 1 mod 4', header: 'Basic YWxpY', user: undefined },
    { name: 'nothing after the scheme', header: 'Basic    ', user: undefined },
    { name: 'scheme only, too short', header: 'Basic', user: undefined },
  ])('reads $name as nginx does', ({ header, user }) => {
    expect(basicUser(header)).toBe(user)
  })
})

describe('formats', () => {
  it('writes combined byte for byte', () => {
    const log = accessLog({ destination: { stream } })
    const now = formatTimeLocal(Date.now())
    const line = log.format(record())
    const time = /\[([^\]]+)\]/.exec(line)![1]!
    expect(time.slice(-5)).toBe(now.slice(-5))
    expect(line).toBe(
      `192.0.2.7 - - [${time}] "GET /index.html?a=1 HTTP/1.1" 200 612 "https://ref.example/" "curl/8.5.0"`,
    )
  })

  it('writes common as combined without referer and user agent, zero-padding a short status', () => {
    const log = accessLog({ format: 'common', destination: { stream } })
    const line = log.format(record({ status: 9, bodyBytes: 0, remoteAddress: undefined }))
    expect(line).toMatch(/^- - - \[[^\]]+\] "GET \/index.html\?a=1 HTTP\/1.1" 009 0$/)
  })

  it('writes json with duration, protocol, request id, and UTF-8 text decoded from the bytes', () => {
    const log = accessLog({ format: 'json', destination: { stream } })
    const j = JSON.parse(
      log.format(
        record({ headers: { 'user-agent': 'caf\xc3\xa9 \xff"' }, protocol: 'HTTP/2.0', durationMs: 1.23456 }),
      ),
    )
    expect(j).toMatchObject({
      msg: 'access',
      protocol: 'HTTP/2.0',
      request_id: 'abc',
      duration_ms: 1.235,
      http_user_agent: 'caf\xc3\xa9 \xff"',
      http_referer: null,
      remote_user: null,
    })
    const utf8 = JSON.parse(log.format(record({ headers: { 'user-agent': 'caf\xc3\xa9' } })))
    expect(utf8.http_user_agent).toBe('café')
  })

  it('writes Ballerina’s attributes flat, in the order given, quoting as Ballerina does', () => {
    const log = accessLog({
      format: [
        'ip',
        'date_time',
        'request',
        'status',
        'response_body_size',
        'http_referrer',
        'http_user_agent',
        'request_time',
        'http_x_forwarded_for',
        'http_x_custom_header',
        'scheme',
        'request_body_size',
        'request_method',
        'request_uri',
        'request_id',
      ],
      destination: { stream },
    })
    const line = log.format(
      record({
        headers: { 'user-agent': 'ua', 'x-custom-header': 'v"1', 'x-forwarded-for': '203.0.113.9, 10.0.0.1' },
      }),
    )
    expect(line).toMatch(
      /^192\.0\.2\.7 \[\d{2}\/Jan\/2026:\d{2}:\d{2}:05\.678 [+-]\d{4}\] "GET \/index\.html\?a=1 HTTP\/1\.1" 200 612 "-" "ua" 12 "203\.0\.113\.9, 10\.0\.0\.1" "v\\x221" HTTP\/1\.1 0 GET \/index\.html\?a=1 abc$/,
    )
  })

  it('writes Ballerina’s attributes as JSON with numbers as numbers and "-" for a missing header', () => {
    const log = accessLog({
      format: { attributes: ['ip', 'status', 'request_time', 'http_referrer', 'request'], style: 'json' },
      destination: { stream },
    })
    expect(JSON.parse(log.format(record({ headers: {} })))).toEqual({
      ip: '192.0.2.7',
      status: 200,
      request_time: 12,
      http_referrer: '-',
      request: 'GET /index.html?a=1 HTTP/1.1',
    })
  })

  it('joins a repeated header with a comma, as nginx does since 1.23', () => {
    const log = accessLog({ format: ['http_x_a'], destination: { stream } })
    expect(log.format(record({ headers: { 'x-a': ['1', '2'] } }))).toBe('"1, 2"')
  })
})
