import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createLogger, isLoggingError } from '../src/index.ts'
import { capture } from './helpers/capture.ts'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

describe('createLogger', () => {
  it('redacts Authorization, Cookie, Set-Cookie and Proxy-Authorization by default', async () => {
    const cap = capture()
    const logger = createLogger({ destination: cap.stream })
    logger.info(
      {
        req: {
          headers: { authorization: 'Basic abc', cookie: 'a=b', 'proxy-authorization': 'x', accept: '*/*' },
        },
        res: { headers: { 'set-cookie': ['s=1'], 'Set-Cookie': 'S=2' } },
        headers: { Authorization: 'top' },
      },
      'hi',
    )
    const [line] = await cap.waitFor(1)
    const j = JSON.parse(line!)
    expect(j.req.headers).toEqual({
      authorization: '[Redacted]',
      cookie: '[Redacted]',
      'proxy-authorization': '[Redacted]',
      accept: '*/*',
    })
    expect(j.res.headers).toEqual({ 'set-cookie': '[Redacted]', 'Set-Cookie': '[Redacted]' })
    expect(j.headers.Authorization).toBe('[Redacted]')
    expect(j).toMatchObject({ level: 30, msg: 'hi' })
  })

  it('leaves headers alone with redact: false, and adds paths given as a list', async () => {
    const plain = capture()
    createLogger({ redact: false, destination: plain.stream }).info({ headers: { cookie: 'a=b' } })
    expect(JSON.parse((await plain.waitFor(1))[0]!).headers.cookie).toBe('a=b')
    const extra = capture()
    createLogger({ redact: ['user.password'], destination: extra.stream }).info({
      user: { password: 'p', name: 'n' },
      headers: { cookie: 'c' },
    })
    const j = JSON.parse((await extra.waitFor(1))[0]!)
    expect(j.user).toEqual({ password: '[Redacted]', name: 'n' })
    expect(j.headers.cookie).toBe('[Redacted]')
  })

  it('honours the level', async () => {
    const cap = capture()
    const logger = createLogger({ level: 'warn', destination: cap.stream })
    logger.info('dropped')
    logger.warn('kept')
    const [line] = await cap.waitFor(1)
    expect(JSON.parse(line!).msg).toBe('kept')
    expect(cap.lines).toHaveLength(1)
  })

  it('prints human-readable lines through pino-pretty when asked', async () => {
    const cap = capture()
    const sink = new Writable({
      write(chunk, _enc, cb) {
        cap.stream.write(String(chunk))
        cb()
      },
    })
    const logger = createLogger({ pretty: { colorize: false, sync: true }, destination: sink })
    logger.info({ headers: { authorization: 'secret' } }, 'pretty hello')
    const text = (await cap.waitFor(1)).join('\n')
    expect(text).toContain('INFO')
    expect(text).toContain('pretty hello')
    expect(text).not.toContain('secret')
    expect(() => JSON.parse(cap.lines[0]!)).toThrow()
  })

  it('throws X_ERR_LOGGING_PRETTY_UNAVAILABLE where pino-pretty is not installed', async () => {
    // A copy of the sources in a directory whose node_modules has pino and sonic-boom but no pino-pretty.
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'x-logging-nopretty-')))
    try {
      cpSync(join(here, '..', 'src'), join(dir, 'lib'), { recursive: true })
      mkdirSync(join(dir, 'node_modules'))
      for (const dep of ['pino', 'sonic-boom'])
        symlinkSync(dirname(require.resolve(`${dep}/package.json`)), join(dir, 'node_modules', dep))
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
      writeFileSync(
        join(dir, 'main.ts'),
        `import { createLogger, isLoggingError } from './lib/index.ts'
try { createLogger({ pretty: true }); console.log('no error') }
catch (e) { console.log(isLoggingError(e, 'X_ERR_LOGGING_PRETTY_UNAVAILABLE') ? 'coded' : 'other ' + e) }`,
      )
      const tsx = pathToFileURL(require.resolve('tsx')).href
      // pnpm's NODE_PATH would find its hoisted copy of pino-pretty: a user's process has none.
      const { NODE_PATH: _, ...env } = process.env
      const { stdout } = await run(process.execPath, ['--import', tsx, join(dir, 'main.ts')], {
        cwd: dir,
        env,
      })
      expect(stdout.trim()).toBe('coded')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each([
    { name: 'unknown level', options: { level: 'verbose' } },
    { name: 'bad redact', options: { redact: 'yes' } },
    { name: 'malformed redact path', options: { redact: ['a..b'] } },
    { name: 'bad pretty', options: { pretty: 'yes' } },
    { name: 'bad destination', options: { destination: {} } },
    { name: 'unknown option', options: { colour: true } },
  ])('rejects $name with X_ERR_LOGGING_INVALID_OPTION', ({ options }) => {
    let err: unknown
    try {
      createLogger(options as never)
    } catch (e) {
      err = e
    }
    expect(isLoggingError(err, 'X_ERR_LOGGING_INVALID_OPTION')).toBe(true)
  })
})
