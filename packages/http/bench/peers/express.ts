// Express 5; the auth check is route middleware, and express.json() parses the body.
import express from 'express'
import { type StartPeer, TOKEN, USER } from './types.ts'

export const start: StartPeer = async () => {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'world' })
  })
  app.post(
    '/users/:id',
    (req, res, next) => {
      if (req.headers['x-token'] !== TOKEN) res.status(401).json({ error: 'unauthorized' })
      else next()
    },
    express.json(),
    (req, res) => {
      res
        .status(201)
        .json({ id: Number(req.params.id), name: (req.body as { name?: unknown }).name, by: USER })
    },
  )
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
