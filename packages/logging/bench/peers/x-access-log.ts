// node:http hello world with @x/logging's combined access log to a file.
import { createServer } from 'node:http'
import { accessLog } from '@x/logging'
import { BODY, start } from './server-common.ts'

const log = accessLog({ destination: { file: process.argv[2]! } })
const server = createServer((req, res) => {
  log.attach(req, res)
  res.end(BODY)
})
start(server)
process.on('SIGTERM', () => void log.close())
