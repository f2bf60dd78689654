// HTTP and WebSocket on one port with @x/http: a public HTTP resource, and chat rooms that
// HTTP requests and WebSocket handshakes reach through the same authentication filter. A room
// answers plain GETs with its members and upgrades handshakes to a WebSocket; the filter's
// user reaches the WebSocket service. PORT overrides the port (0 picks a free one).
import { type Filter, HttpError, Listener, resource, type WebSocketCaller } from '@x/http'

const tokens = new Map([
  ['secret-token', 'alice'],
  ['other-token', 'bob'],
])

/**
 * 401 unless the request carries a known token: in `Authorization: Bearer …`, or in `?token=`
 * for browsers, which cannot set headers on a WebSocket. Runs for handshakes and plain requests alike.
 */
const authenticate: Filter = {
  name: 'authenticate',
  request(ctx) {
    const header = ctx.headers.authorization
    const token = header?.startsWith('Bearer ') ? header.slice(7) : (ctx.query as { token?: string }).token
    const user = token === undefined ? undefined : tokens.get(token)
    if (user === undefined) {
      throw new HttpError(401, 'a valid token is required', { headers: { 'www-authenticate': 'Bearer' } })
    }
    ctx.state.user = user // becomes caller.attributes.get('user') on a WebSocket
    return ctx.next()
  },
}

/** The members of each room, by room name. */
const rooms = new Map<string, Set<WebSocketCaller>>()

function broadcast(room: string, line: string): Promise<unknown> {
  return Promise.all([...(rooms.get(room) ?? [])].map((member) => member.pushText(line)))
}

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const listener = new Listener({ port })

listener.attach({
  basePath: '/api',
  resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }],
})

listener.attach({
  basePath: '/chat',
  filters: [authenticate],
  resources: [
    resource({
      methods: ['GET'],
      path: '/rooms/{room}',
      // A plain GET: who is in the room.
      handler: (ctx) => ({
        room: ctx.params.room,
        members: [...(rooms.get(ctx.params.room) ?? [])].map((m) => m.attributes.get('user')),
      }),
      // A WebSocket handshake: a service for this connection, made from the room in the path.
      upgrade: {
        subProtocols: ['chat.v1'],
        maxMessageSize: 16 * 1024,
        idleTimeout: 300_000,
        service: (ctx) => {
          const room = ctx.params.room
          return {
            onOpen(caller) {
              const members = rooms.get(room) ?? new Set<WebSocketCaller>()
              rooms.set(room, members.add(caller))
              return broadcast(room, `${caller.attributes.get('user')} joined ${room}`)
            },
            onText: (caller, text) => broadcast(room, `${caller.attributes.get('user')}: ${text}`),
            onIdleTimeout: (caller) => caller.close(1000, 'idle'),
            onClose(caller) {
              rooms.get(room)?.delete(caller)
              return broadcast(room, `${caller.attributes.get('user')} left ${room}`)
            },
          }
        },
      },
    }),
    // WebSocket only: a plain GET gets 426 Upgrade Required.
    { path: '/echo', upgrade: { service: { onText: (caller, text) => caller.pushText(text) } } },
  ],
})

await listener.start()
const http = `http://localhost:${listener.port}`
const ws = `ws://localhost:${listener.port}`
console.log(`http-to-websocket-upgrade example listening on ${http}`)
console.log('Try:')
console.log(`  curl -i ${http}/api/hello`)
console.log(`  curl -i ${http}/chat/rooms/lobby`)
console.log(`  curl -i -H 'Authorization: Bearer secret-token' ${http}/chat/rooms/lobby`)
console.log(
  `  curl -i -N --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' '${http}/chat/rooms/lobby?token=secret-token'`,
)
console.log(`  python3 -m websockets '${ws}/chat/rooms/lobby?token=secret-token'`)
console.log(
  `  in a browser console: const s = new WebSocket('${ws}/chat/rooms/lobby?token=other-token'); s.onmessage = (e) => console.log(e.data); s.onopen = () => s.send('hello')`,
)
console.log('Stop with Ctrl+C (WebSocket clients get close 1001).')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
