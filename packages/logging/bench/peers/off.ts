// node:http hello world with no logging: the ceiling.
import { createServer } from 'node:http'
import { BODY, start } from './server-common.ts'

start(createServer((_req, res) => res.end(BODY)))
