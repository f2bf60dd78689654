// node:http hello world with pino-http logging each request to a file through pino's
// asynchronous destination (sonic-boom), as its docs recommend for throughput.
import { createServer } from 'node:http'
import pino from 'pino'
import { pinoHttp } from 'pino-http'
import { BODY, start } from './server-common.ts'

const logger = pino(pino.destination({ dest: process.argv[2]!, sync: false }))
const httpLogger = pinoHttp({ logger })
start(
  createServer((req, res) => {
    httpLogger(req, res)
    res.end(BODY)
  }),
)
