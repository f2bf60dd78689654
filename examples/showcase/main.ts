// The showcase behind `pnpm demo`. For now it shows @x/router dispatching the routes of
// Ballerina's hello-world service; the Listener turns it into a real server.
import { createRouter } from '@x/router'

type Handler = (params: Readonly<Record<string, string>>) => string

const router = createRouter<Handler>()
router.add('POST', '/helloWorld/{name}', (p) => `Hello, World! I'm ${p.name}.`)
router.add('GET', '/helloWorld/me', () => 'the static route beats the parameter')
router.add('GET', '/files/{...path}', (p) => `file ${p.path}`)

const lookups: Array<[string, string]> = [
  ['POST', '/helloWorld/Alice'],
  ['GET', '/helloWorld/me'],
  ['HEAD', '/helloWorld/me/'],
  ['GET', '/files/docs/read%20me.md'],
  ['DELETE', '/helloWorld/Alice'],
  ['GET', '/nope'],
]

console.log('@x/router demo: method + path → result')
for (const [method, path] of lookups) {
  const m = router.find(method, path)
  const answer =
    m.kind === 'found'
      ? `${m.template} → ${m.value(m.params)}`
      : m.kind === 'method-not-allowed'
        ? `405, Allow: ${m.allow.join(', ')}`
        : '404'
  console.log(`  ${method.padEnd(6)} ${path.padEnd(28)} ${answer}`)
}
