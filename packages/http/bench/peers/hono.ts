// Hono 4 on @hono/node-server; the auth check is route middleware.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { type StartPeer, TOKEN, USER } from './types.ts'

export const start: StartPeer = async () => {
  const app = new Hono()
  app.get('/hello', (c) => c.json({ hello: 'world' }))
  app.post(
    '/users/:id',
    async (c, next) => {
      if (c.req.header('x-token') !== TOKEN) return c.json({ error: 'unauthorized' }, 401)
      await next()
      return undefined
    },
    async (c) => {
      const body = await c.req.json<{ name?: unknown }>()
      return c.json({ id: Number(c.req.param('id')), name: body.name, by: USER }, 201)
    },
  )
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
