// The soak's programs run as processes of their own (servers are measured apart from the
// load generator): start one with tsx, talk to it over IPC, wait for its messages.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** A message a soak program sends: `{ type, ...fields }`. */
export interface ProgramMessage {
  type: string
  [field: string]: unknown
}

/** A running soak program. */
export interface Program {
  readonly child: ChildProcess
  readonly pid: number
  /** The port it reported in its `ready` message. */
  readonly port: number
  /** Every message received so far. */
  readonly messages: ProgramMessage[]
  send(message: ProgramMessage): void
  /** Resolves with the first message (past or future) of `type` that passes `pred`. */
  next(type: string, pred?: (m: ProgramMessage) => boolean, timeoutMs?: number): Promise<ProgramMessage>
  /** Sends `{ type }` and resolves with the answer of the same type. */
  ask(type: string, fields?: Record<string, unknown>): Promise<ProgramMessage>
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>
}

/** Starts `programs/<name>.ts` with `env` added and resolves once it reported `ready`. */
export async function startProgram(name: string, env: Record<string, string> = {}): Promise<Program> {
  const file = fileURLToPath(new URL(`./programs/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, ['--conditions=@x/source', '--import', 'tsx', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const messages: ProgramMessage[] = []
  const waiters: Array<{
    type: string
    pred: (m: ProgramMessage) => boolean
    resolve: (m: ProgramMessage) => void
  }> = []
  child.on('message', (m: ProgramMessage) => {
    messages.push(m)
    for (const w of waiters.slice()) {
      if (w.type === m.type && w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const next = (
    type: string,
    pred: (m: ProgramMessage) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<ProgramMessage> => {
    const seen = messages.find((m) => m.type === type && pred(m))
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name}: no ${type} message in ${timeoutMs} ms`)),
        timeoutMs,
      )
      const w = {
        type,
        pred,
        resolve: (m: ProgramMessage) => {
          clearTimeout(timer)
          resolve(m)
        },
      }
      waiters.push(w)
      void exited.then((code) => {
        clearTimeout(timer)
        if (waiters.includes(w)) reject(new Error(`${name} exited (${code}) before a ${type} message`))
      })
    })
  }
  const ready = await next('ready')
  let asked = 0
  return {
    child,
    pid: child.pid!,
    port: ready.port as number,
    messages,
    send: (m) => child.send(m),
    next,
    ask(type, fields = {}) {
      const id = ++asked
      child.send({ type, id, ...fields })
      return next(type, (m) => m.id === id)
    },
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
