// CORS with @x/http: an API Listener that lets one page origin read its answers (with cookies
// and one exposed header) and refuses every other origin, and a second Listener serving that
// page, whose buttons show what a browser allows and refuses. PORT and PAGE_PORT pick the ports.
import { HttpResponse, Listener } from '@x/http'

const port = process.env.PORT === undefined ? 9090 : Number(process.env.PORT)
const pagePort =
  process.env.PAGE_PORT === undefined ? (port === 0 ? 0 : port + 1) : Number(process.env.PAGE_PORT)

// The page first: its origin is what the API allows.
const site = new Listener({ port: pagePort })
let apiUrl = ''
site.attach({
  resources: [
    {
      methods: ['GET'],
      path: '/',
      handler: () =>
        new HttpResponse({ headers: { 'content-type': 'text/html; charset=utf-8' }, body: page(apiUrl) }),
    },
  ],
})
await site.start()
const pageOrigins = [`http://localhost:${site.port}`, `http://127.0.0.1:${site.port}`]

const api = new Listener({ port })
api.attach({
  basePath: '/api',
  cors: {
    allowOrigins: pageOrigins,
    allowCredentials: true,
    allowHeaders: ['content-type', 'x-request-id'],
    allowMethods: ['GET', 'PUT'],
    exposeHeaders: ['x-total-count'],
    maxAge: 600,
  },
  resources: [
    {
      methods: ['GET'],
      path: '/books',
      handler: () =>
        new HttpResponse({
          headers: { 'x-total-count': '2', 'x-internal': 'not for pages' },
          body: [{ title: 'Dune' }, { title: 'Solaris' }],
        }),
    },
    {
      methods: ['PUT', 'DELETE'],
      path: '/books/{id}',
      body: 'json',
      handler: (ctx) => ({ id: ctx.params.id, saved: ctx.body }),
    },
  ],
})
await api.start()
apiUrl = `http://localhost:${api.port}`

console.log(`CORS example: API listening on ${apiUrl}, page on http://localhost:${site.port}`)
console.log(`Allowed origins: ${pageOrigins.join(', ')}`)
console.log('Try (a preflight from the page, then one from another origin):')
console.log(
  `  curl -i -X OPTIONS ${apiUrl}/api/books/1 -H 'Origin: ${pageOrigins[0]}' -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type'`,
)
console.log(
  `  curl -i -X OPTIONS ${apiUrl}/api/books/1 -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: PUT'`,
)
console.log(`Open http://localhost:${site.port} in a browser and press the buttons.`)
console.log('Stop with Ctrl+C.')

const stop = () => {
  Promise.all([api.gracefulStop({ timeout: 5_000 }), site.gracefulStop({ timeout: 5_000 })]).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

function page(api: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>@x/http CORS example</title>
<h1>Calls from this page to ${api}</h1>
<button id="list">GET /api/books (allowed; reads x-total-count)</button>
<button id="put">PUT /api/books/1 with JSON (preflighted, allowed)</button>
<button id="delete">DELETE /api/books/1 (preflight refused)</button>
<button id="header">GET with x-secret header (preflight refused)</button>
<pre id="out"></pre>
<script type="module">
const api = ${JSON.stringify(api)}
const out = document.getElementById('out')
const show = async (label, call) => {
  try {
    const res = await call()
    out.textContent += label + ': ' + res.status + ' x-total-count=' + res.headers.get('x-total-count') +
      ' x-internal=' + res.headers.get('x-internal') + ' ' + (await res.text()) + '\\n'
  } catch (e) {
    out.textContent += label + ': refused by the browser (' + e + ')\\n'
  }
}
document.getElementById('list').onclick = () => show('list', () => fetch(api + '/api/books', { credentials: 'include' }))
document.getElementById('put').onclick = () => show('put', () => fetch(api + '/api/books/1', {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Dune' }) }))
document.getElementById('delete').onclick = () => show('delete', () => fetch(api + '/api/books/1', {
  method: 'DELETE', headers: { 'content-type': 'application/json' }, body: '{}' }))
document.getElementById('header').onclick = () => show('header', () => fetch(api + '/api/books', { headers: { 'x-secret': '1' } }))
</script>
`
}
