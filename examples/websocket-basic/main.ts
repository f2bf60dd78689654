// A WebSocketListener on its own port serving a small chat-room service, and a
// WebSocketClient that joins it, talks, and leaves. Run: pnpm start.
import { type WebSocketCaller, WebSocketClient, WebSocketListener } from '@x/websocket'

// The service: every member's text is broadcast to all members; binary is echoed.
const members = new Set<WebSocketCaller>()
const listener = new WebSocketListener({
  port: 0,
  host: '127.0.0.1',
  subProtocols: ['chat.v1'],
  service: {
    onOpen(caller) {
      members.add(caller)
      caller.attributes.set('name', `guest-${members.size}`)
    },
    async onText(caller, text) {
      const line = `${caller.attributes.get('name')}: ${text}`
      await Promise.all([...members].map((m) => m.pushText(line)))
    },
    onBinary: (caller, data) => caller.pushBinary(data),
    onClose(caller, code, reason) {
      members.delete(caller)
      console.log(`server: ${caller.attributes.get('name')} left with ${code} ${reason}`)
    },
    onError(caller, error) {
      console.log(`server: ${caller.id} error ${(error as { code?: string }).code}`)
    },
  },
})
await listener.start()
console.log(`server: listening on ${listener.url} (sub-protocol chat.v1)`)

// The client: its callbacks get the client itself as caller.
let gotAll!: () => void
const allReceived = new Promise<void>((resolve) => {
  gotAll = resolve
})
let received = 0
const client = new WebSocketClient(listener.url, {
  subProtocols: ['chat.v1'],
  retry: { maxCount: 3, interval: 500, backOffFactor: 2 },
  callbackService: {
    onOpen(c) {
      console.log(`client: connected, sub-protocol ${c.negotiatedSubProtocol}`)
    },
    onText(_c, text) {
      console.log(`client: received "${text}"`)
      if (++received === 3) gotAll()
    },
    onBinary(_c, data) {
      console.log(`client: received ${data.length} bytes back`)
      if (++received === 3) gotAll()
    },
  },
})
await client.connect()
await client.pushText('hello, room')
await client.pushText('anyone here?')
await client.pushBinary(new Uint8Array(1024))
await allReceived

await client.close(1000, 'bye')
await listener.gracefulStop()
console.log('server: stopped')
