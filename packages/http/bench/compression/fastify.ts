// Fastify 5 with @fastify/compress and its defaults (global, threshold 1024, Brotli quality 4).
import compress from '@fastify/compress'
import Fastify from 'fastify'
import type { StartPeer } from '../peers/types.ts'
import { PAYLOAD } from './payload.ts'

export const start: StartPeer = async () => {
  const app = Fastify({ logger: false })
  await app.register(compress)
  app.get('/data', async () => PAYLOAD)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() }
}
