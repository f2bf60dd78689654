// Ballerina's "HTTP access logs" example with @x/http: the Listener writes one line per
// exchange, after the response went out or the client went away, with the status actually
// sent and the body bytes actually written.
//
//   ACCESS_LOG_FORMAT  combined (nginx's default format, byte for byte) or json   [combined]
//   ACCESS_LOG_FILE    a file to append to (reopened on SIGHUP, for logrotate)     [the console]
//   PORT               the port (0 picks a free one)                               [9090]
import { Listener } from '@x/http'

const format = process.env.ACCESS_LOG_FORMAT === 'json' ? 'json' : 'combined'
const file = process.env.ACCESS_LOG_FILE
const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)

const listener = new Listener({
  port,
  accessLog: { format, destination: file === undefined ? 'console' : { file } },
  // JSON lines carry the request id; echoing it lets a caller find its line.
  requestId: { echo: true },
})
listener.attach({
  basePath: '/hello',
  resources: [
    { methods: ['GET'], path: '/', handler: () => 'Hello, World!' },
    { methods: ['POST'], path: '/', body: 'text', handler: (ctx) => `Hello, ${ctx.body}!` },
  ],
})
await listener.start()

const url = `http://localhost:${listener.port}`
console.log(`access-logs example listening on ${url}`)
console.log(`access log: ${format} to ${file ?? 'the console'}`)
console.log('Try:')
console.log(`  curl ${url}/hello`)
console.log(`  curl -d Alice -H 'Content-Type: text/plain' ${url}/hello`)
console.log(`  curl ${url}/nowhere`)
if (file !== undefined)
  console.log(`  mv ${file} ${file}.1 && kill -HUP ${process.pid}   # what logrotate does`)
console.log('Stop with Ctrl+C.')

// Stopping closes the log, so every line is on disk before the process exits.
const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
