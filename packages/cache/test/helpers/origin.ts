// A scripted origin on 127.0.0.1: each test says what a path answers (status, headers,
// body, or a function of the request and its hit count) and counts what reached it.
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { listen } from '../../../../test-support/listen.ts'

/** What the origin answers. */
export interface Scripted {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string | Buffer
}

/** A request the origin received. */
export interface Seen {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

type Route = (req: IncomingMessage, hit: number) => Scripted | Promise<Scripted>

export interface Origin {
  readonly url: string
  readonly origin: string
  /** Scripts a path (exact match on path + query). */
  route(path: string, answer: Scripted | Route): void
  /** Requests that reached the origin for a path (any method). */
  hits(path: string): number
  /** Every request, in order. */
  readonly seen: Seen[]
  close(): Promise<void>
}

export async function startOrigin(): Promise<Origin> {
  const routes = new Map<string, Route>()
  const counts = new Map<string, number>()
  const seen: Seen[] = []
  const server = createServer(async (req, res) => {
    const path = req.url ?? '/'
    const n = (counts.get(path) ?? 0) + 1
    counts.set(path, n)
    seen.push({ method: req.method ?? '', path, headers: req.headers })
    for await (const _ of req) {
      // drain the request body
    }
    const route = routes.get(path)
    if (route === undefined) {
      res.writeHead(404, { 'content-length': '0' })
      res.end()
      return
    }
    try {
      const a = await route(req, n)
      const body = a.body ?? ''
      const headers: Record<string, string | string[]> = { ...(a.headers ?? {}) }
      if (
        req.method !== 'HEAD' &&
        a.status !== 304 &&
        a.status !== 204 &&
        headers['content-length'] === undefined
      ) {
        headers['content-length'] = String(Buffer.byteLength(body))
      }
      res.writeHead(a.status ?? 200, headers)
      res.end(req.method === 'HEAD' || a.status === 304 ? undefined : body)
    } catch {
      res.destroy()
    }
  })
  server.keepAliveTimeout = 100
  const l = await listen(server)
  return {
    url: l.url,
    origin: l.url,
    route(path, answer) {
      routes.set(path, typeof answer === 'function' ? answer : () => answer)
    },
    hits: (path) => counts.get(path) ?? 0,
    seen,
    async close() {
      await l.drained()
      await l.close()
    },
  }
}

/** A clock tests move by hand; `date()` formats it as an HTTP-date. */
export class Clock {
  ms: number
  constructor(start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.ms = start
  }
  readonly now = (): number => this.ms
  advance(seconds: number): void {
    this.ms += seconds * 1000
  }
  date(offsetSeconds = 0): string {
    return new Date(this.ms + offsetSeconds * 1000).toUTCString()
  }
}
