// A callback service that records what it is told, with promises to await each event.
import type { WebSocketCaller, WebSocketService } from '../../src/index.ts'

export type Event =
  | { kind: 'open'; caller: WebSocketCaller }
  | { kind: 'text'; caller: WebSocketCaller; text: string; final: boolean }
  | { kind: 'binary'; caller: WebSocketCaller; data: Buffer; final: boolean }
  | { kind: 'ping'; caller: WebSocketCaller; data: Buffer }
  | { kind: 'pong'; caller: WebSocketCaller; data: Buffer }
  | { kind: 'idle'; caller: WebSocketCaller }
  | { kind: 'close'; caller: WebSocketCaller; code: number; reason: string }
  | { kind: 'error'; caller: WebSocketCaller; error: Error }

type Kind = Event['kind']
type Of<K extends Kind> = Extract<Event, { kind: K }>

export interface Recorder {
  readonly service: WebSocketService
  readonly events: Event[]
  /** The n-th event of this kind (1-based), now or when it happens. */
  nth<K extends Kind>(kind: K, n: number): Promise<Of<K>>
  next<K extends Kind>(kind: K): Promise<Of<K>>
  count(kind: Kind): number
}

/** Records every callback; `extra` callbacks run after recording (an echo, a throw, …). */
export function recorder(extra: WebSocketService = {}): Recorder {
  const events: Event[] = []
  const waiters: Array<{ kind: Kind; n: number; resolve: (e: Event) => void }> = []
  const consumed = new Map<Kind, number>()
  const count = (kind: Kind) => events.filter((e) => e.kind === kind).length
  const record = (e: Event) => {
    events.push(e)
    for (const w of waiters.slice()) {
      if (w.kind === e.kind && count(e.kind) === w.n) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(e)
      }
    }
  }
  const nth = <K extends Kind>(kind: K, n: number): Promise<Of<K>> => {
    const found = events.filter((e) => e.kind === kind)[n - 1]
    if (found) return Promise.resolve(found as Of<K>)
    return new Promise((resolve) => waiters.push({ kind, n, resolve: resolve as (e: Event) => void }))
  }
  const service: WebSocketService = {
    onOpen(caller) {
      record({ kind: 'open', caller })
      return extra.onOpen?.(caller)
    },
    onText(caller, text, final) {
      record({ kind: 'text', caller, text, final })
      return extra.onText?.(caller, text, final)
    },
    onBinary(caller, data, final) {
      record({ kind: 'binary', caller, data, final })
      return extra.onBinary?.(caller, data, final)
    },
    onPing(caller, data) {
      record({ kind: 'ping', caller, data })
      return extra.onPing?.(caller, data)
    },
    onPong(caller, data) {
      record({ kind: 'pong', caller, data })
      return extra.onPong?.(caller, data)
    },
    onIdleTimeout(caller) {
      record({ kind: 'idle', caller })
      return extra.onIdleTimeout?.(caller)
    },
    onClose(caller, code, reason) {
      record({ kind: 'close', caller, code, reason })
      return extra.onClose?.(caller, code, reason)
    },
    onError(caller, error) {
      record({ kind: 'error', caller, error })
      return extra.onError?.(caller, error)
    },
  }
  return {
    service,
    events,
    nth,
    next<K extends Kind>(kind: K) {
      const n = (consumed.get(kind) ?? 0) + 1
      consumed.set(kind, n)
      return nth(kind, n)
    },
    count,
  }
}

/** Echoes text and binary messages back. */
export const echo: WebSocketService = {
  onText: (caller, text) => caller.pushText(text),
  onBinary: (caller, data) => caller.pushBinary(data),
}
