// Ballerina's "HTTP disable chunking" example with @x/http: the `chunking` option of a Client
// decides how its request bodies are framed (AUTO: Content-Length when the size is known,
// chunked for streams; ALWAYS: chunked; NEVER: Content-Length, a stream is read first), and
// the same option of a Listener decides how its responses are framed. An echo service reports
// the framing each request arrived with; the client reports the framing of each response.
import { Readable } from 'node:stream'
import { type ChunkingPolicy, Client, HttpResponse, Listener, resource } from '@x/http'

const policies: ChunkingPolicy[] = ['AUTO', 'ALWAYS', 'NEVER']

/** `Content-Length: 11`, or `Transfer-Encoding: chunked`: how a message was framed. */
function framing(headers: Record<string, string | string[] | undefined>): string {
  if (headers['transfer-encoding'] !== undefined) return `Transfer-Encoding: ${headers['transfer-encoding']}`
  return `Content-Length: ${headers['content-length'] ?? 'none'}`
}

const service = {
  basePath: '/chunkingSample',
  resources: [
    // Echoes the framing the request arrived with, as the Ballerina backend does.
    resource({
      methods: ['POST'],
      path: '/echo',
      body: 'text',
      handler: (ctx) => ({ received: framing(ctx.request.headers), body: ctx.body }),
    }),
    // A body of known size, and a stream of unknown size, to show the Listener's framing.
    resource({ methods: ['GET'], path: '/text', handler: () => 'Hello, World!' }),
    resource({
      methods: ['GET'],
      path: '/stream',
      handler: () =>
        new HttpResponse({
          headers: { 'content-type': 'text/plain' },
          body: Readable.from(['Hello, ', 'streamed ', 'World!']),
        }),
    }),
  ],
}

// One Listener per response policy; the first one answers the client's requests.
const listeners = policies.map((chunking) => new Listener({ port: 0, host: '127.0.0.1', chunking }))
for (const listener of listeners) {
  listener.attach(service)
  await listener.start()
}
const echo = `http://127.0.0.1:${listeners[0]!.port}`

for (const chunking of policies) {
  const client = new Client(echo, { chunking })
  const bodies = [
    { kind: 'text', body: 'Hello, World!' },
    { kind: 'stream', body: Readable.from(['Hello, ', 'streamed ', 'World!']) },
  ]
  for (const { kind, body } of bodies) {
    const res = await client.post('/chunkingSample/echo', body, { headers: { 'content-type': 'text/plain' } })
    const echoed = (await res.json()) as { received: string; body: string }
    console.log(
      `client chunking ${chunking}, ${kind} body → the service received ${echoed.received} (${echoed.body})`,
    )
  }
  await client.close()
}

for (const [i, chunking] of policies.entries()) {
  const client = new Client(`http://127.0.0.1:${listeners[i]!.port}`)
  for (const path of ['text', 'stream']) {
    const res = await client.get(`/chunkingSample/${path}`)
    const text = await res.text()
    console.log(`listener chunking ${chunking}, ${path} response → ${framing(res.headers)} (${text})`)
  }
  await client.close()
}

await Promise.all(listeners.map((listener) => listener.gracefulStop()))
