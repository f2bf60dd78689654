// The showcase behind `pnpm demo`: the hello-world service from Ballerina's documentation,
// served by the @x/http Listener, with a WebSocket echo on the same port. PORT overrides the
// port (0 picks a free one).
import { Listener, resource } from '@x/http'

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const listener = new Listener({ port })

listener.attach({
  basePath: '/helloWorld',
  resources: [
    resource({
      methods: ['POST'],
      path: '/{name}',
      body: 'text',
      handler: (ctx) => `Hello, World! I'm ${ctx.params.name}. ${ctx.body}`,
    }),
  ],
})

// WebSocket on the same port: a handshake to /ws/echo is upgraded, every message echoed back.
listener.attach({
  basePath: '/ws',
  resources: [
    {
      path: '/echo',
      upgrade: {
        service: {
          onText: (caller, text) => caller.pushText(text),
          onBinary: (caller, data) => caller.pushBinary(data),
        },
      },
    },
  ],
})

await listener.start()
const url = `http://localhost:${listener.port}`
console.log(`@x/http showcase listening on ${url}`)
console.log('Try:')
console.log(`  curl -X POST ${url}/helloWorld/Alice -H 'Content-Type: text/plain' -d 'Nice to meet you.'`)
console.log(`  curl -i -X DELETE ${url}/helloWorld/Alice`)
console.log(`  curl -i -X OPTIONS ${url}/helloWorld/Alice`)
console.log(`  curl -i ${url}/nowhere`)
console.log(`WebSocket echo on the same port: ws://localhost:${listener.port}/ws/echo`)
console.log(`  python3 -m websockets ws://localhost:${listener.port}/ws/echo`)
console.log(
  `  in a browser console: const s = new WebSocket('ws://localhost:${listener.port}/ws/echo'); s.onmessage = (e) => console.log(e.data); s.onopen = () => s.send('hello')`,
)
console.log('Stop with Ctrl+C (the Listener stops gracefully; WebSocket clients get close 1001).')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
