// Delivers one message to two mailboxes over LMTP (RFC 2033), where the server answers the end
// of the data once per recipient, and prints each answer.
//
//   node --import tsx examples/lmtp.ts [smtp://host:port]
//
// The URL only gives the host and port (default 127.0.0.1:2424); LMTP servers are local, so no TLS.
import { Client, parseSmtpUrl } from 'smtpkit/client'

const { host, port } = parseSmtpUrl(process.argv[2] ?? process.env.LMTP_URL ?? 'smtp://127.0.0.1:2424')
const client = await Client.connect({ host, port, lmtp: true, tls: 'none', signal: AbortSignal.timeout(30_000) })
try {
  const result = await client.send({
    from: 'alice@example.test',
    to: ['bob@example.test', 'carol@example.test'],
    message: 'From: alice@example.test\r\nSubject: Lunch\r\n\r\nNoon?\r\n',
  })
  for (const r of result.lmtp ?? []) console.log(`${r.recipient}: ${r.reply.code} ${r.reply.lines.join(' ')}`)
  for (const r of result.rejected) console.log(`${r.recipient}: refused: ${r.error.message}`)
} finally {
  await client.quit()
}
