import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { Listener, type ListenerOptions } from '../src/index.ts'

const fixture = fileURLToPath(new URL('./fixtures/cluster-app.ts', import.meta.url))

interface Event {
  event: string
  [key: string]: unknown
}

/** The fixture program: its events as they arrive, and a way to wait for one. */
function launch(env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@x/source', '--import', 'tsx', fixture],
    {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  const events: Event[] = []
  const waiters: Array<{ pred: (e: Event) => boolean; resolve: (e: Event) => void }> = []
  let buf = ''
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let nl = buf.indexOf('\n')
    while (nl !== -1) {
      const e = JSON.parse(buf.slice(0, nl)) as Event
      buf = buf.slice(nl + 1)
      events.push(e)
      for (const w of waiters.slice()) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(e)
        }
      }
      nl = buf.indexOf('\n')
    }
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return {
    child,
    events,
    exited,
    stderr: () => stderr,
    /** Resolves with the first event (past or future) named `name` that passes `pred`. */
    next(name: string, pred: (e: Event) => boolean = () => true): Promise<Event> {
      const p = (e: Event) => e.event === name && pred(e)
      const seen = events.find(p)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ pred: p, resolve })
        void exited.then((code) => reject(new Error(`exited ${code} before ${name}: ${stderr}`)))
      })
    },
    send(line: string) {
      child.stdin!.write(`${line}\n`)
    },
  }
}

let running: ReturnType<typeof launch> | undefined
afterEach(async () => {
  if (running !== undefined && running.child.exitCode === null && running.child.signalCode === null) {
    running.send('immediate')
    await running.exited
  }
  running = undefined
})

async function pidOf(agent: Agent, port: number, path = '/pid'): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent })
  expect(res.statusCode).toBe(200)
  return ((await res.body.json()) as { pid: number }).pid
}

describe('Listener workers option', () => {
  it.each([
    { name: 'zero workers', workers: 0 },
    { name: 'a negative count', workers: -2 },
    { name: 'a fractional count', workers: 1.5 },
    { name: 'a count above 1024', workers: 5000 },
    { name: 'a string other than auto', workers: 'all' },
    { name: 'an unknown nested option', workers: { count: 2, restarts: 3 } },
    { name: 'a negative restartDelay', workers: { count: 2, restartDelay: -1 } },
    {
      name: 'maxRestartDelay below restartDelay',
      workers: { count: 2, restartDelay: 100, maxRestartDelay: 10 },
    },
    { name: 'a non-integer maxRestarts', workers: { count: 2, maxRestarts: 'many' } },
  ])('rejects $name with X_ERR_HTTP_INVALID_OPTION', ({ workers }) => {
    expect(() => new Listener({ port: 0, workers } as unknown as ListenerOptions)).toThrow(
      expect.objectContaining({ code: 'X_ERR_HTTP_INVALID_OPTION' }),
    )
  })

  it.each([
    { name: "'auto'", workers: 'auto' as const },
    { name: 'one worker', workers: 1 },
    { name: 'the long form', workers: { count: 3, restartDelay: 0, maxRestarts: 0 } },
  ])('accepts $name', ({ workers }) => {
    expect(() => new Listener({ port: 0, workers })).not.toThrow()
  })
})

describe('Listener in cluster mode (real forks)', () => {
  it('serves one port from two worker processes, reporting the port the OS picked', async () => {
    running = launch({ CLUSTER_WORKERS: '2' })
    const ready = await running.next('ready')
    const port = ready.port as number
    expect(port).toBeGreaterThan(0)
    const pids = ready.pids as number[]
    expect(pids).toHaveLength(2)
    expect(pids).not.toContain(running.child.pid)
    // Fresh connections are dealt round-robin by the primary: collect pids until both answered.
    const seen = new Set<number>()
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const agent = new Agent({ pipelining: 0 })
      seen.add(await pidOf(agent, port))
      await agent.close()
    }
    expect([...seen].sort()).toEqual([...pids].sort())
  })

  it('replaces a worker that dies, on the same port', async () => {
    running = launch({ CLUSTER_WORKERS: '2' })
    const ready = await running.next('ready')
    const port = ready.port as number
    const agent = new Agent({ pipelining: 0 })
    const victim = await pidOf(agent, port, '/crash').catch(() => 0)
    await agent.close()
    const exit = await running.next('worker-exit')
    expect(exit.expected).toBe(false)
    expect(exit.code).toBe(7)
    if (victim !== 0) expect(exit.pid).toBe(victim)
    await running.next('worker-restart')
    const replacement = await running.next(
      'worker-start',
      (e) => !(ready.pids as number[]).includes(e.pid as number),
    )
    expect(replacement.port).toBe(port)
    // The replacement serves: keep asking on fresh connections until it answers.
    let served = false
    for (let i = 0; i < 40 && !served; i++) {
      const a = new Agent({ pipelining: 0 })
      served = (await pidOf(a, port)) === replacement.pid
      await a.close()
    }
    expect(served).toBe(true)
  })

  it('stops restarting after maxRestarts deaths and fails start() with X_ERR_HTTP_WORKER_CRASH_LOOP', async () => {
    running = launch({ CLUSTER_WORKERS: '2', CLUSTER_CRASH: 'start' })
    const failed = await running.next('start-failed')
    expect(failed.code).toBe('X_ERR_HTTP_WORKER_CRASH_LOOP')
    const loop = await running.next('worker-crash-loop')
    expect(loop.code).toBe('X_ERR_HTTP_WORKER_CRASH_LOOP')
    // maxRestarts is 3: the fourth death gives up; the crash loop is also logged with its code.
    expect(running.events.filter((e) => e.event === 'worker-restart')).toHaveLength(3)
    expect(running.events.some((e) => e.event === 'log' && e.code === 'X_ERR_HTTP_WORKER_CRASH_LOOP')).toBe(
      true,
    )
    // With no worker left and nothing else to do, the primary exits by itself.
    expect(await running.exited).toBe(1)
  })

  it('drains every worker on gracefulStop: requests in flight are all answered', async () => {
    running = launch({ CLUSTER_WORKERS: '2' })
    const ready = await running.next('ready')
    const port = ready.port as number
    const agent = new Agent({ pipelining: 0, connections: 16 })
    // Sixteen held requests spread over both workers, then the stop while they are in flight.
    const inFlight = Array.from({ length: 16 }, () =>
      request(`http://127.0.0.1:${port}/slow`, { dispatcher: agent }).then(async (res) => ({
        status: res.statusCode,
        body: (await res.body.json()) as { pid: number },
      })),
    )
    // The handlers hold every request until their worker is told to stop.
    await running.next('arrived', () => running!.events.filter((e) => e.event === 'arrived').length >= 16)
    running.send('graceful 5000')
    const answers = await Promise.all(inFlight)
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(new Set(answers.map((a) => a.body.pid)).size).toBe(2)
    await running.next('stopped')
    const exits = running.events.filter((e) => e.event === 'worker-exit')
    expect(exits).toHaveLength(2)
    expect(exits.every((e) => e.expected === true && e.code === 0)).toBe(true)
    await agent.close()
    expect(await running.exited).toBe(0)
  })

  it('kills every worker on immediateStop, and restarts none of them', async () => {
    running = launch({ CLUSTER_WORKERS: '2' })
    const ready = await running.next('ready')
    running.send('immediate')
    await running.next('stopped')
    const exits = running.events.filter((e) => e.event === 'worker-exit')
    expect(exits.map((e) => e.pid).sort()).toEqual([...(ready.pids as number[])].sort())
    expect(exits.every((e) => e.expected === true && e.signal === 'SIGKILL')).toBe(true)
    expect(await running.exited).toBe(0)
    expect(running.events.some((e) => e.event === 'worker-restart')).toBe(false)
  })
})
