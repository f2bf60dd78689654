// The showcase behind `pnpm demo`: the hello-world service from Ballerina's documentation,
// served by the @x/http Listener. PORT overrides the port (0 picks a free one).
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

await listener.start()
const url = `http://localhost:${listener.port}`
console.log(`@x/http showcase listening on ${url}`)
console.log('Try:')
console.log(`  curl -X POST ${url}/helloWorld/Alice -H 'Content-Type: text/plain' -d 'Nice to meet you.'`)
console.log(`  curl -i -X DELETE ${url}/helloWorld/Alice`)
console.log(`  curl -i -X OPTIONS ${url}/helloWorld/Alice`)
console.log(`  curl -i ${url}/nowhere`)
console.log('Stop with Ctrl+C (the Listener stops gracefully).')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
