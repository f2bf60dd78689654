// Fastify 5 with its defaults (no logger); the auth check is a route-level onRequest hook.
import Fastify from 'fastify'
import { type StartPeer, TOKEN, USER } from './types.ts'

export const start: StartPeer = async () => {
  const app = Fastify({ logger: false })
  app.get('/hello', async () => ({ hello: 'world' }))
  app.post<{ Params: { id: string }; Body: { name?: unknown } }>(
    '/users/:id',
    {
      onRequest: (req, reply, done) => {
        if (req.headers['x-token'] !== TOKEN) reply.code(401).send({ error: 'unauthorized' })
        else done()
      },
    },
    async (req, reply) => {
      reply.code(201)
      return { id: Number(req.params.id), name: req.body.name, by: USER }
    },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() }
}
