// A raw TCP client: exact request bytes in, the response bytes out, and control over when
// the connection goes away.
import { connect, type Socket } from 'node:net'

/** Sends `request` and resolves with everything received until the server closes. */
export function rawExchange(port: number, request: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
}

/** Sends `request`, reads until the head and `bodyBytes` body bytes arrived, then resets the connection. */
export function readThenVanish(
  port: number,
  request: string,
  bodyBytes: number,
): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(request))
    socket.on('error', reject)
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      const body = buf.subarray(end + 4)
      if (body.length >= bodyBytes) {
        socket.resetAndDestroy()
        resolve({ head: buf.subarray(0, end).toString('latin1'), body })
      }
    })
  })
}
