// The server side of HTTP caching with @x/http: GET /articles/{id} sends Cache-Control, an ETag
// and Last-Modified, answers conditional requests with 304 (before the handler runs, from the
// resource's validators), and PUT with a stale If-Match gets 412. PORT picks the port.
import { HttpError, HttpResponse, Listener, resource } from '@x/http'

interface Article {
  title: string
  body: string
  version: number
  modified: Date
}

const articles = new Map<string, Article>([
  [
    '1',
    {
      title: 'Caching',
      body: 'Validators save bandwidth.',
      version: 1,
      modified: new Date('2026-01-01T00:00:00Z'),
    },
  ],
])

const etagOf = (a: Article) => `"article-v${a.version}"`

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const listener = new Listener({ port })
listener.attach({
  basePath: '/articles',
  resources: [
    resource({
      methods: ['GET', 'PUT'],
      path: '/{id}',
      body: { type: 'json', optional: true },
      // Caches may keep it a minute, then must ask again (and get a 304 while it is unchanged).
      cacheControl: { public: true, maxAge: 60, mustRevalidate: true },
      // Asked before the body is read and the handler runs: 304 and 412 cost no work.
      validators: (ctx) => {
        const a = articles.get(ctx.params.id as string)
        return a === undefined ? { exists: false } : { etag: etagOf(a), lastModified: a.modified }
      },
      handler: (ctx) => {
        const a = articles.get(ctx.params.id)
        if (ctx.method === 'GET') {
          if (a === undefined) throw new HttpError(404, 'no such article')
          return { title: a.title, body: a.body }
        }
        const update = ctx.body as { title?: string; body?: string } | undefined
        if (update === undefined) throw new HttpError(400, 'a JSON body is required')
        const next: Article = {
          title: update.title ?? a?.title ?? '',
          body: update.body ?? a?.body ?? '',
          version: (a?.version ?? 0) + 1,
          modified: new Date(),
        }
        articles.set(ctx.params.id, next)
        return new HttpResponse({
          status: 200,
          headers: { etag: etagOf(next) },
          body: { title: next.title, body: next.body },
        })
      },
    }),
  ],
})

await listener.start()
const url = `http://localhost:${listener.port}`
console.log(`caching example listening on ${url}`)
console.log('Try (200 with an ETag, then 304 with it):')
console.log(`  curl -i ${url}/articles/1`)
console.log(`  curl -i ${url}/articles/1 -H 'If-None-Match: "article-v1"'`)
console.log(
  `  curl -i -X PUT ${url}/articles/1 -H 'If-Match: "article-v0"' -H 'Content-Type: application/json' -d '{"title":"x"}'`,
)
console.log('Stop with Ctrl+C.')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
