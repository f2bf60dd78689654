// Ballerina's "Circuit breaker" example with @x/http: a Client whose breaker counts failing
// statuses and I/O errors over a rolling window, opens when half the calls failed, fails fast
// while open, and lets one probe through after resetTime. The inventory service is a local
// node:http server that can be switched between healthy, overloaded (503) and stopped.
import { createServer, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, isClientError } from '@x/http'

let mode: 'healthy' | 'overloaded' = 'healthy'
let served = 0
const handler = (_req: unknown, res: import('node:http').ServerResponse) => {
  served++
  if (mode === 'overloaded') return void res.writeHead(503).end('overloaded')
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ item: 'apples', stock: 42 }))
}
let service: Server = createServer(handler)
await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
const { port } = service.address() as { port: number }

const inventory = new Client(`http://127.0.0.1:${port}`, {
  timeout: 5_000,
  circuitBreaker: {
    rollingWindow: { timeWindow: 10_000, bucketSize: 2_000, requestVolumeThreshold: 4 },
    failureThreshold: 0.5, // open when half the calls in the window failed
    resetTime: 1_000, // stay open this long, then let a probe through
    statusCodes: [500, 502, 503, 504],
    onStateChange: (e) => console.log(`  breaker: ${e.from} → ${e.to} (${e.reason})`),
  },
})

async function call(label: string): Promise<void> {
  try {
    const res = await inventory.get('/stock/apples')
    const body =
      res.status === 200 ? `${(await res.json<{ stock: number }>()).stock} in stock` : await res.text()
    console.log(`${label}: GET /stock/apples → ${res.status} ${body}`)
  } catch (err) {
    if (!isClientError(err)) throw err
    const wait = (err.cause as { retryAfterMs?: number } | undefined)?.retryAfterMs
    console.log(
      `${label}: GET /stock/apples → ${err.code}${wait === undefined ? '' : ` (next probe in ${Math.ceil(wait / 100) / 10} s)`}`,
    )
  }
}

/**
 * Waits until the open breaker lets a probe through. A timer may fire a little before
 * performance.now() says its delay elapsed (libuv reads its clock once per loop turn), so this
 * waits again until the breaker's own clock agrees.
 */
async function untilProbe(): Promise<void> {
  for (;;) {
    const at = inventory.circuitBreaker!.stats().nextProbeAt
    if (at === undefined || at <= performance.now()) return
    await sleep(at - performance.now() + 1)
  }
}

await call('1 healthy')
await call('2 healthy')
mode = 'overloaded'
await call('3 overloaded')
await call('4 overloaded') // 2 of 4 calls failed: the breaker opens
const before = served
await call('5 open')
await call('6 open')
console.log(`the service saw ${served - before} of the last 2 requests`)

mode = 'healthy'
await untilProbe()
await call('7 probe') // half-open: this one goes through and closes the breaker
await call('8 closed')

// A stopped service counts too: refused connections are failures.
const stopped = new Promise<void>((resolve) => service.close(() => resolve()))
service.closeAllConnections()
await stopped
for (let i = 9; i <= 12; i++) await call(`${i} stopped`)
console.log(`breaker is ${inventory.circuitBreaker!.state} after the service stopped`)

service = createServer(handler)
await new Promise<void>((resolve) => service.listen(port, '127.0.0.1', resolve))
await untilProbe()
await call('13 restarted')
console.log(`breaker is ${inventory.circuitBreaker!.state} after the service came back`)

await inventory.close()
service.close()
