import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Program, startProgram } from '../../test-support/program.ts'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

let program: Program & { match: RegExpMatchArray }

beforeAll(async () => {
  program = await startProgram(dir, 'main.ts', { PORT: '0', TLS_PORT: '0' }, /Stop with Ctrl\+C/)
})

afterAll(async () => {
  expect(await program.stop()).toBe(0)
})

/** The documented curl command for `path`, as the example printed it. */
function documented(path: string): string {
  const line = program
    .output()
    .split('\n')
    .find((l) => l.includes('curl') && l.trim().endsWith(path))
  if (line === undefined) throw new Error(`no curl command for ${path}`)
  return line.trim()
}

describe('http2 example', () => {
  it('calls the TLS Listener with a Client over h2', () => {
    expect(program.output()).toContain(
      `Client (httpVersion '2') → {"hello":"ada","protocol":"HTTP/2.0","alpn":"h2"}`,
    )
    expect(program.output()).toContain(
      `Client (httpVersion '2') → {"hello":"grace","protocol":"HTTP/2.0","alpn":"h2"}`,
    )
  })

  it.each([
    {
      name: 'h2c with prior knowledge',
      path: '/greetings/h2c',
      protocol: 'HTTP/2.0',
      alpn: 'none (cleartext)',
    },
    {
      name: 'HTTP/1.1 on the cleartext port',
      path: '/greetings/http1',
      protocol: 'HTTP/1.1',
      alpn: 'none (cleartext)',
    },
    { name: 'h2 over TLS', path: '/greetings/h2', protocol: 'HTTP/2.0', alpn: 'h2' },
    { name: 'HTTP/1.1 over TLS', path: '/greetings/tls-http1', protocol: 'HTTP/1.1', alpn: 'http/1.1' },
  ])('answers the documented curl command for $name', async ({ path, protocol, alpn }) => {
    const { stdout } = await run('sh', ['-c', `${documented(path)} -sS`])
    expect(JSON.parse(stdout)).toEqual({ hello: path.split('/')[2], protocol, alpn })
  })
})
