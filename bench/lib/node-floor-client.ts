// The least any SMTP client on Node's net sockets can cost: canned commands, one write per
// message, replies only counted (and any 4xx/5xx thrown), nothing parsed. Not a client anyone
// should use; the client benchmark's reference point for how much of a client's CPU per message
// is Node and the kernel rather than the client's own work.
import { once } from 'node:events'
import { connect } from 'node:net'

const HEAD = 'MAIL FROM:<bench@example.test>\r\nRCPT TO:<sink@example.test>\r\nDATA\r\n'

/**
 * Sends `count` copies of `message` (CRLF lines, none starting with a dot) over one connection.
 * Plain: MAIL, RCPT, DATA and the body in one write, then waits for its four replies. Chained:
 * waits for 354 before each body, as RFC 2920 section 3.1 requires, and sends the next MAIL, RCPT
 * and DATA behind each final dot, so each write is still one per message.
 */
export async function sendWithNodeFloor(host: string, port: number, count: number, message: string, chained: boolean): Promise<void> {
  const socket = connect({ host, port, noDelay: true })
  let replies = 0
  let column = 0
  let waiting: { until: number; resolve(): void; reject(err: Error): void } | undefined
  socket.on('data', (chunk: Buffer) => {
    for (const byte of chunk) {
      // A final reply line has a space after its code (RFC 5321 section 4.2.1).
      if (column === 0 && (byte === 0x34 || byte === 0x35)) socket.destroy(new Error(`the server replied ${chunk.toString('latin1').trim()}`))
      if (column === 3 && byte === 0x20) replies++
      column = byte === 0x0a ? 0 : column + 1
    }
    if (waiting && replies >= waiting.until) waiting.resolve()
  })
  const closed = once(socket, 'close')
  const replied = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const until = replies + n
      waiting = { until, resolve, reject }
      if (replies >= until) resolve()
    })
  socket.on('error', (err) => waiting?.reject(err))
  await replied(1)
  socket.write('EHLO bench.example.test\r\n')
  await replied(1)
  const body = `${message}.\r\n`
  if (chained) {
    socket.write(HEAD)
    await replied(3)
    for (let i = 0; i < count; i++) {
      socket.write(i < count - 1 ? body + HEAD : body, 'latin1')
      await replied(i < count - 1 ? 4 : 1)
    }
  } else {
    for (let i = 0; i < count; i++) {
      socket.write(HEAD + body, 'latin1')
      await replied(4)
    }
  }
  socket.end('QUIT\r\n')
  await closed
}

/**
 * The same floor for a connection per message, as sendMail and nodemailer's transport (without
 * its pool) send: connect, greeting, EHLO, MAIL, RCPT and DATA in one write, then (after 354, RFC
 * 2920 section 3.1) the body, the final dot and QUIT in one write, and the socket destroyed on 221.
 */
export async function sendWithNodeFloorConnecting(host: string, port: number, count: number, message: string): Promise<void> {
  const finish = Buffer.from(`${message}.\r\nQUIT\r\n`, 'latin1')
  for (let i = 0; i < count; i++) {
    const socket = connect({ host, port, noDelay: true })
    let column = 0
    let replies = 0
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject)
      socket.on('data', (chunk: Buffer) => {
        for (const byte of chunk) {
          if (column === 0 && (byte === 0x34 || byte === 0x35)) reject(new Error(`the server replied ${chunk.toString('latin1').trim()}`))
          if (column === 3 && byte === 0x20) {
            replies++
            if (replies === 1) socket.write('EHLO bench.example.test\r\n')
            else if (replies === 2) socket.write(HEAD)
            else if (replies === 5) socket.write(finish)
            else if (replies === 7) resolve()
          }
          column = byte === 0x0a ? 0 : column + 1
        }
      })
    })
    socket.destroy()
  }
}
