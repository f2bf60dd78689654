// Ballerina's "Load balancing" example with @x/http: a LoadBalanceClient spreads requests
// round-robin over three backends (LBMock1..3), moves a request on when its backend dies,
// skips the dead backend once its circuit opens, and sends traffic back after it returns.
// Then least-request and a custom rule. The backends are local node:http servers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { type BalancerRule, LoadBalanceClient } from '@x/http'

/** A backend that answers with its name; `stop()` closes it and its connections, `start()` brings it back. */
async function backend(name: string) {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/slow') setTimeout(() => res.end(name), 300)
    else res.end(name)
  }
  let server: Server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
    async start() {
      server = createServer(handle)
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    },
  }
}

const mocks = [await backend('LBMock1'), await backend('LBMock2'), await backend('LBMock3')]

const lb = new LoadBalanceClient({
  targets: mocks.map((m) => ({ url: m.url })),
  timeout: 5_000,
  // algorithm: 'round-robin' and failover: true are the defaults, as in Ballerina.
  circuitBreaker: {
    rollingWindow: { timeWindow: 10_000, bucketSize: 1_000, requestVolumeThreshold: 2 },
    failureThreshold: 0.5,
    resetTime: 500,
  },
})

async function round(label: string, n: number): Promise<void> {
  const answers: string[] = []
  let failed = 0
  for (let i = 0; i < n; i++) {
    try {
      answers.push(await (await lb.get('/')).text())
    } catch {
      failed++
    }
  }
  console.log(`${label}: ${answers.join(', ')}${failed === 0 ? '' : ` (${failed} failed)`}`)
}

await round('round-robin', 6)

await mocks[1]!.stop()
await round('LBMock2 stopped', 6) // each request sent to LBMock2 moves on to the next backend
const circuits = () =>
  lb
    .targetStats()
    .map((t, i) => `${mocks[i]!.name} ${t.circuit}`)
    .join(', ')
console.log(`circuits: ${circuits()}`)
await round('LBMock2 skipped', 4) // its circuit is open: it is not even tried

await mocks[1]!.start()
await sleep(600) // resetTime passes: the next pick of LBMock2 is its probe
await round('LBMock2 back', 6)
console.log(`circuits: ${circuits()}`)
await lb.close()

// least-request: two random backends, the one with fewer requests in flight wins.
const busy = new LoadBalanceClient({ targets: mocks.map((m) => m.url), algorithm: 'least-request' })
const slow = busy.get('/slow').then((r) => r.text()) // in flight from here on
const quick: string[] = []
for (let i = 0; i < 4; i++) quick.push(await (await busy.get('/')).text())
const holder = await slow
console.log(
  `least-request: while one backend works on /slow, the next 4 went ${quick.includes(holder) ? 'to it too' : 'to the other two'}`,
)
await busy.close()

// A custom rule: requests for a tenant go to the backend that holds its data.
const byTenant: BalancerRule = {
  select(targets, request) {
    const headers = request.headers as string[]
    const i = headers.indexOf('x-tenant')
    const tenant = i === -1 ? 0 : Number(headers[i + 1])
    return targets.find((t) => t.index === tenant % 3) ?? targets[0]
  },
}
const sharded = new LoadBalanceClient({ targets: mocks.map((m) => m.url), algorithm: byTenant })
for (const tenant of [4, 5, 6]) {
  const res = await sharded.get('/orders', { headers: { 'x-tenant': String(tenant) } })
  console.log(`tenant ${tenant} → ${await res.text()}`)
}
await sharded.close()

for (const m of mocks) await m.stop()
