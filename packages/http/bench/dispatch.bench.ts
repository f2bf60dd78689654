// In-process cost of the Listener's request pipeline, without sockets: the same fake request
// and response objects go through a raw node:http-style handler and through the Listener's
// dispatcher, interleaved in rounds. The difference is what the Listener adds per request,
// a figure the machine's other load moves far less than a load test's req/s.
//
//   node --expose-gc --import tsx bench/dispatch.bench.ts
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { Listener } from '@x/http'

const N = 20_000
const ROUNDS = 25

class NullSocket extends Socket {
  override write(): boolean {
    return true
  }
}

function makeReq(): IncomingMessage {
  const req = new IncomingMessage(new NullSocket())
  req.method = 'GET'
  req.url = '/hello'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.rawHeaders = ['Host', 'localhost', 'Accept', '*/*']
  req.headers = { host: 'localhost', accept: '*/*' }
  return req
}

/** A response whose output goes nowhere: writeHead and end do their header work, then stop. */
function makeRes(req: IncomingMessage): ServerResponse {
  const res = new ServerResponse(req)
  ;(res as unknown as { _send: () => boolean })._send = () => true
  return res
}

const HELLO = '{"hello":"world"}'
const raw = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(HELLO) })
  res.end(HELLO)
}

const listener = new Listener({ port: 0 })
listener.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
listener.attach({ basePath: '/users', resources: [{ methods: ['POST'], path: '/{id}', handler: () => 'x' }] })
const dispatch = (
  listener as unknown as { dispatcher: { onRequest(req: IncomingMessage, res: ServerResponse): void } }
).dispatcher.onRequest

function time(handler: (req: IncomingMessage, res: ServerResponse) => void): number {
  const reqs: IncomingMessage[] = []
  const ress: ServerResponse[] = []
  for (let i = 0; i < N; i++) {
    const req = makeReq()
    reqs.push(req)
    ress.push(makeRes(req))
  }
  globalThis.gc?.()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) handler(reqs[i]!, ress[i]!)
  return Number(process.hrtime.bigint() - t0) / N
}

const results: Record<string, number[]> = { raw: [], listener: [] }
time(raw)
time(dispatch)
for (let r = 0; r < ROUNDS; r++) {
  results.raw!.push(time(raw))
  results.listener!.push(time(dispatch))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const r = median(results.raw!)
const l = median(results.listener!)
console.log(
  `Node ${process.version}: GET /hello through writeHead + end, ns per request (median of ${ROUNDS} rounds)`,
)
console.log(
  `  raw handler ${r.toFixed(0)} ns, Listener ${l.toFixed(0)} ns, the Listener adds ${(l - r).toFixed(0)} ns`,
)
