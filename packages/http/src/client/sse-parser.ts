// The event stream parser of the HTML standard (§9.2.6, "Interpreting an event stream"):
// UTF-8 with a leading BOM dropped, CRLF / LF / CR line ends (also split across chunks),
// data lines joined with LF, ids without NUL, retry of ASCII digits only, comments ignored.

/** One event as a client receives it. */
export interface SseEvent {
  /** The event type: the `event` field, or `'message'`. */
  readonly event: string
  /** The data lines joined with LF. */
  readonly data: string
  /** The last event ID as of this event (the server's most recent `id`, kept across events). */
  readonly id: string
}

/** Thrown by the parser: a line or event grew past the size limit. */
export class EventTooLarge extends Error {}

const LF = 10
const CR = 13

/** Parses one connection's stream; `lastEventId` carries over from the previous connection, as Chromium does. */
export class EventStreamParser {
  /** The last event ID buffer: set by `id` fields, read at each dispatch. */
  lastEventId: string
  private readonly decoder = new TextDecoder('utf-8')
  private line = ''
  private data = ''
  private type = ''
  private afterCR = false

  constructor(
    lastEventId: string,
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onRetry: (ms: number) => void,
    private readonly maxSize: number,
  ) {
    this.lastEventId = lastEventId
  }

  /** Feeds bytes; throws `EventTooLarge` past the size limit. */
  push(chunk: Uint8Array): void {
    this.feed(this.decoder.decode(chunk, { stream: true }))
  }

  /** The stream ended: an event without its closing blank line is discarded (HTML §9.2.6). */
  end(): void {
    this.feed(this.decoder.decode())
  }

  private feed(text: string): void {
    const n = text.length
    if (n === 0) return
    let i = 0
    if (this.afterCR) {
      this.afterCR = false
      // The LF of a CRLF split across chunks.
      if (text.charCodeAt(0) === LF) i = 1
    }
    let start = i
    for (; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c !== LF && c !== CR) continue
      const line = this.line.length === 0 ? text.slice(start, i) : this.line + text.slice(start, i)
      this.line = ''
      this.field(line)
      if (c === CR) {
        if (i + 1 === n) this.afterCR = true
        else if (text.charCodeAt(i + 1) === LF) i++
      }
      start = i + 1
    }
    if (start < n) {
      this.line += text.slice(start)
      if (this.line.length > this.maxSize) throw new EventTooLarge('a line of the event stream is too long')
    }
  }

  private field(line: string): void {
    if (line.length === 0) {
      this.dispatch()
      return
    }
    const colon = line.indexOf(':')
    if (colon === 0) return
    let name: string
    let value: string
    if (colon === -1) {
      name = line
      value = ''
    } else {
      name = line.slice(0, colon)
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1)
    }
    switch (name) {
      case 'event':
        this.type = value
        return
      case 'data':
        this.data += `${value}\n`
        if (this.data.length > this.maxSize) throw new EventTooLarge('an event of the stream is too large')
        return
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value
        return
      case 'retry':
        if (isDigits(value)) this.onRetry(Number(value))
        return
      default:
      // Unknown fields are ignored.
    }
  }

  private dispatch(): void {
    const data = this.data
    const type = this.type
    this.data = ''
    this.type = ''
    if (data.length === 0) return
    this.onEvent({
      event: type.length === 0 ? 'message' : type,
      data: data.slice(0, -1),
      id: this.lastEventId,
    })
  }
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}
