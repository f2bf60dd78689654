import { Agent, type Dispatcher } from 'undici'
import type { Peer } from './types.ts'

// The most any cache could do on undici.request: a hand-written interceptor that answers
// one fixed response synchronously, with no lookup, no rules and no copies.
const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }))
const headers = {
  'content-type': 'application/json',
  'content-length': String(body.byteLength),
  'cache-control': 'public, max-age=3600',
  etag: '"bench-1"',
  'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT',
  age: '0',
}
const controller: Dispatcher.DispatchController = {
  aborted: false,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
}
const fixed: Dispatcher.DispatcherComposeInterceptor = () => (_opts, handler) => {
  handler.onRequestStart?.(controller, null)
  handler.onResponseStart?.(controller, 200, headers, 'OK')
  handler.onResponseData?.(controller, body)
  handler.onResponseEnd?.(controller, {})
  return true
}

export function maximum(): Peer {
  const agent = new Agent()
  return {
    name: 'maximum (fixed answer)',
    path: '/max',
    caches: false,
    dispatcher: agent.compose(fixed),
    close: () => agent.close(),
  }
}
