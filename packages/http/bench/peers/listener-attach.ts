// The alternative the Listener's hook was measured against: @x/logging's attach(req, res),
// which wraps the request's push() and the response's write() and end(), called from a filter.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Filter, Listener } from '@x/http'
import { accessLog } from '@x/logging'
import { logFile, type StartPeer } from './types.ts'

export const start: StartPeer = async () => {
  const log = accessLog({ format: 'combined', destination: { file: logFile() } })
  await log.ready()
  const attach: Filter = {
    request(ctx) {
      // The public Context has no response; the Listener's context object keeps it as `res`.
      log.attach(ctx.request as IncomingMessage, (ctx as unknown as { res: ServerResponse }).res)
      return ctx.next()
    },
  }
  const listener = new Listener({ port: 0, host: '127.0.0.1', filters: [attach] })
  listener.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
  await listener.start()
  return {
    port: listener.port,
    close: async () => {
      await listener.gracefulStop({ timeout: 1_000 })
      await log.close()
    },
  }
}
