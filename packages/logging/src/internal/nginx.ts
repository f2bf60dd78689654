// nginx's rules for access-log fields, reproduced byte for byte: variable escaping (its
// ngx_http_log_escape table), $time_local and $remote_user (Basic credentials).

const HEX = '0123456789ABCDEF'

/**
 * nginx's default `escape=default`: `"`, `\`, bytes below 0x20 and above 0x7E become `\xHH`
 * (upper-case hex). Node hands header values and the request target over as latin1 strings,
 * one char per byte, so each char is the byte nginx would see. A char above 0xFF (only a
 * caller-built record can hold one) is written as the UTF-8 bytes it would travel as.
 */
export function escapeNginx(s: string): string {
  const n = s.length
  let i = 0
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) break
  }
  if (i === n) return s
  let out = s.slice(0, i)
  for (; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff) {
      // A surrogate pair is one code point: take both halves together.
      const end = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? i + 2 : i + 1
      for (const b of Buffer.from(s.slice(i, end), 'utf8')) out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`
      i = end - 1
    } else if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`
    } else {
      out += s[i]
    }
  }
  return out
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`
}

function offset(d: Date): string {
  // getTimezoneOffset is minutes *behind* UTC: UTC+02:00 answers -120.
  const off = -d.getTimezoneOffset()
  const abs = Math.abs(off)
  return `${off < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
}

/** `28/Sep/1970:12:00:00 +0600`, local time, as nginx's $time_local and the Common Log Format write it. */
export function formatTimeLocal(ms: number): string {
  const d = new Date(ms)
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${offset(d)}`
}

/** Ballerina's `date_time`: `28/Sep/1970:12:00:00.123 +0600` (the CLF time with milliseconds). */
export function formatTimeLocalMs(ms: number): string {
  const d = new Date(ms)
  const milli = d.getMilliseconds()
  const frac = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : `${milli}`
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${frac} ${offset(d)}`
}

/**
 * Formats $time_local once per second: a busy server writes thousands of lines a second,
 * and nginx itself caches the string per second for the same reason. One per access log,
 * never module-wide.
 */
export class SecondClock {
  private second = -1
  private text = ''

  timeLocal(ms: number): string {
    const second = Math.floor(ms / 1000)
    if (second !== this.second) {
      this.second = second
      this.text = formatTimeLocal(ms)
    }
    return this.text
  }
}

// nginx's ngx_decode_base64 table: 77 marks a byte outside the standard alphabet.
const B64 = new Uint8Array(256).fill(77)
for (let i = 0; i < 64; i++)
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i

/**
 * nginx's $remote_user: the user name of `Authorization: Basic …` credentials, or undefined
 * where nginx logs `-` (no header, another scheme, bad base64, no colon, empty name). Decoding
 * stops at the first `=` and rejects any other byte outside the alphabet, as nginx does.
 */
export function basicUser(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 6) return undefined
  if (authorization.slice(0, 6).toLowerCase() !== 'basic ') return undefined
  let i = 6
  while (i < authorization.length && authorization.charCodeAt(i) === 0x20) i++
  let len = 0
  const start = i
  for (; i < authorization.length; i++, len++) {
    const c = authorization.charCodeAt(i)
    if (c === 0x3d) break
    if (c > 0xff || B64[c] === 77) return undefined
  }
  if (len === 0 || len % 4 === 1) return undefined
  const out: number[] = []
  let p = start
  let rest = len
  const at = (k: number) => B64[authorization.charCodeAt(p + k)]!
  while (rest > 3) {
    out.push(
      ((at(0) << 2) | (at(1) >> 4)) & 0xff,
      ((at(1) << 4) | (at(2) >> 2)) & 0xff,
      ((at(2) << 6) | at(3)) & 0xff,
    )
    p += 4
    rest -= 4
  }
  if (rest > 1) out.push(((at(0) << 2) | (at(1) >> 4)) & 0xff)
  if (rest > 2) out.push(((at(1) << 4) | (at(2) >> 2)) & 0xff)
  const colon = out.indexOf(0x3a)
  if (colon <= 0) return undefined
  // One char per byte, like every other field: escapeNginx then writes bytes above 0x7E as \xHH.
  let user = ''
  for (let k = 0; k < colon; k++) user += String.fromCharCode(out[k]!)
  return user
}
