// The least any SMTP server on Node's net sockets can cost: canned replies, one `data` handler
// and one write per read, no parsing beyond finding line ends and the end of DATA, nothing
// checked. Not an SMTP server anyone should run; the benchmark's reference point for how much
// of a server's CPU per message is Node and the kernel rather than the server's own work.
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'

const END_OF_DATA = Buffer.from('\r\n.\r\n')

export async function startNodeFloor(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {})
    socket.write('220 floor.example.test ESMTP\r\n')
    let pending = Buffer.alloc(0)
    let inData = false
    socket.on('data', (chunk: Buffer) => {
      let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk
      let out = ''
      for (;;) {
        if (inData) {
          const end = buf.indexOf(END_OF_DATA)
          if (end < 0) {
            // Keep the last four bytes: the end marker may straddle two reads.
            buf = buf.subarray(Math.max(0, buf.length - 4))
            break
          }
          buf = buf.subarray(end + END_OF_DATA.length)
          inData = false
          out += '250 2.0.0 OK\r\n'
          continue
        }
        const lf = buf.indexOf(10)
        if (lf < 0) break
        const verb = buf.toString('latin1', 0, Math.min(4, lf)).toUpperCase()
        buf = buf.subarray(lf + 1)
        if (verb === 'DATA') {
          inData = true
          // So an empty body's "\r\n.\r\n" right after "DATA\r\n" is found.
          buf = Buffer.concat([Buffer.from('\r\n'), buf])
          out += '354 go ahead\r\n'
        } else if (verb === 'QUIT') {
          out += '221 bye\r\n'
          socket.end(out)
          return
        } else {
          out += '250 OK\r\n'
        }
      }
      pending = Buffer.from(buf)
      if (out !== '') socket.write(out, 'latin1')
    })
  })
  server.listen({ host, port: 0, backlog: 4096 })
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
