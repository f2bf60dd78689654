// A clock the test drives: timers run only when advance() passes their time.
import type { Clock, TimerHandle } from '../../src/index.ts'

interface FakeTimer {
  readonly id: number
  readonly at: number
  readonly ms: number
  readonly fn: () => void
}

export class FakeClock implements Clock {
  time = 0
  private nextId = 1
  private readonly timers = new Map<number, FakeTimer>()
  private readonly waiters: Array<{ ms: number | undefined; resolve: (t: FakeTimer) => void }> = []
  /** Every delay ever scheduled, in order. */
  readonly scheduled: number[] = []

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + ms, ms, fn }
    this.timers.set(timer.id, timer)
    this.scheduled.push(ms)
    for (const w of this.waiters.slice()) {
      if (w.ms === undefined || w.ms === ms) {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        w.resolve(timer)
      }
    }
    return timer.id
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number)
  }

  /** Delays of the timers still pending. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.ms)
  }

  /** Resolves once a timer (of `ms`, when given) is pending. */
  waitForTimer(ms?: number): Promise<void> {
    for (const t of this.timers.values()) if (ms === undefined || t.ms === ms) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ ms, resolve: () => resolve() }))
  }

  /** Moves time forward, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      let due: FakeTimer | undefined
      for (const t of this.timers.values()) if (t.at <= end && (due === undefined || t.at < due.at)) due = t
      if (due === undefined) break
      this.timers.delete(due.id)
      this.time = due.at
      due.fn()
    }
    this.time = end
  }
}
