// A minimal SMTP server: accepts mail for anyone at example.test, prints each message's envelope
// and size, and shuts down gracefully on Ctrl-C or SIGTERM.
//
//   node --import tsx examples/server.ts
//
// Listens on HOST:PORT (default 127.0.0.1:2525; PORT=0 picks a free port) and prints
// "listening on HOST:PORT" once it is ready.
import { Server, SmtpError } from 'smtpkit/server'

const server = new Server({
  hostname: 'mx.example.test',
  limits: { maxMessageBytes: 10 * 1024 * 1024, maxRecipients: 50 },
  newSession(conn) {
    return {
      rcpt(to) {
        if (!to.toLowerCase().endsWith('@example.test')) throw new SmtpError(550, '5.7.1', 'Relaying denied')
      },
      async data(message, envelope) {
        let bytes = 0
        for await (const chunk of message) bytes += (chunk as Buffer).length
        const to = envelope.recipients.map((r) => r.address).join(', ')
        console.log(`[${conn.id}] from <${envelope.from}> to ${to}: ${bytes} bytes`)
        return `Queued as ${conn.id}`
      },
    }
  },
})

const address = await server.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 2525) })
console.log(`listening on ${address.address}:${address.port}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Transactions in flight may finish for 30 s; then every connection is cut.
    void server.close({ signal: AbortSignal.timeout(30_000) }).then(() => console.log('closed'))
  })
}
