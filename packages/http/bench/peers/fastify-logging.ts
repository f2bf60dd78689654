// Fastify 5 with its built-in request logging (pino: "incoming request" and "request
// completed", two lines per request) to a file through pino's asynchronous destination.
import Fastify from 'fastify'
import pino from 'pino'
import { logFile, type StartPeer } from './types.ts'

export const start: StartPeer = async () => {
  const app = Fastify({
    loggerInstance: pino({ level: 'info' }, pino.destination({ dest: logFile(), sync: false })),
  })
  app.get('/hello', async () => ({ hello: 'world' }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() }
}
