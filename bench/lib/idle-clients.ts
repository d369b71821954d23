// Opens many idle SMTP connections and holds them: `node --import tsx bench/lib/idle-clients.ts
// HOST PORT COUNT`. Each waits for the server's 220 greeting; once all have it, prints
// `{"connected":N,"failed":M}` and keeps the sockets open until stdin closes.
import { connect, type Socket } from 'node:net'

const [host = '127.0.0.1', portText = '', countText = '10000'] = process.argv.slice(2)
const port = Number(portText)
const count = Number(countText)
// Connections being opened at once: enough to be quick, few enough for the listen backlog.
const BATCH = 500
const GREETING_TIMEOUT_MS = 30_000

const sockets: Socket[] = []
let failed = 0

function open(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let buffered = ''
    const timer = setTimeout(() => done(false), GREETING_TIMEOUT_MS)
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.removeAllListeners('data')
      if (ok) {
        sockets.push(socket)
        socket.on('error', () => {})
      } else {
        failed++
        socket.destroy()
      }
      resolve()
    }
    socket.setEncoding('latin1')
    socket.on('data', (text: string) => {
      buffered += text
      if (buffered.includes('\r\n')) done(buffered.startsWith('220'))
    })
    socket.once('error', () => done(false))
  })
}

for (let opened = 0; opened < count; opened += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, count - opened) }, open))
}
process.stdout.write(`${JSON.stringify({ connected: sockets.length, failed })}\n`)
process.stdin.resume()
process.stdin.once('end', () => {
  for (const socket of sockets) socket.destroy()
  process.exit(0)
})
