// An inbound mail server that reads what it receives: each message is parsed as it arrives,
// attachments are streamed to disk under safe names, and bounces (delivery status
// notifications) are recognised and reported instead of being treated as mail.
//
//   node --import tsx examples/process-incoming.ts
//
// Listens on HOST:PORT (default 127.0.0.1:2525; PORT=0 picks a free port), saves attachments
// under OUT_DIR (default ./incoming), and prints "listening on HOST:PORT" once it is ready.
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { parseMessage, safeFilename } from 'smtpkit/message'
import { Server, SmtpError } from 'smtpkit/server'

const outDir = process.env.OUT_DIR ?? 'incoming'

const server = new Server({
  hostname: 'mx.example.test',
  limits: { maxMessageBytes: 50 * 1024 * 1024 },
  newSession(conn) {
    return {
      rcpt(to) {
        if (!to.toLowerCase().endsWith('@example.test')) throw new SmtpError(550, '5.7.1', 'Relaying denied')
      },
      async data(message) {
        const dir = join(outDir, conn.id)
        await mkdir(dir, { recursive: true })
        let saved = 0
        const parsed = await parseMessage(message, {
          // Each attachment goes to disk as it arrives: memory stays flat whatever its size.
          async onAttachment(attachment, content) {
            const name = `${++saved}-${safeFilename(attachment.filename, 'attachment.bin')}`
            await pipeline(content, createWriteStream(join(dir, name), { flags: 'wx' }))
          },
        })
        if (parsed.report !== undefined) {
          // A bounce: say which recipients failed and why, then stop.
          for (const recipient of parsed.report.recipients) {
            console.log(`[${conn.id}] bounce: ${recipient.finalRecipient} ${recipient.action} ${recipient.status} ${recipient.diagnosticCode ?? ''}`)
          }
          return 'Bounce recorded'
        }
        const from = parsed.from.map((mailbox) => mailbox.address).join(', ')
        console.log(`[${conn.id}] from ${from}: ${JSON.stringify(parsed.subject ?? '')}, ${parsed.text?.length ?? 0} characters of text, ${parsed.attachments.length} attachment(s) in ${dir}`)
        return `Queued as ${conn.id}`
      },
    }
  },
})

const address = await server.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 2525) })
console.log(`listening on ${address.address}:${address.port}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close({ signal: AbortSignal.timeout(30_000) }).then(() => console.log('closed'))
  })
}
