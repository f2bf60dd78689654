// Real HTTPS servers on 127.0.0.1:0 built from @x/tls options, a hanging "responder", a
// diagnostics-channel recorder, and a fetch that always closes its agent.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createServer as createNetServer, type Socket } from 'node:net'
import { Agent, fetch } from 'undici'
import { type Listening, listen } from '../../../../test-support/listen.ts'
import { type ClientTlsConfig, type ClientTlsConnector, createClientTlsConnector } from '../../src/client.js'
import { createServerTlsOptions, type ServerTls, type ServerTlsConfig } from '../../src/server.js'

export interface HttpsTarget extends Listening {
  readonly server: HttpsServer
  readonly tls: ServerTls
  /** `https://localhost:<port>` */
  readonly localUrl: string
}

/** An HTTPS server answering 200 "ok" (or `handler`), with attach() applied. */
export async function startHttps(
  config: ServerTlsConfig,
  handler?: Parameters<typeof createHttpsServer>[1],
): Promise<HttpsTarget> {
  const tls = createServerTlsOptions(config)
  const server = createHttpsServer(
    tls.options,
    handler ??
      ((_req, res) => {
        res.end('ok')
      }),
  )
  tls.attach(server)
  const listening = await listen(server, { secure: true })
  return {
    ...listening,
    server,
    tls,
    localUrl: `https://localhost:${listening.port}`,
    async close() {
      tls.close()
      await listening.drained()
      await listening.close()
    },
  }
}

/** One request on a new connection through `connector`; the agent is always closed. */
export async function fetchWith(
  connector: ClientTlsConnector,
  url: string,
): Promise<{ status: number; body: string }> {
  const agent = new Agent({ connect: connector })
  try {
    const res = await fetch(url, { dispatcher: agent })
    return { status: res.status, body: await res.text() }
  } finally {
    await agent.close()
  }
}

/** Same, building the connector from `config`. */
export function fetchWithConfig(config: ClientTlsConfig, url: string) {
  return fetchWith(createClientTlsConnector(config), url)
}

/** Resolves with the rejection of `promise`; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/** Records messages published on `names` until stop(). */
export function record(...names: string[]) {
  const messages: Array<{ channel: string; message: Record<string, unknown> }> = []
  const handlers = names.map((name) => {
    const fn = (message: unknown) =>
      messages.push({ channel: name, message: message as Record<string, unknown> })
    subscribe(name, fn)
    return () => unsubscribe(name, fn)
  })
  return {
    messages,
    on: (name: string) => messages.filter((m) => m.channel === name).map((m) => m.message),
    stop: () => {
      for (const off of handlers) off()
    },
  }
}

/** A TCP server that accepts connections and never answers: a stuck OCSP responder. */
export async function startBlackHole(): Promise<{
  url: string
  accepted: () => number
  close(): Promise<void>
}> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createNetServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
