// Type-level checks of resource(): `pnpm typecheck` fails when an inferred type drifts.
import type { Readable } from 'node:stream'
import { describe, expectTypeOf, it } from 'vitest'
import { ResourceConfig } from '../src/decorators.ts'
import {
  type PathParamNames,
  type PathParams,
  type RawParams,
  resource,
  type WebSocketCaller,
  type WebSocketService,
} from '../src/index.ts'

describe('resource() types', () => {
  it('infers path parameter names and declared types', () => {
    expectTypeOf<PathParamNames<'/users/{id}/files/{...rest}'>>().toEqualTypeOf<'id' | 'rest'>()
    expectTypeOf<PathParams<'/users/{id}/{name}', { id: 'integer' }>>().toEqualTypeOf<{
      readonly id: number
      readonly name: string
    }>()
    resource({
      path: '/users/{id}',
      params: { id: 'integer' },
      handler: (ctx) => {
        expectTypeOf(ctx.params).toEqualTypeOf<{ readonly id: number }>()
        // @ts-expect-error: the template has no {name}
        void ctx.params.name
      },
    })
  })

  it('types query, headers and body from their declarations', () => {
    resource({
      methods: ['POST'],
      path: '/q',
      query: {
        limit: { type: 'integer', default: 10 },
        tags: 'string[]',
        since: { type: 'string', optional: true },
      },
      headers: { 'x-count': 'integer' },
      body: 'json',
      handler: (ctx) => {
        expectTypeOf(ctx.query.limit).toEqualTypeOf<number>()
        expectTypeOf(ctx.query.tags).toEqualTypeOf<string[]>()
        expectTypeOf(ctx.query.since).toEqualTypeOf<string | undefined>()
        expectTypeOf(ctx.headers['x-count']).toEqualTypeOf<number>()
        expectTypeOf(ctx.body).toEqualTypeOf<unknown>()
      },
    })
    resource({ path: '/t', body: 'text', handler: (ctx) => expectTypeOf(ctx.body).toEqualTypeOf<string>() })
    resource({
      path: '/s',
      body: 'stream',
      handler: (ctx) => expectTypeOf(ctx.body).toEqualTypeOf<Readable>(),
    })
    resource({
      path: '/f',
      body: { type: 'form', optional: true },
      handler: (ctx) => expectTypeOf(ctx.body).toEqualTypeOf<RawParams | undefined>(),
    })
    resource({ path: '/n', handler: (ctx) => expectTypeOf(ctx.query).toEqualTypeOf<RawParams>() })
  })

  it('types the body from a validator type predicate', () => {
    const isUser = (v: unknown): v is { name: string } => typeof v === 'object'
    resource({
      path: '/u',
      body: { type: 'json', validate: isUser },
      handler: (ctx) => expectTypeOf(ctx.body).toEqualTypeOf<{ name: string }>(),
    })
  })
})

describe('upgrade types', () => {
  it('types the context of a service factory from the resource declaration', () => {
    resource({
      path: '/rooms/{id}',
      params: { id: 'integer' },
      query: { nick: 'string' },
      upgrade: {
        subProtocols: ['chat.v1'],
        service: (ctx) => {
          expectTypeOf(ctx.params).toEqualTypeOf<{ readonly id: number }>()
          expectTypeOf(ctx.query.nick).toEqualTypeOf<string>()
          expectTypeOf(ctx.upgrade).toEqualTypeOf<'websocket' | undefined>()
          return { onText: (caller, text) => caller.pushText(`${ctx.params.id}: ${text}`) }
        },
      },
    })
  })

  it('types the callbacks of a static service and refuses a factory that returns no service', () => {
    resource({
      path: '/echo',
      upgrade: {
        service: {
          onText: (caller, text) => {
            expectTypeOf(caller).toEqualTypeOf<WebSocketCaller>()
            expectTypeOf(text).toEqualTypeOf<string>()
          },
        },
      },
    })
    // @ts-expect-error: a factory must return a WebSocket service
    resource({ path: '/bad', upgrade: { service: () => 42 } })
  })

  it('makes a decorated method the service factory when its upgrade names no service', () => {
    class Chat {
      @ResourceConfig({ path: '/a', upgrade: {} })
      a(): WebSocketService {
        return {}
      }
      // @ts-expect-error: the method of an upgrade without a service must return a service
      @ResourceConfig({ path: '/b', upgrade: {} })
      b() {
        return 'not a service'
      }
      @ResourceConfig({ path: '/c', upgrade: { service: {} } })
      c() {
        return 'a plain answer'
      }
    }
    expectTypeOf(new Chat().c()).toEqualTypeOf<string>()
  })
})
