// @x/http's Listener; the auth check is a service filter, the id an integer path parameter.
import { type Filter, HttpError, Listener, resource } from '@x/http'
import { type StartPeer, TOKEN, USER } from './types.ts'

const auth: Filter = {
  request(ctx) {
    if (ctx.headers['x-token'] !== TOKEN) throw new HttpError(401, 'unauthorized')
    ctx.state.user = USER
    return ctx.next()
  },
}

export const start: StartPeer = async () => {
  const listener = new Listener({ port: 0, host: '127.0.0.1' })
  listener.attach({ resources: [{ methods: ['GET'], path: '/hello', handler: () => ({ hello: 'world' }) }] })
  listener.attach({
    basePath: '/users',
    filters: [auth],
    resources: [
      resource({
        methods: ['POST'],
        path: '/{id}',
        params: { id: 'integer' },
        body: 'json',
        handler: (ctx) => ({
          id: ctx.params.id,
          name: (ctx.body as { name?: unknown }).name,
          by: ctx.state.user,
        }),
      }),
    ],
  })
  await listener.start()
  return { port: listener.port, close: () => listener.gracefulStop({ timeout: 1_000 }) }
}
