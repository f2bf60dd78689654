// The conformance harness: a scripted origin and a runner that drive request sequences
// through the caching proxy and check what a shared HTTP cache must do. Time is a clock the
// origin and the cache share, so a "pause" is a clock step, never a sleep.
import * as diagnostics from 'node:diagnostics_channel'
import { createServer, type IncomingMessage, request as nodeRequest, type ServerResponse } from 'node:http'
import { type Listening, listen } from '../../../test-support/listen.ts'

/** A response field: name, value, and whether the cache must relay it unchanged (default true). A number is a date `n` seconds from now. */
export type Field = readonly [name: string, value: string | number, relayed?: boolean]

/** What a step expects of the answer the client got. */
export type Expect =
  | 'cached' // answered without the origin seeing this step
  | 'not_cached' // the origin answered this step
  | 'etag_validated' // the origin saw this step with If-None-Match
  | 'lm_validated' // the origin saw this step with If-Modified-Since

/** One request of a scenario and what the origin answers to it. */
export interface Step {
  /** Request method. @defaultValue 'GET' */
  method?: string
  /** Request fields (a number is a date `n` seconds from now). */
  request?: readonly Field[]
  body?: string
  /** Appended to the scenario's URL: `?query` or `/sub/path`. */
  suffix?: string
  /** What the origin answers with for this step. */
  status?: number
  response?: readonly Field[]
  /** Response body. @defaultValue a token unique to the scenario */
  responseBody?: string | null
  /** The origin closes the connection instead of answering. */
  disconnect?: boolean
  /** Interim responses the origin sends first (103 with these Link values, or 102). */
  interim?: readonly (102 | 103)[]
  /** Seconds the origin takes to answer (the shared clock moves). */
  delay?: number
  /** Seconds that pass after this step. */
  pause?: number
  /** `Location` / `Content-Location` values are made absolute paths under the scenario's URL. */
  locations?: boolean
  /** The step also causes a background request; the runner waits for it before going on. */
  background?: boolean

  expect?: Expect
  /** Every check of this step only sets the scenario up: a failure means it could not run, not that the cache is wrong. */
  setup?: boolean
  /** Only the `expect` check sets the scenario up. */
  setupType?: boolean
  /** The body is not checked. */
  checkBody?: false
  expectStatus?: number | null
  /** Response fields that must be present (a bare name), equal, or numerically greater (`['age', '>', 2]`). */
  expectFields?: readonly (string | readonly [string, string | number] | readonly [string, '>', number])[]
  /** Response fields that must be absent. */
  expectNoFields?: readonly string[]
  /** Response fields that must not carry these values (the proxy's own connection may add hop-by-hop fields). */
  expectNotValues?: readonly (readonly [string, string])[]
  expectBody?: string | null
  /** Request fields the origin must have received for this step. */
  expectRequestFields?: readonly (string | readonly [string, string])[]
  expectMethod?: string
  expectInterim?: readonly number[]
}

/** A behaviour of a shared cache, as a request sequence. */
export interface Scenario {
  /** The cache-tests identifier of the behaviour this reproduces, for traceability. */
  id: string
  title: string
  kind: 'required' | 'optimal' | 'check'
  steps: readonly Step[]
  /** Known gap: why this proxy does not (yet) behave so; the test then asserts the failure. */
  gap?: string
}

/** The outcome of a scenario: passed, failed (with why), or could not be set up. */
export type Outcome = { kind: 'pass' } | { kind: 'fail'; reason: string } | { kind: 'setup'; reason: string }

export class Clock {
  ms: number
  constructor(start = Math.floor(Date.now() / 1000) * 1000) {
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

const DATE_FIELDS = new Set(['date', 'expires', 'last-modified', 'if-modified-since', 'if-unmodified-since'])

interface Seen {
  step: number
  method: string
  headers: IncomingMessage['headers']
}

interface Running {
  scenario: Scenario
  base: string
  token: string
  seen: Seen[]
  /** Resolvers waiting for the origin to see a step. */
  waiting: Map<number, () => void>
  /** Response fields the origin sent and the cache must relay, per step, as sent. */
  sent: Map<number, Array<[string, string]>>
  /** Every response field the origin sent, per step, as sent. */
  wire: Map<number, Array<[string, string]>>
}

/** The scripted origin all scenarios share, each under its own path. */
export class ScriptedOrigin {
  readonly #clock: Clock
  readonly #runs = new Map<string, Running>()
  #listening: Listening | undefined

  constructor(clock: Clock) {
    this.#clock = clock
  }

  get url(): string {
    return this.#listening!.url
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#answer(req, res))
    server.keepAliveTimeout = 60_000
    this.#listening = await listen(server)
  }

  /** Closes the origin once the proxy has closed its connections to it. */
  async stop(): Promise<void> {
    await this.#listening?.drained()
    await this.#listening?.close()
  }

  register(run: Running): void {
    this.#runs.set(run.token, run)
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const token = (q === -1 ? url : url.slice(0, q)).split('/')[2] ?? ''
    const run = this.#runs.get(token)
    const stepNo = Number(req.headers['x-step'])
    const step = run?.scenario.steps[stepNo - 1]
    if (run === undefined || step === undefined) {
      res.writeHead(409, { 'content-type': 'text/plain' }).end('no such scenario step')
      return
    }
    req.resume()
    req.on('end', () => {
      run.seen.push({ step: stepNo, method: req.method ?? '', headers: req.headers })
      const respond = () => this.#respond(run, stepNo, step, req, res)
      if (step.delay !== undefined) this.#clock.advance(step.delay)
      respond()
      run.waiting.get(stepNo)?.()
    })
  }

  #respond(run: Running, stepNo: number, step: Step, req: IncomingMessage, res: ServerResponse): void {
    if (step.disconnect === true) {
      req.socket.destroy()
      return
    }
    for (const i of step.interim ?? []) {
      if (i === 102) res.writeProcessing()
      else res.writeEarlyHints({ link: '</hint.css>; rel=preload; as=style' })
    }
    let status = step.status ?? 200
    if (step.expect === 'etag_validated' || step.expect === 'lm_validated') {
      // Validation succeeds only with the validators the previous step's response carried.
      const previous = run.wire.get(stepNo - 1) ?? []
      const etag = previous.find(([n]) => n === 'etag')?.[1]
      const lm = previous.find(([n]) => n === 'last-modified')?.[1]
      if (
        (etag !== undefined && req.headers['if-none-match'] === etag) ||
        (lm !== undefined && req.headers['if-modified-since'] === lm)
      ) {
        status = 304
      }
    }
    res.sendDate = false
    const fields: Array<[string, string | string[]]> = []
    const relayed: Array<[string, string]> = []
    const wire: Array<[string, string]> = []
    const add = (name: string, value: string, checked: boolean) => {
      wire.push([name.toLowerCase(), value])
      const prev = fields.find(([n]) => n.toLowerCase() === name.toLowerCase())
      if (prev === undefined) fields.push([name, value])
      else prev[1] = Array.isArray(prev[1]) ? [...prev[1], value] : [prev[1], value]
      if (checked) relayed.push([name.toLowerCase(), value])
    }
    add('x-step-seen', String(stepNo), false)
    add('x-origin-count', String(run.seen.length), false)
    for (const [name, value, checked] of step.response ?? []) {
      let v = typeof value === 'number' ? this.#clock.date(value) : value
      if (
        step.locations === true &&
        (name.toLowerCase() === 'location' || name.toLowerCase() === 'content-location')
      ) {
        v = `${run.base}${v === '' ? '' : `/${v}`}`
      }
      add(name, v, checked !== false)
    }
    if (!fields.some(([n]) => n.toLowerCase() === 'date')) fields.push(['Date', this.#clock.date()])
    if (!fields.some(([n]) => n.toLowerCase() === 'content-type')) fields.push(['Content-Type', 'text/plain'])
    run.sent.set(stepNo, relayed)
    run.wire.set(stepNo, wire)
    for (const [name, value] of fields) res.setHeader(name, value)
    res.statusCode = status
    const body = status === 204 || status === 304 ? undefined : (step.responseBody ?? run.token)
    res.end(body ?? undefined)
  }
}

interface Answer {
  status: number
  headers: IncomingMessage['headers']
  body: string
  interim: number[]
}

function send(
  port: number,
  path: string,
  method: string,
  headers: Array<[string, string]>,
  body: string | undefined,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const interim: number[] = []
    // Raw header lines keep repeated fields apart; Node adds no Host to them.
    const flat: string[] = ['host', `127.0.0.1:${port}`]
    for (const [n, v] of headers) flat.push(n, v)
    const req = nodeRequest({ host: '127.0.0.1', port, path, method, headers: flat }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          interim,
        }),
      )
    })
    req.on('information', (info) => interim.push(info.statusCode))
    req.on('error', reject)
    // A subject that never answers fails the scenario instead of hanging the run.
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')))
    req.end(body)
  })
}

class Failure extends Error {
  constructor(
    readonly setup: boolean,
    message: string,
  ) {
    super(message)
  }
}

function check(setup: boolean | undefined, ok: boolean, message: string): void {
  if (!ok) throw new Failure(setup === true, message)
}

function joined(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v
}

let tokens = 0

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer))
}

/** Resolves once the cache has taken the answer to a background revalidation of `path` in. */
function settled(path: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (message: unknown) => {
      const m = message as { path?: string; background?: boolean }
      if (m.background !== true || m.path?.startsWith(path) !== true) return
      diagnostics.unsubscribe('x:cache:revalidate', done)
      // The store takes the entry in once the write stream finishes, a few ticks later.
      setImmediate(() => setImmediate(resolve))
    }
    diagnostics.subscribe('x:cache:revalidate', done)
  })
}

/** Runs one scenario through the proxy listening on `port`; the origin must be `origin`. */
export async function runScenario(
  scenario: Scenario,
  origin: ScriptedOrigin,
  port: number,
  clock: Clock,
): Promise<Outcome> {
  const token = `${scenario.id}-${process.pid}-${++tokens}`
  const run: Running = {
    scenario,
    base: `/c/${token}`,
    token,
    seen: [],
    waiting: new Map(),
    sent: new Map(),
    wire: new Map(),
  }
  origin.register(run)
  try {
    for (let i = 0; i < scenario.steps.length; i++) {
      const step = scenario.steps[i]!
      const n = i + 1
      const setupTypes = step.setup === true
      // As the public suite's runner does: every request carries an unknown request
      // directive and an unknown Pragma, so neither field is ever absent.
      const fields: Array<[string, string]> = [
        ['x-step', String(n)],
        ['pragma', 'foo'],
        ['cache-control', 'nothing-to-see-here'],
      ]
      for (const [name, value] of step.request ?? []) {
        fields.push([
          name,
          typeof value === 'number' && DATE_FIELDS.has(name.toLowerCase())
            ? clock.date(value)
            : String(value),
        ])
      }
      const seenBefore = run.seen.length
      const backgroundSeen =
        step.background === true ? new Promise<void>((resolve) => run.waiting.set(n, resolve)) : undefined
      const backgroundDone = step.background === true ? settled(run.base) : undefined
      let answer: Answer
      try {
        answer = await send(port, `${run.base}${step.suffix ?? ''}`, step.method ?? 'GET', fields, step.body)
      } catch (err) {
        throw new Failure(setupTypes, `request ${n} failed: ${(err as Error).message}`)
      }
      if (backgroundSeen !== undefined) {
        const seen = await within(backgroundSeen, 5_000)
        check(false, seen, `step ${n} caused no background request`)
        // Another cache may not report its revalidations: then give it a moment instead.
        await within(backgroundDone!, 1_000)
      }
      const atOrigin = run.seen.slice(seenBefore).find((s) => s.step === n)
      const fromOrigin = answer.headers['x-step-seen'] === String(n)

      // Was it answered from the cache, and was it validated?
      const typeSetup = setupTypes || step.setupType === true
      if (step.expect === 'cached') {
        check(typeSetup, !fromOrigin, `response ${n} did not come from the cache`)
      } else if (step.expect === 'not_cached') {
        check(typeSetup, fromOrigin, `response ${n} came from the cache`)
      } else if (step.expect === 'etag_validated' || step.expect === 'lm_validated') {
        const field = step.expect === 'etag_validated' ? 'if-none-match' : 'if-modified-since'
        check(typeSetup, atOrigin !== undefined, `request ${n} did not reach the origin`)
        check(typeSetup, atOrigin?.headers[field] !== undefined, `request ${n} had no ${field}`)
      }

      // Status and body.
      if (step.expectStatus !== undefined) {
        if (step.expectStatus !== null) {
          check(
            setupTypes,
            answer.status === step.expectStatus,
            `response ${n} has status ${answer.status}, not ${step.expectStatus}`,
          )
        }
      } else {
        const want = step.status ?? 200
        check(true, answer.status === want, `response ${n} has status ${answer.status}, not ${want}`)
      }
      if (step.checkBody !== false) {
        if (step.expectBody !== undefined) {
          if (step.expectBody !== null)
            check(setupTypes, answer.body === step.expectBody, `response ${n} body is "${answer.body}"`)
        } else if (step.responseBody !== undefined && step.responseBody !== null) {
          check(true, answer.body === step.responseBody, `response ${n} body is "${answer.body}"`)
        } else if (answer.status !== 204 && answer.status !== 304 && (step.method ?? 'GET') !== 'HEAD') {
          check(true, answer.body === run.token, `response ${n} body is "${answer.body}"`)
        }
      }

      // Fields the client must or must not see.
      for (const f of step.expectFields ?? []) {
        if (typeof f === 'string') {
          check(false, answer.headers[f.toLowerCase()] !== undefined, `response ${n} has no ${f}`)
        } else if (f.length === 3) {
          const v = Number(joined(answer.headers[f[0].toLowerCase()]))
          check(
            false,
            v > f[2],
            `response ${n} ${f[0]} is ${String(answer.headers[f[0].toLowerCase()])}, not above ${f[2]}`,
          )
        } else {
          const [name, value] = f as readonly [string, string | number]
          const want = typeof value === 'number' ? clock.date(value) : value
          const got = joined(answer.headers[name.toLowerCase()])
          check(false, got === want, `response ${n} ${name} is "${got}", not "${want}"`)
        }
      }
      for (const name of step.expectNoFields ?? []) {
        check(false, answer.headers[name.toLowerCase()] === undefined, `response ${n} has ${name}`)
      }
      for (const [name, value] of step.expectNotValues ?? []) {
        const got = joined(answer.headers[name.toLowerCase()])
        check(false, got === undefined || !got.includes(value), `response ${n} ${name} still has "${value}"`)
      }
      if (step.expectInterim !== undefined) {
        check(
          false,
          answer.interim.join() === step.expectInterim.join(),
          `response ${n} had interim [${answer.interim}]`,
        )
      }

      // What reached the origin.
      for (const f of step.expectRequestFields ?? []) {
        check(setupTypes, atOrigin !== undefined, `request ${n} did not reach the origin`)
        const name = (typeof f === 'string' ? f : f[0]).toLowerCase()
        const got = joined(atOrigin!.headers[name])
        if (typeof f === 'string') check(false, got !== undefined, `request ${n} had no ${name}`)
        else check(false, got === f[1], `request ${n} ${name} was "${got}", not "${f[1]}"`)
      }
      if (step.expectMethod !== undefined) {
        check(
          false,
          atOrigin?.method === step.expectMethod,
          `request ${n} reached the origin as ${atOrigin?.method}`,
        )
      }

      // A response the origin made for this step reaches the client with its fields unchanged.
      if (fromOrigin && answer.status !== 304) {
        const sent = run.sent.get(n) ?? []
        const names = new Set(sent.map(([name]) => name))
        for (const name of names) {
          if (name === 'date') continue
          const want = sent
            .filter(([x]) => x === name)
            .map(([, v]) => v)
            .join(', ')
          const got = joined(answer.headers[name])
          check(false, got === want, `response ${n} ${name} is "${got}", not "${want}" as the origin sent it`)
        }
      }
      if (step.pause !== undefined) clock.advance(step.pause)
    }
    return { kind: 'pass' }
  } catch (err) {
    if (err instanceof Failure)
      return err.setup ? { kind: 'setup', reason: err.message } : { kind: 'fail', reason: err.message }
    throw err
  }
}
