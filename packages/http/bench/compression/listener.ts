// @x/http's Listener with compression AUTO (its default, spelled out).
import { Listener } from '@x/http'
import type { StartPeer } from '../peers/types.ts'
import { PAYLOAD } from './payload.ts'

export const start: StartPeer = async () => {
  const listener = new Listener({ port: 0, host: '127.0.0.1', compression: 'AUTO' })
  listener.attach({ resources: [{ methods: ['GET'], path: '/data', handler: () => PAYLOAD }] })
  await listener.start()
  return { port: listener.port, close: () => listener.gracefulStop({ timeout: 1_000 }) }
}
