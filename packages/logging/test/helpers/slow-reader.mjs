// Child process for the event-loop test: opens the FIFO in argv[2], reads one byte as soon as
// the writer sends anything, then reads nothing more until `go` arrives on stdin or argv[3] ms
// pass. Then it drains the FIFO and prints the number of lines it got.
import { createReadStream, openSync, read } from 'node:fs'

const fd = openSync(process.argv[2], 'r')
const stallMs = Number(process.argv[3])
read(fd, Buffer.alloc(1), 0, 1, null, (err, n) => {
  if (err) throw err
  let lines = 0
  let started = false
  const drain = () => {
    if (started) return
    started = true
    createReadStream('', { fd })
      .on('data', (d) => {
        for (const b of d) if (b === 10) lines++
      })
      .on('end', () => {
        process.stdout.write(`${lines}\n`)
        process.exit(0)
      })
  }
  if (n === 0) drain()
  process.stdin.on('data', drain)
  setTimeout(drain, stallMs).unref()
})
