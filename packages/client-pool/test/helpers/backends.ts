// The shared restartable backends (test-support/backends.ts), closed after each test.
import { afterEach } from 'vitest'
import { type Backend, clock, refusedUrl, startBackend } from '../../../../test-support/backends.ts'

export type { Backend }
export { clock, refusedUrl }

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** Registers `fn` to run after the test (last registered runs first). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

/** A backend answering `200 <name>`, closed after the test (after the clients). */
export async function backend(name: string): Promise<Backend> {
  const b = await startBackend(name)
  cleanups.unshift(() => b.close())
  return b
}
