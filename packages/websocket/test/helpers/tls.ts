// The test-only CA and server certificate in test/fixtures.
import { readFileSync } from 'node:fs'

const dir = new URL('../fixtures/', import.meta.url)
export const ca = readFileSync(new URL('ca.pem', dir), 'utf8')
export const cert = readFileSync(new URL('server.pem', dir), 'utf8')
export const key = readFileSync(new URL('server.key', dir), 'utf8')
