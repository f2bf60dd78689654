// Runs an example program as its own process and waits for the line that says it is ready,
// so example tests call a real server the way a reader of the example would.
import { type ChildProcess, spawn } from 'node:child_process'

/** A started program: what it printed so far, and how to stop it. */
export interface Program {
  readonly child: ChildProcess
  /** Everything written to stdout so far. */
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts `node --import tsx <file>` in `cwd` with `env` added, and resolves once stdout
 * matches `ready` (rejects if the program exits first, or after `timeoutMs`).
 */
export function startProgram(
  cwd: string,
  file: string,
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<Program & { match: RegExpMatchArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const program: Program = {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${file} printed no ${ready} within ${timeoutMs} ms:\n${out}\n${err}`))
    }, timeoutMs)
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
    })
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const match = out.match(ready)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ ...program, match })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${file} exited with ${code} before it was ready:\n${out}\n${err}`))
    })
  })
}
