// Ballerina's "Failover" example with @x/http: a FailoverClient tries its targets in order —
// a port where nothing listens, a backend that answers 503, a healthy one — moving on after
// I/O errors and the `failoverCodes` statuses, and reports every target's failure when none
// can answer. The backends are local node:http servers.
import { createServer, type Server } from 'node:http'
import { FailoverClient, isClientError } from '@x/http'

async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

// A port that was bound, then released: connections to it are refused.
const gone = createServer()
const refusing = await listen(gone)
await new Promise<void>((resolve) => gone.close(() => resolve()))

const overloaded = createServer((_req, res) => res.writeHead(503).end('try later'))
const echo = createServer((req, res) => res.end(`echo00 answered ${req.method} ${req.url}`))
const overloadedUrl = await listen(overloaded)
const echoUrl = await listen(echo)
const names = new Map([
  [refusing, 'refusing'],
  [overloadedUrl, 'overloaded'],
  [`${echoUrl}/echo00`, 'echo00'],
])

const failover = new FailoverClient({
  targets: [{ url: refusing }, { url: overloadedUrl }, { url: `${echoUrl}/echo00` }],
  failoverCodes: [501, 502, 503, 504], // Ballerina's default
  interval: 100, // ms between one target's failure and the next try
  timeout: 5_000,
})

const started = performance.now()
const res = await failover.get('/greeting')
console.log(`GET /greeting → ${res.status} ${await res.text()}`)
console.log(
  `  (after two failovers, ${performance.now() - started >= 200 ? 'at least' : 'less than?!'} 2 × 100 ms)`,
)

// A POST moves on past a refused connection (it reached no one), but not past an answer:
// the overloaded target may have taken the order. failoverMethods says which methods may.
const posted = await failover.post('/orders', { item: 'apples' })
console.log(`POST /orders → ${posted.status} ${await posted.text()}`)
const lenient = new FailoverClient({
  targets: [refusing, overloadedUrl, `${echoUrl}/echo00`],
  failoverMethods: ['GET', 'POST'],
})
const retried = await lenient.post('/orders', { item: 'apples' })
console.log(`POST /orders with failoverMethods [GET, POST] → ${retried.status} ${await retried.text()}`)
await lenient.close()

// Every target down: one error, with each target's own failure.
const stopped = new Promise<void>((resolve) => echo.close(() => resolve()))
echo.closeAllConnections()
await stopped
const err = await failover.get('/greeting').catch((e: unknown) => e)
if (isClientError(err, 'X_ERR_CLIENT_ALL_TARGETS_FAILED')) {
  console.log(`GET /greeting with every target down → ${err.code}`)
  for (const f of err.failures ?? []) {
    console.log(`  ${names.get(f.target)}: ${f.error?.code ?? `status ${f.statusCode}`}`)
  }
}

await failover.close()
overloaded.close()
