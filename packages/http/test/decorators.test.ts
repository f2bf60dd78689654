import { afterEach, describe, expect, it } from 'vitest'
import { ResourceConfig, type ResourceConfigContext, ServiceConfig } from '../src/decorators.ts'
import { type Context, Listener, type Service } from '../src/index.ts'
import { type Served, serve } from './helpers/serve.ts'

let server: Served
afterEach(async () => {
  await server?.close()
})

@ServiceConfig({ basePath: '/helloWorld' })
class HelloService {
  greeting = 'Hello, World!'

  @ResourceConfig({ methods: ['POST'], path: '/{name}', body: 'text' })
  greet(ctx: Context<{ params: { name: string }; body: string }>) {
    return `${this.greeting} I'm ${ctx.params.name}. ${ctx.body}`
  }

  @ResourceConfig({
    methods: ['GET'],
    path: '/items/{id}',
    params: { id: 'integer' },
    query: { full: { type: 'boolean', default: false } },
  })
  item(
    ctx: ResourceConfigContext<{
      path: '/items/{id}'
      params: { id: 'integer' }
      query: { full: { type: 'boolean'; default: false } }
    }>,
  ) {
    return { id: ctx.params.id, full: ctx.query.full }
  }

  /** Not a resource: never routed. */
  helper() {
    return 'hidden'
  }
}

/** The same service as a plain object. */
const helloObject: Service = {
  basePath: '/helloWorld',
  resources: [
    {
      methods: ['POST'],
      path: '/{name}',
      body: 'text',
      handler: (ctx) => `Hello, World! I'm ${ctx.params.name}. ${ctx.body}`,
    },
    {
      methods: ['GET'],
      path: '/items/{id}',
      params: { id: 'integer' },
      query: { full: { type: 'boolean', default: false } },
      handler: (ctx) => ({ id: ctx.params.id, full: (ctx.query as unknown as { full: boolean }).full }),
    },
  ],
}

@ServiceConfig({ basePath: '/animals' })
class Animals {
  @ResourceConfig({ methods: ['GET'], path: '/sound' })
  sound() {
    return 'generic'
  }
}

@ServiceConfig({ basePath: '/dogs' })
class Dogs extends Animals {
  override sound() {
    return 'woof'
  }

  @ResourceConfig({ methods: ['GET'], path: '/fetch' })
  fetchStick() {
    return 'stick'
  }
}

describe('decorators', () => {
  it('installs Symbol.metadata on runtimes without it', () => {
    expect(typeof (Symbol as { metadata?: symbol }).metadata).toBe('symbol')
  })

  it('serves a decorated class like the equivalent plain object', async () => {
    const requests = [
      {
        path: '/helloWorld/Alice',
        method: 'POST',
        body: 'Nice to meet you.',
        headers: { 'content-type': 'text/plain' },
      },
      { path: '/helloWorld/items/7?full=true', method: 'GET' },
      { path: '/helloWorld/items/x', method: 'GET' },
      { path: '/helloWorld/helper', method: 'GET' },
      { path: '/helloWorld/Alice', method: 'PUT' },
    ]
    const answers = async (svc: object) => {
      server = await serve(svc as Service)
      const out: unknown[] = []
      for (const { path, ...rest } of requests) {
        const r = await server.fetch(path, rest)
        out.push({ status: r.status, allow: r.headers.allow, body: r.text })
      }
      await server.close()
      return out
    }
    const fromClass = await answers(new HelloService())
    const fromObject = await answers(helloObject)
    expect(fromClass).toEqual(fromObject)
    expect(fromClass[0]).toEqual({
      status: 201,
      allow: undefined,
      body: "Hello, World! I'm Alice. Nice to meet you.",
    })
    expect(fromClass[1]).toMatchObject({ status: 200, body: '{"id":7,"full":true}' })
    expect(fromClass[2]).toMatchObject({ status: 400 })
    // helper() is no resource: only POST /{name} matches the path.
    expect(fromClass[3]).toMatchObject({ status: 405, allow: 'OPTIONS, POST' })
  })

  it('keeps a subclass’s routes out of its parent, and serves the subclass’s overrides', async () => {
    server = await serve([new Animals(), new Dogs()] as never)
    expect((await server.fetch('/animals/sound')).text).toBe('generic')
    expect((await server.fetch('/animals/fetch')).status).toBe(404)
    expect((await server.fetch('/dogs/sound')).text).toBe('woof')
    expect((await server.fetch('/dogs/fetch')).text).toBe('stick')
  })

  it('serves a class with resources but no @ServiceConfig at the root', async () => {
    class Bare {
      @ResourceConfig({ methods: ['GET'], path: '/bare' })
      bare() {
        return 'bare'
      }
    }
    server = await serve(new Bare() as never)
    expect((await server.fetch('/bare')).text).toBe('bare')
  })

  it('rejects @ResourceConfig on a static method with X_ERR_HTTP_INVALID_SERVICE', () => {
    expect(() => {
      // biome-ignore lint/complexity/noStaticOnlyClass: the point is a decorator on a static method
      class Bad {
        @ResourceConfig({ path: '/x' })
        static x() {
          return 1
        }
      }
      return Bad
    }).toThrow(expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }))
  })

  it('rejects a decorated class whose configuration is invalid at attach', () => {
    @ServiceConfig({ basePath: 'no-slash' })
    class Bad {
      @ResourceConfig({ path: '/x' })
      x() {
        return 1
      }
    }
    expect(() => new Listener({ port: 0 }).attach(new Bad())).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_SERVICE' }),
    )
  })

  it('checks at compile time that a method’s parameters match the path template', () => {
    class Checked {
      // @ts-expect-error: the template has {name}, the method asks for {nmae}
      @ResourceConfig({ path: '/{name}' })
      misnamed(ctx: Context<{ params: { nmae: string } }>) {
        return ctx.params.nmae
      }

      // @ts-expect-error: {id} is declared an integer, the method asks for a string
      @ResourceConfig({ path: '/n/{id}', params: { id: 'integer' } })
      mistyped(ctx: Context<{ params: { id: string } }>) {
        return ctx.params.id
      }

      // @ts-expect-error: the body is text, the method asks for a number
      @ResourceConfig({ path: '/b', body: 'text' })
      wrongBody(ctx: Context<{ body: number }>) {
        return ctx.body
      }

      @ResourceConfig({ path: '/ok/{name}', params: { name: 'string' } })
      fine(ctx: Context<{ params: { name: string } }>) {
        return ctx.params.name
      }
    }
    expect(Checked).toBeTypeOf('function')
  })
})
