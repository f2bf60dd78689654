// Server-Sent Events with @x/http: GET /ticks streams one event per TICK_MS (1000) with an id,
// resumes after Last-Event-ID when a client reconnects, and sends a heartbeat comment when
// quiet. Run client.ts (or open the URL in a browser's EventSource) to read it. PORT picks the port.
import { type Context, Listener } from '@x/http'

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const tickMs = process.env.TICK_MS === undefined ? 1000 : Number(process.env.TICK_MS)

/** Resolves after `ms`, or at once when the client goes away (the stream is then returned). */
function tick(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

const listener = new Listener({ port, compression: 'AUTO' })
listener.attach({
  cors: { allowOrigins: '*' },
  resources: [
    {
      methods: ['GET'],
      path: '/ticks',
      sse: { heartbeat: 15_000 },
      async *handler(ctx: Context) {
        // A reconnecting client says where it stopped; carry on from there.
        let n = Number(ctx.headers['last-event-id'] ?? 0)
        if (!Number.isInteger(n) || n < 0) n = 0
        yield { retry: 2_000 }
        while (!ctx.signal.aborted) {
          n++
          yield { id: String(n), event: 'tick', data: { n, at: new Date().toISOString() } }
          await tick(tickMs, ctx.signal)
        }
      },
    },
  ],
})

await listener.start()
const url = `http://localhost:${listener.port}`
console.log(`SSE example listening on ${url}`)
console.log('Try:')
console.log(`  curl -N ${url}/ticks`)
console.log(`  URL=${url}/ticks pnpm --filter example-sse start:client`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  // Open streams are ended on stop: their clients reconnect elsewhere.
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
