// Mutual TLS with @x/http: a Listener that requires client certificates issued by its CA, and
// a Client that presents one; the service reads the client's certificate from the context.
// A client without a certificate is refused. The CA and both certificates are made with
// openssl at start-up, for this example only. Runs once and exits.
import { execFileSync } from 'node:child_process'
import { subscribe } from 'node:diagnostics_channel'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, isClientError, Listener } from '@x/http'

const dir = mkdtempSync(join(tmpdir(), 'x-mutual-ssl-example-'))
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
openssl(
  'req',
  '-x509',
  ...ec,
  '-keyout',
  'ca.key',
  '-out',
  'ca.crt',
  '-days',
  '1',
  '-subj',
  '/O=x examples/CN=Example CA',
)
const issue = (name: string, subject: string, extensions: string) => {
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`)
  openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
  // biome-ignore format: one openssl invocation
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`)
  return {
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
  }
}
const ca = readFileSync(join(dir, 'ca.crt'), 'utf8')
const server = issue(
  'server',
  '/CN=localhost',
  'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth',
)
const client = issue('client', '/O=x examples/OU=payments/CN=billing-service', 'extendedKeyUsage=clientAuth')

const listener = new Listener({
  port: 0,
  httpVersion: '2',
  secureSocket: { key: server, mutualSsl: { verifyClient: 'require', cert: ca } },
})
listener.attach({
  basePath: '/accounts',
  resources: [
    {
      methods: ['GET'],
      path: '/me',
      handler: (ctx) => ({
        subject: ctx.clientCertificate?.subjectName.replaceAll('\n', ', '),
        commonName: ctx.clientCertificate?.commonName,
        issuer: ctx.clientCertificate?.issuer.CN,
        protocol: ctx.tls?.protocol,
      }),
    },
  ],
})
await listener.start()
const url = `https://localhost:${listener.port}`

const withCertificate = new Client(url, { httpVersion: '2', secureSocket: { ca, key: client } })
const seen = (await (await withCertificate.get('/accounts/me')).json()) as Record<string, string>
console.log(`the service saw client subject: ${seen.subject}`)
console.log(`common name ${seen.commonName}, issued by ${seen.issuer}, over ${seen.protocol}`)

// @x/tls reports each refused handshake, with the reason, on a diagnostics channel.
const reasons: string[] = []
subscribe('x:tls:client-rejected', (message) =>
  reasons.push(String((message as { error: { code?: string } }).error.code)),
)
const withoutCertificate = new Client(url, { secureSocket: { ca } })
const refused = await withoutCertificate.get('/accounts/me').catch((e: unknown) => e)
// Under TLS 1.3 the refusal arrives after the client's handshake is done: the Client sees the
// connection closed; the Listener's side knows why.
console.log(`without a client certificate → ${isClientError(refused) ? refused.code : 'answered?!'}`)
console.log(`the Listener refused the handshake: ${reasons.join(', ')}`)

await Promise.all([withCertificate.close(), withoutCertificate.close()])
await listener.gracefulStop()
rmSync(dir, { recursive: true, force: true })
