// Opens many idle SMTP connections and holds them: `node --import tsx bench/lib/idle-clients.ts
// HOST PORT COUNT [greeting|ehlo]`. Each waits for the server's 220 greeting and, with `ehlo` (the
// default), sends EHLO and waits for its last 250 line, so the server holds a session that has
// advertised its extensions, as a real idle client leaves it; once all are there, prints
// `{"connected":N,"failed":M}` and keeps the sockets open until stdin closes.
import { connect, type Socket } from 'node:net'

const [host = '127.0.0.1', portText = '', countText = '10000', stage = 'ehlo'] = process.argv.slice(2)
if (stage !== 'ehlo' && stage !== 'greeting') throw new RangeError(`the stage must be ehlo or greeting, got ${stage}`)
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
    let greeted = false
    socket.on('data', (text: string) => {
      buffered += text
      if (!buffered.endsWith('\r\n')) return
      if (!greeted) {
        if (!buffered.startsWith('220')) return done(false)
        if (stage === 'greeting') return done(true)
        greeted = true
        buffered = ''
        socket.write('EHLO idle.example.test\r\n')
        return
      }
      // The last line of a multiline reply has a space after the code (RFC 5321 §4.2.1).
      const start = buffered.lastIndexOf('\r\n', buffered.length - 3)
      const last = start === -1 ? buffered : buffered.slice(start + 2)
      if (/^\d{3} /.test(last)) done(buffered.startsWith('250'))
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
