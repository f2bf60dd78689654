// Type-level checks of resource(): `pnpm typecheck` fails when an inferred type drifts.
import type { Readable } from 'node:stream'
import { describe, expectTypeOf, it } from 'vitest'
import { type PathParamNames, type PathParams, type RawParams, resource } from '../src/index.ts'

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
