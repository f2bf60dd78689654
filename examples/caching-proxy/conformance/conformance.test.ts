// Runs every scenario through the caching proxy: a required behaviour must pass; an optional
// one is checked too; a known gap must still fail (so fixing it shows up here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CachingProxy, createCachingProxy } from '../proxy.ts'
import { Clock, runScenario, ScriptedOrigin } from './engine.ts'
import scenarios from './scenarios.ts'

const clock = new Clock()
const origin = new ScriptedOrigin(clock)
let proxy: CachingProxy

beforeAll(async () => {
  await origin.start()
  proxy = createCachingProxy({ origin: origin.url, port: 0, now: clock.now })
  await proxy.start()
})

afterAll(async () => {
  await proxy.stop()
  await origin.stop()
})

const run = (id: string) => runScenario(scenarios.find((s) => s.id === id)!, origin, proxy.port, clock)

describe.each(['required', 'optimal', 'check'] as const)('%s behaviours of a shared cache', (kind) => {
  const own = scenarios.filter((s) => s.kind === kind)
  const met = own.filter((s) => s.gap === undefined)
  const gaps = own.filter((s) => s.gap !== undefined)
  if (met.length > 0) {
    it.each(met.map((s) => ({ id: s.id, title: s.title })))('$id: $title', async ({ id }) => {
      expect(await run(id)).toEqual({ kind: 'pass' })
    })
  }
  if (gaps.length > 0) {
    it.each(gaps.map((s) => ({ id: s.id, gap: s.gap! })))('$id is a known gap: $gap', async ({ id }) => {
      expect((await run(id)).kind).not.toBe('pass')
    })
  }
})

it('has one scenario per identifier', () => {
  expect(new Set(scenarios.map((s) => s.id)).size).toBe(scenarios.length)
})
