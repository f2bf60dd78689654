// In-process cost of the Listener's access-log hook, without sockets: the same fake request
// and response objects go through the Listener's dispatcher with logging off, with its own
// hook (the AccessRecord path), and with @x/logging's attach() called from a filter (the
// wrapping path), formatting nginx combined lines into a stream that drops them — and with the
// hook writing to a real file. Process CPU time (all threads: the file is written from the
// thread pool) per request, which other load on the machine moves less than wall time.
// Interleaved in rounds; medians. What decided the hook's design: it must cost less than attach().
//
//   node --expose-gc --import tsx bench/access-log-hook.bench.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Filter, Listener, type ListenerOptions } from '@x/http'
import { accessLog } from '@x/logging'

/** Requests per batch (small enough to stay in V8's young generation), batches per sample. */
const N = 500
const BATCHES = 40
const ROUNDS = Number(process.env.ROUNDS ?? 25)

class NullSocket extends Socket {
  override write(): boolean {
    return true
  }
}
const socket = new NullSocket()
// What node:http caches after the first getpeername() of a connection.
;(socket as unknown as { _peername: object })._peername = { address: '127.0.0.1', family: 'IPv4', port: 1 }

function makeReq(): IncomingMessage {
  const req = new IncomingMessage(socket)
  req.method = 'GET'
  req.url = '/hello'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.httpVersion = '1.1'
  req.rawHeaders = ['Host', 'localhost', 'Accept', '*/*', 'User-Agent', 'bench/1.0']
  req.headers = { host: 'localhost', accept: '*/*', 'user-agent': 'bench/1.0' }
  return req
}

/** A response whose output goes nowhere: writeHead and end do their header work, then stop. */
function makeRes(req: IncomingMessage): ServerResponse {
  const res = new ServerResponse(req)
  ;(res as unknown as { _send: () => boolean })._send = () => true
  return res
}

const discard = { write(_line: string) {} }
type Handler = (req: IncomingMessage, res: ServerResponse) => void

function handler(options: Partial<ListenerOptions>): Handler {
  const listener = new Listener({ port: 0, ...options })
  listener.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
  return (listener as unknown as { dispatcher: { onRequest: Handler } }).dispatcher.onRequest
}

const attached = accessLog({ destination: { stream: discard } })
const attachFilter: Filter = {
  request(ctx) {
    attached.attach(ctx.request as IncomingMessage, (ctx as unknown as { res: ServerResponse }).res)
    return ctx.next()
  },
}

const dir = mkdtempSync(join(tmpdir(), 'x-access-log-hook-'))
const peers: Array<{ name: string; handle: Handler }> = [
  { name: 'logging off', handle: handler({}) },
  {
    name: 'Listener hook (AccessRecord)',
    handle: handler({ accessLog: { destination: { stream: discard } } }),
  },
  { name: 'attach() in a filter', handle: handler({ filters: [attachFilter] }) },
  {
    name: 'Listener hook, to a file',
    handle: handler({ accessLog: { destination: { file: join(dir, 'access.log') } } }),
  },
  { name: 'logging off, request ids off', handle: handler({ requestId: false }) },
]

/** CPU ns per request: dispatch, then the end of the exchange as node:http signals it. */
async function time(handle: Handler): Promise<number> {
  let total = 0
  for (let b = 0; b < BATCHES; b++) {
    const reqs: IncomingMessage[] = []
    const ress: ServerResponse[] = []
    for (let i = 0; i < N; i++) {
      const req = makeReq()
      reqs.push(req)
      ress.push(makeRes(req))
    }
    const c0 = process.cpuUsage()
    for (let i = 0; i < N; i++) {
      const res = ress[i]!
      handle(reqs[i]!, res)
      // node:http emits 'finish' once the last write is flushed, then 'close' on the next tick.
      res.emit('finish')
      res.emit('close')
    }
    // The turn a server would end here: the file sink hands its lines over on a later one.
    await new Promise((resolve) => setImmediate(resolve))
    const c = process.cpuUsage(c0)
    total += (c.user + c.system) * 1000
  }
  return total / (N * BATCHES)
}

const samples = new Map<string, number[]>(peers.map((p) => [p.name, []]))
for (const p of peers) await time(p.handle)
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round so no peer always runs first.
  for (let i = 0; i < peers.length; i++) {
    const p = peers[(i + r) % peers.length]!
    samples.get(p.name)!.push(await time(p.handle))
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const off = median(samples.get('logging off')!)
console.log(`Node ${process.version}: GET /hello, CPU ns per request (median of ${ROUNDS} rounds)\n`)
for (const p of peers) {
  const m = median(samples.get(p.name)!)
  console.log(
    `  ${p.name.padEnd(30)} ${m.toFixed(0).padStart(6)} ns  (${m - off >= 0 ? '+' : ''}${(m - off).toFixed(0)} ns)`,
  )
}
rmSync(dir, { recursive: true, force: true })
process.exit(0)
