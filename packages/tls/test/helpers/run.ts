// Runs an outside program (openssl s_client, curl) without blocking the event loop, so the
// server under test in this process can answer it. Stdin is closed at once.
import { spawn } from 'node:child_process'

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export function run(command: string, args: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `openssl s_client` against 127.0.0.1:port; resolves with its full output. */
export async function sClient(port: number, args: readonly string[]): Promise<string> {
  const result = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args])
  return result.stdout + result.stderr
}

/** The CN of the certificate s_client printed as the server's (`subject=CN = …`). */
export function servedCommonName(output: string): string | undefined {
  const line = output.split('\n').find((l) => l.startsWith('subject='))
  if (line === undefined) return undefined
  const cn = line.split(/,\s*/).find((part) => part.includes('CN = ') || part.startsWith('subject=CN'))
  return cn?.slice(cn.indexOf('CN = ') + 5).trim()
}
