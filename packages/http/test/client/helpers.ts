// Test servers for the Client suites: real node:http / https / http2 servers on 127.0.0.1
// port 0, closed after each test, failing it when a socket is left open.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach } from 'vitest'
import { type Backend, clock, refusedUrl, startBackend } from '../../../../test-support/backends.ts'
import { type Listening, listen } from '../../../../test-support/listen.ts'
import {
  Client,
  type ClientOptions,
  FailoverClient,
  type FailoverClientOptions,
  LoadBalanceClient,
  type LoadBalanceClientOptions,
} from '../../src/index.js'

export type { Backend }
export { clock, refusedUrl }

export type Handle = (req: IncomingMessage, res: ServerResponse) => unknown

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** Registers `fn` to run after the test (last registered runs first). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

/** Starts `srv` and closes it after the test, once every socket is gone. */
export async function serve(
  srv: Server | import('node:net').Server,
  secure = false,
): Promise<Listening & { sockets: Socket[] }> {
  const sockets: Socket[] = []
  srv.on('connection', (s: Socket) => sockets.push(s))
  const l = await listen(srv, { secure })
  cleanups.unshift(async () => {
    await l.drained()
    await l.close()
  })
  return Object.assign(l, { sockets })
}

/** A node:http server with `handle`. */
export function server(handle: Handle): ReturnType<typeof serve> {
  return serve(
    createServer((req, res) => {
      Promise.resolve(handle(req, res)).catch((err: unknown) => res.destroy(err as Error))
    }),
  )
}

/** A Client closed after the test (before the servers are). */
export function client(url: string, options?: ClientOptions): Client {
  const c = new Client(url, options)
  cleanups.push(() => c.close())
  return c
}

/** Reads a request body as text. */
export async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString()
}

/** A restartable backend answering `200 <name>`, closed after the test (after the clients). */
export async function backend(name: string): Promise<Backend> {
  const b = await startBackend(name)
  cleanups.unshift(() => b.close())
  return b
}

/** A LoadBalanceClient closed after the test. */
export function loadBalanceClient(options: LoadBalanceClientOptions): LoadBalanceClient {
  const c = new LoadBalanceClient(options)
  cleanups.push(() => c.close())
  return c
}

/** A FailoverClient closed after the test. */
export function failoverClient(options: FailoverClientOptions): FailoverClient {
  const c = new FailoverClient(options)
  cleanups.push(() => c.close())
  return c
}

/** Collects what a diagnostics channel publishes until the test ends. */
export function channelMessages(name: string): unknown[] {
  const seen: unknown[] = []
  const fn = (m: unknown) => seen.push(m)
  subscribe(name, fn)
  cleanups.push(async () => {
    unsubscribe(name, fn)
  })
  return seen
}

/** Resolves with the next message published on a diagnostics channel. */
export function nextMessage(name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const fn = (m: unknown) => {
      unsubscribe(name, fn)
      resolve(m)
    }
    subscribe(name, fn)
  })
}
