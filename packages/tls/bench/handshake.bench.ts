// TLS handshakes per second: plain node:https + undici against @x/tls server options (with
// and without OCSP stapling) and the @x/tls client connector with cached OCSP checking.
// Servers run here; the load generator runs in a child process. Run: pnpm bench.
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { createPki } from '../../../test-support/pki.ts'
import { CrlStore } from '../src/crl.ts'
import { type PeerCert, RevocationChecker } from '../src/revocation.ts'
import { peers } from './peers/index.ts'
import type { BenchPki, BenchServer } from './peers/types.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 10)
const DURATION_MS = Number(process.env.DURATION_MS ?? 1000)
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8)

function ask(child: ChildProcess, message: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Record<string, unknown>) => {
      child.off('exit', onExit)
      if (reply.type === 'error') reject(new Error(String(reply.message)))
      else resolve(reply)
    }
    const onExit = (code: number | null) => reject(new Error(`load process exited (${code})`))
    child.once('message', onMessage)
    child.once('exit', onExit)
    child.send(message)
  })
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]!
}

const pkiDir = await createPki()
const responder = await pkiDir.startResponder()
const chainFile = join(pkiDir.dir, 'server-chain.pem')
writeFileSync(chainFile, pkiDir.server.chain)
const pki: BenchPki = {
  caFile: pkiDir.root.certFile,
  serverCertFile: pkiDir.server.certFile,
  serverChainFile: chainFile,
  serverKeyFile: pkiDir.server.keyFile,
}

let cachedCheckNs = 0
const servers = new Map<string, BenchServer>()
for (const peer of peers) servers.set(peer.name, await peer.startServer(pki))

const child = fork(fileURLToPath(new URL('./load.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
/**
 * The connector's own work on a connection whose certificate status is cached, timed
 * in-process without the network: what the connector adds to each handshake (session
 * check, cache lookup by the fingerprint Node already computed), free of the load test's noise.
 */
async function measureCachedCheck(port: number): Promise<number> {
  const checker = new RevocationChecker({
    type: 'ocsp',
    failOpen: false,
    crls: new CrlStore([]),
    fetch: { method: 'post', timeoutMs: 5000, maxResponseBytes: 65536 },
    nonce: true,
    responderUrl: undefined,
    cacheSize: 1024,
    unavailableCacheMs: 30_000,
    clockSkewMs: 300_000,
    maxAgeMs: 300_000,
    knownCerts: [],
    now: Date.now,
    logger: undefined,
  })
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caFile) },
      () => resolve(s),
    )
    s.once('error', reject)
  })
  const peer = socket.getPeerCertificate(true) as unknown as PeerCert
  if ((await checker.check(peer, 'localhost', undefined)) !== null) throw new Error('check failed')
  const N = 1_000_000
  let sink = 0
  for (let round = 0; round < 2; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < N; i++)
      if (!socket.isSessionReused() && checker.cached(peer, 'localhost') === null) sink++
    if (round === 1) {
      socket.destroy()
      if (sink === 0) throw new Error('unreachable')
      return Number(process.hrtime.bigint() - t0) / N
    }
  }
  return 0
}

const results = new Map<string, { rates: number[]; p99: number[] }>()
try {
  await ask(child, { type: 'init', pki })
  const runPeer = (name: string, durationMs: number) =>
    ask(child, {
      type: 'run',
      peer: name,
      port: servers.get(name)!.port,
      durationMs,
      concurrency: CONCURRENCY,
    })

  // Warm-up: JIT both processes and fill the OCSP caches (a cached check is what is measured).
  for (const peer of peers) await runPeer(peer.name, WARMUP_MS)
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the starting peer each round so no peer always runs first or last.
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(i + round) % peers.length]!
      const reply = await runPeer(peer.name, DURATION_MS)
      const entry = results.get(peer.name) ?? { rates: [], p99: [] }
      entry.rates.push((Number(reply.count) * 1000) / DURATION_MS)
      entry.p99.push(Number(reply.p99Ms))
      results.set(peer.name, entry)
    }
  }
  cachedCheckNs = await measureCachedCheck(servers.get(peers[0]!.name)!.port)
} finally {
  child.kill()
  for (const server of servers.values()) await server.close()
  await responder.stop()
  pkiDir.dispose()
}

// Ratios are taken round by round (each peer against the baseline of the same round) and
// then the median: on a shared machine the load drifts between rounds more than within one.
const baselineRates = results.get(peers[0]!.name)!.rates
const baseline = median(baselineRates)
const ratioOf = (name: string) =>
  median(results.get(name)!.rates.map((rate, round) => rate / baselineRates[round]!))
const rows = peers.map((peer) => {
  const entry = results.get(peer.name)!
  return [
    peer.name,
    median(entry.rates).toFixed(0),
    `${(ratioOf(peer.name) * 100).toFixed(1)}%`,
    median(entry.p99).toFixed(1),
  ]
})
const header = ['peer', 'handshakes/s', 'vs node:https (median of per-round ratios)', 'p99 ms']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
console.log(
  `@x/tls handshake benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString().slice(0, 10)}`,
)
console.log(
  `new connection per request (full handshake, TLS 1.3, ECDSA P-256), ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${DURATION_MS} ms, medians\n`,
)
console.log(line(header))
console.log(line(widths.map((w) => '-'.repeat(w))))
for (const row of rows) console.log(line(row))
if (results.has('@x/tls client, OCSP (cached)')) {
  const cost = 1 - ratioOf('@x/tls client, OCSP (cached)')
  console.log(
    `\ncached client-side OCSP checking costs ${(cost * 100).toFixed(1)}% of handshake throughput (target ≤ 5%)`,
  )
}
const handshakeNs = 1e9 / (baseline / cpus().length)
console.log(
  `the connector's work per cached connection (in-process): ${cachedCheckNs.toFixed(0)} ns, ${((cachedCheckNs / handshakeNs) * 100).toFixed(3)}% of a handshake's CPU time at the baseline rate`,
)
