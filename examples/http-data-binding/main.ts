// Data binding with @x/http: a record store whose resources bind path parameters, query
// parameters, a header and a validated JSON body to typed values, declared with decorators.
// PORT overrides the port (0 picks a free one).
import { type Context, HttpError, Listener } from '@x/http'
import { ResourceConfig, ServiceConfig } from '@x/http/decorators'

interface Album {
  title: string
  artist: string
  year: number
}

function isAlbum(v: unknown): v is Album {
  const a = v as Partial<Album> | null
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.title === 'string' &&
    typeof a.artist === 'string' &&
    Number.isInteger(a.year)
  )
}

@ServiceConfig({ basePath: '/store' })
class RecordStore {
  private readonly albums = new Map<number, Album & { id: number }>()
  private nextId = 1

  // POST /store/albums with a JSON body: 400 when it is no album, 415 when it is not JSON.
  @ResourceConfig({ methods: ['POST'], path: '/albums', body: { type: 'json', validate: isAlbum } })
  add(ctx: Context<{ body: Album }>) {
    const album = { id: this.nextId++, ...ctx.body }
    this.albums.set(album.id, album)
    return album
  }

  // GET /store/albums/{id}: {id} converts to an integer, or the answer is 400 naming it.
  @ResourceConfig({ methods: ['GET'], path: '/albums/{id}', params: { id: 'integer' } })
  get(ctx: Context<{ params: { id: number } }>) {
    const album = this.albums.get(ctx.params.id)
    if (album === undefined) throw new HttpError(404, `no album ${ctx.params.id}`)
    return album
  }

  // GET /store/albums?artist=…&before=…&limit=…: typed query parameters with a default.
  @ResourceConfig({
    methods: ['GET'],
    path: '/albums',
    query: {
      artist: { type: 'string', optional: true },
      before: { type: 'integer', optional: true },
      limit: { type: 'integer', default: 10 },
    },
    headers: { 'x-currency': { type: 'string', default: 'EUR' } },
  })
  list(
    ctx: Context<{
      query: { artist: string | undefined; before: number | undefined; limit: number }
      headers: { 'x-currency': string }
    }>,
  ) {
    const { artist, before, limit } = ctx.query
    const found = [...this.albums.values()]
      .filter(
        (a) => (artist === undefined || a.artist === artist) && (before === undefined || a.year < before),
      )
      .slice(0, limit)
    return { currency: ctx.headers['x-currency'], albums: found }
  }
}

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const listener = new Listener({ port })
listener.attach(new RecordStore())
await listener.start()

const url = `http://localhost:${listener.port}`
console.log(`data-binding example listening on ${url}`)
console.log('Try:')
console.log(
  `  curl -X POST ${url}/store/albums -H 'Content-Type: application/json' -d '{"title":"Blue Train","artist":"John Coltrane","year":1957}'`,
)
console.log(`  curl ${url}/store/albums/1`)
console.log(`  curl '${url}/store/albums?artist=John%20Coltrane&before=1960'`)
console.log(`  curl -i ${url}/store/albums/one`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  listener.gracefulStop({ timeout: 5_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
