// Lookup speed of @x/router against its peers on the GitHub REST API route table, one
// lookup class at a time, all peers interleaved in one process. Run: pnpm bench.
import { cpus } from 'node:os'
import { cases, tables } from './data/github-routes.mjs'
import { findMyWay } from './peers/find-my-way.ts'
import { honoRegExp, honoTrie } from './peers/hono.ts'
import { koaTree } from './peers/koa-tree-router.ts'
import { medley } from './peers/medley.ts'
import { rou3, rou3Compiled } from './peers/rou3.ts'
import type { BenchRoute, Lookup, PeerAdapter } from './peers/types.ts'
import { xRouter } from './peers/x-router.ts'

const peers: PeerAdapter[] = [xRouter, findMyWay, honoRegExp, honoTrie, rou3, rou3Compiled, medley, koaTree]

// The GitHub table has no rest matches; one route adds the class.
const REST_ROUTE: BenchRoute = ['GET', '/raw/{...path}']
type Case = readonly [name: string, method: string, url: string, expected: string | null]
const extraCases: Record<string, Case[]> = {
  github: [['rest', 'GET', '/raw/octocat/hello-world/main/src/index.ts', '/raw/{...path}']],
  'github-full': [
    ['rest', 'GET', '/raw/octocat/hello-world/main/src/index.ts', '/raw/{...path}'],
    ['static-sibling', 'GET', '/gists/starred', '/gists/starred'],
    ['param-sibling', 'GET', '/gists/12345', '/gists/:id'],
  ],
}

const gc = (globalThis as { gc?: () => void }).gc
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const BATCH = Number(process.env.BATCH ?? 50_000)
type Mode = 'fresh' | 'literal'
const MODES: Mode[] = process.env.MODE === undefined ? ['fresh', 'literal'] : [process.env.MODE as Mode]

function toX(pattern: string): string {
  return pattern.replace(/:([A-Za-z_]\w*)/g, '{$1}')
}

type Timer = (lookup: Lookup, method: string, paths: readonly string[]) => number
/**
 * One timing loop per peer, each compiled from its own source, so no peer's call site
 * turns megamorphic because another peer ran through it first.
 */
function makeTimer(): Timer {
  return new Function(
    'lookup',
    'method',
    'paths',
    `let sink = 0
    const n = paths.length
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) if (lookup(method, paths[i]) !== undefined) sink++
    const ns = Number(process.hrtime.bigint() - t0) / n
    if (sink === -1) console.log('unreachable')
    return ns`,
  ) as Timer
}

/**
 * The paths one batch looks up. 'fresh': a new flat string per lookup that nothing has
 * hashed or split before, as a server's req.url is; 'literal': one string object reused,
 * as most router benchmarks do, which lets V8 serve hashes and split() results from caches.
 */
function batch(path: string, mode: Mode): string[] {
  if (mode === 'literal') return new Array<string>(BATCH).fill(path)
  const bytes = Buffer.from(path, 'latin1')
  const out = new Array<string>(BATCH)
  for (let i = 0; i < BATCH; i++) out[i] = bytes.toString('latin1')
  return out
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

function fmt(ns: number | string): string {
  return typeof ns === 'string' ? ns : ns < 100 ? ns.toFixed(1) : ns.toFixed(0)
}

console.log(
  `@x/router lookup benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  'ns per lookup, median of rounds (lower is better); ×N = the peer takes N times as long as @x/router\n',
)

for (const mode of MODES) {
  for (const [tableName, raw] of Object.entries(tables) as Array<[string, Array<[string, string]>]>) {
    const routes: BenchRoute[] = [...raw.map(([m, p]) => [m, toX(p)] as const), REST_ROUTE]
    const values = routes.map(([m, t]) => `${m} ${t}`)
    const tableCases: Case[] = [...(cases as Case[]), ...(extraCases[tableName] ?? [])]
    const lookups = new Map<string, { lookup: Lookup; timer: Timer } | string>()
    for (const peer of peers) {
      try {
        lookups.set(peer.name, { lookup: peer.build(routes, values), timer: makeTimer() })
      } catch (e) {
        lookups.set(peer.name, `n/a (${(e as Error).message.slice(0, 40)})`)
      }
    }
    // Which peers answer which class right; a wrong answer is reported, not timed.
    const correct = new Map<string, Set<string>>()
    for (const [name, entry] of lookups) {
      const ok = new Set<string>()
      if (typeof entry !== 'string') {
        for (const [caseName, method, url, pattern] of tableCases) {
          const expected = pattern === null ? undefined : `${method} ${toX(pattern)}`
          let got: unknown
          try {
            got = entry.lookup(method, url)
          } catch {
            got = Symbol('threw')
          }
          if (got === expected) ok.add(caseName)
        }
      }
      correct.set(name, ok)
    }
    // Warm every router on the whole mix of classes first, as a server in steady state is,
    // so no class is timed while its code paths still lack type feedback.
    for (const [name, entry] of lookups) {
      if (typeof entry === 'string') continue
      for (let i = 0; i < 20_000; i++) {
        for (const [caseName, method, url] of tableCases)
          if (correct.get(name)!.has(caseName)) entry.lookup(method, url)
      }
    }
    const results = new Map<string, Map<string, number | string>>()
    for (const [caseName, method, url] of tableCases) {
      const row = new Map<string, number | string>()
      const live: Array<[string, { lookup: Lookup; timer: Timer }]> = []
      for (const [name, entry] of lookups) {
        if (typeof entry === 'string') row.set(name, 'n/a')
        else if (!correct.get(name)!.has(caseName)) row.set(name, 'wrong')
        else live.push([name, entry])
      }
      const samples = new Map<string, number[]>(live.map(([name]) => [name, []]))
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? live : live.slice().reverse()
        for (const [name, { lookup, timer }] of order) {
          const paths = batch(url, mode)
          gc?.()
          samples.get(name)!.push(timer(lookup, method, paths))
        }
      }
      for (const [name, xs] of samples) row.set(name, median(xs))
      results.set(caseName, row)
    }

    console.log(`table: ${tableName} (${routes.length} routes), paths: ${mode}`)
    const header = ['class', ...peers.map((p) => p.name)]
    const lines: string[][] = [header]
    for (const [caseName, row] of results) {
      const x = row.get(xRouter.name)
      lines.push([
        caseName,
        ...peers.map((p) => {
          const v = row.get(p.name)!
          if (typeof v === 'string' || typeof x !== 'number') return fmt(v)
          return p === xRouter ? fmt(v) : `${fmt(v)} (×${(v / x).toFixed(2)})`
        }),
      ])
    }
    const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)))
    for (const [i, l] of lines.entries()) {
      console.log(`| ${l.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`)
      if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
    }
    const losses = [...results].filter(([, row]) => {
      const x = row.get(xRouter.name) as number
      return [...row].some(([name, v]) => name !== xRouter.name && typeof v === 'number' && v < x)
    })
    console.log(
      losses.length === 0
        ? '@x/router is the fastest on every class\n'
        : `@x/router is not the fastest on: ${losses.map(([c]) => c).join(', ')}\n`,
    )
  }
}
