// Reads COUNT (5) events from URL (http://localhost:9090/ticks) with client.sse(): a dropped
// connection is resumed with Last-Event-ID after the server's retry; then the stream is closed.
import { Client } from '@x/http'

const target = new URL(process.env.URL ?? 'http://localhost:9090/ticks')
const count = process.env.COUNT === undefined ? 5 : Number(process.env.COUNT)

const client = new Client(target.origin)
const events = client.sse(target.pathname, { maxReconnects: 10 })
let seen = 0
// The id of the last event this loop handled: what to resume after. (events.lastEventId is the
// last id *received*, which may already be the next event when several arrive in one chunk.)
let lastHandled = ''
for await (const event of events) {
  const { n, at } = JSON.parse(event.data) as { n: number; at: string }
  console.log(`${event.event} #${event.id}: n=${n} at ${at}`)
  lastHandled = event.id
  if (++seen === count) break // closes the connection; the server returns its generator
}
console.log(`read ${seen} events, last id ${lastHandled}`)
await client.close()
