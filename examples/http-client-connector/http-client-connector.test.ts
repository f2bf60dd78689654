import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const dir = fileURLToPath(new URL('.', import.meta.url))

describe('http-client-connector example', () => {
  it('talks to the albums service and reports failures by code', async () => {
    const { stdout } = await run('pnpm', ['start'], { cwd: dir })
    expect(stdout).toContain('GET /albums/1 → 200 Blue Train by John Coltrane')
    expect(stdout).toContain('POST /albums → 201 Sarah Vaughan')
    expect(stdout).toContain('PUT /albums/2 → 200 Sarah Vaughan (1955)')
    expect(stdout).toContain('GET /albums → 2 albums: 1, 2')
    expect(stdout).toContain('GET /albums/9 → 404 no album 9')
    expect(stdout).toContain('PURGE /albums → 200 {"purged":true}')
    expect(stdout).toContain('header with CR/LF → X_ERR_CLIENT_INVALID_HEADER')
    expect(stdout).toContain('service down → X_ERR_CLIENT_CONNECT_FAILED')
  })
})
