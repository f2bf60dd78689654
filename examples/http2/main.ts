// HTTP/2 with @x/http: one Listener serves h2 and HTTP/1.1 over TLS on one port (ALPN picks),
// another serves h2c with prior knowledge and HTTP/1.1 on one cleartext port (the connection
// preface tells them apart). A Client with httpVersion '2' calls the TLS one. The certificate
// is a throwaway self-signed one made with openssl at start-up. PORT / TLS_PORT (0: free ports).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, Listener, type Service } from '@x/http'

const dir = mkdtempSync(join(tmpdir(), 'x-http2-example-'))
const certFile = join(dir, 'localhost.crt')
const keyFile = join(dir, 'localhost.key')
// biome-ignore format: one openssl invocation
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
const cert = readFileSync(certFile, 'utf8')

// The same service on both Listeners: it does not change with the protocol.
const greetings: Service = {
  basePath: '/greetings',
  resources: [
    {
      methods: ['GET'],
      path: '/{name}',
      handler: (ctx) => ({
        hello: (ctx.params as { name: string }).name,
        protocol: `HTTP/${ctx.request.httpVersion}`,
        alpn: ctx.tls?.alpnProtocol ?? 'none (cleartext)',
      }),
    },
  ],
}

const port = (name: string, fallback: number) =>
  process.env[name] === undefined ? fallback : Number(process.env[name])

const cleartext = new Listener({ port: port('PORT', 9090), httpVersion: '2' })
cleartext.attach(greetings)
const secure = new Listener({
  port: port('TLS_PORT', 9443),
  httpVersion: '2',
  // HTTP/2 limits per connection; these are the defaults made explicit.
  http2: { maxConcurrentStreams: 100, initialWindowSize: 65_535, connectionWindowSize: 1_048_576 },
  secureSocket: { key: { cert: { path: certFile }, key: { path: keyFile } } },
})
secure.attach(greetings)
await Promise.all([cleartext.start(), secure.start()])

const client = new Client(`https://localhost:${secure.port}`, {
  httpVersion: '2',
  secureSocket: { ca: cert },
})
const answers = await Promise.all(
  ['ada', 'grace'].map(async (name) => (await client.get(`/greetings/${name}`)).json()),
)
for (const answer of answers) console.log(`Client (httpVersion '2') → ${JSON.stringify(answer)}`)
await client.close()

const plain = `http://localhost:${cleartext.port}`
const tls = `https://localhost:${secure.port}`
console.log(`h2c + HTTP/1.1 listening on ${plain}`)
console.log(`h2 + HTTP/1.1 (TLS) listening on ${tls}`)
console.log('Try:')
console.log(`  curl --http2-prior-knowledge ${plain}/greetings/h2c`)
console.log(`  curl --http1.1 ${plain}/greetings/http1`)
console.log(`  curl --http2 --cacert ${certFile} ${tls}/greetings/h2`)
console.log(`  curl --http1.1 --cacert ${certFile} ${tls}/greetings/tls-http1`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  Promise.all([cleartext.gracefulStop({ timeout: 5_000 }), secure.gracefulStop({ timeout: 5_000 })]).then(
    () => {
      rmSync(dir, { recursive: true, force: true })
      process.exit(0)
    },
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
