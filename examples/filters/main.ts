// Filters with @x/http: a Listener-wide filter stamps every response with a request id, and
// an authentication filter guards one service (401 without a valid bearer token) and hands
// the user to the resource through ctx.state. PORT overrides the port (0 picks a free one).
import { randomUUID } from 'node:crypto'
import { type Filter, HttpError, Listener } from '@x/http'

const tokens = new Map([['secret-token', 'alice']])

/** Answers 401 itself unless the request carries a known bearer token. */
const authenticate: Filter = {
  name: 'authenticate',
  request(ctx) {
    const header = ctx.headers.authorization
    const user = header?.startsWith('Bearer ') ? tokens.get(header.slice(7)) : undefined
    if (user === undefined) {
      throw new HttpError(401, 'a valid bearer token is required', {
        headers: { 'www-authenticate': 'Bearer' },
      })
    }
    ctx.state.user = user
    return ctx.next()
  },
}

/** Gives every response, errors included, an x-request-id header. */
const requestId: Filter = {
  name: 'request-id',
  request(ctx) {
    ctx.state.requestId = ctx.headers['x-request-id'] ?? randomUUID()
    return ctx.next()
  },
  response(ctx, response) {
    response.headers['x-request-id'] = String(ctx.state.requestId)
  },
}

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const listener = new Listener({ port, filters: [requestId] })

listener.attach({
  basePath: '/public',
  resources: [{ methods: ['GET'], path: '/health', handler: () => ({ status: 'up' }) }],
})
listener.attach({
  basePath: '/private',
  filters: [authenticate],
  resources: [
    {
      methods: ['GET'],
      path: '/greeting',
      handler: (ctx) => ({ greeting: `Hello, ${String(ctx.state.user)}!` }),
    },
  ],
})

await listener.start()
const url = `http://localhost:${listener.port}`
console.log(`filters example listening on ${url}`)
console.log('Try:')
console.log(`  curl -i ${url}/public/health`)
console.log(`  curl -i ${url}/private/greeting`)
console.log(`  curl -H 'Authorization: Bearer secret-token' ${url}/private/greeting`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
