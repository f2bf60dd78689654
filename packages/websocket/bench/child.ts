// Starts a bench process (TypeScript through tsx) with an IPC channel, raising its
// open-file limit first: 10,000 connections need more descriptors than some defaults allow.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const FILE_LIMIT = 20_000

export function startChild(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url))
  return spawn(
    '/bin/sh',
    [
      '-c',
      `ulimit -n ${FILE_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`,
      'sh',
      process.execPath,
      '--expose-gc',
      '--import',
      'tsx',
      path,
      ...args,
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } },
  )
}

/** Sends a request over IPC and resolves with the child's next message. */
export function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench process exited (${code})`))
    child.once('exit', onExit)
    child.once('message', (reply) => {
      child.off('exit', onExit)
      resolve(reply as T)
    })
    child.send(message as object)
  })
}

/** Resolves with the first message a child sends (its "ready"). */
export function firstMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench process exited (${code})`)))
    child.once('message', (m) => resolve(m as T))
  })
}
