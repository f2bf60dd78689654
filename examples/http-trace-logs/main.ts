// Ballerina's "HTTP trace logs" example with @x/http: a front service answers GET /hello by
// calling a greeting service with a Client. One trace log, shared by both Listeners and the
// Client, writes every request and response each of them receives or sends as a pino line at
// level TRACE (10): direction, connection id, method, URL, headers (credentials redacted),
// status and payload. The request id (X-Request-Id, or generated) ties the lines of one call
// together and is echoed to the caller.
//
// Lines go to the console; with TRACE_LOG_HOST and TRACE_LOG_PORT set they go over TCP to a
// log collector instead (lines are dropped and counted while it is down, never queued without
// bound). PORT overrides the front service's port (0 picks a free one).
import { Client, Listener } from '@x/http'
import { traceLog } from '@x/logging'

const host = process.env.TRACE_LOG_HOST
const destination =
  host === undefined ? 'console' : { host, port: Number(process.env.TRACE_LOG_PORT ?? 5140) }
// client: false — the Client below asks for its own requests; nothing else in the process is traced.
const trace = traceLog({ client: false, maxPayload: 1024, destination })

// The greeting service the front service calls.
const greetings = new Listener({ port: 0, host: '127.0.0.1', traceLog: trace })
greetings.attach({
  basePath: '/greeting',
  resources: [{ methods: ['GET'], path: '/', handler: () => 'Hello, World!' }],
})
await greetings.start()

const client = new Client(`http://127.0.0.1:${greetings.port}`, { traceLog: trace })

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const front = new Listener({ port, traceLog: trace, requestId: { echo: true } })
front.attach({
  basePath: '/hello',
  resources: [
    {
      methods: ['GET'],
      path: '/',
      // forward() sends the exchange's request id on, so the greeting service logs it too.
      handler: async (ctx) => (await client.forward('/greeting', ctx.request)).text(),
    },
  ],
})
await front.start()

const url = `http://localhost:${front.port}`
console.log(`http-trace-logs example listening on ${url}`)
console.log(
  `trace log: ${host === undefined ? 'console (stdout)' : `tcp://${host}:${process.env.TRACE_LOG_PORT ?? 5140}`}`,
)
console.log('Try:')
console.log(`  curl -H 'X-Request-Id: demo-1' ${url}/hello`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  Promise.all([front.gracefulStop({ timeout: 5_000 }), greetings.gracefulStop({ timeout: 5_000 })])
    .then(() => client.close())
    .then(() => trace.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
