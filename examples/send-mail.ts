// Sends one plain-text message with sendMail() and prints what the server said.
//
//   node --import tsx examples/send-mail.ts [smtp://host:port]
//
// The server comes from the first argument or SMTP_URL (default smtp://127.0.0.1:2525, which
// `smtpkit serve` listens on). smtp:// uses STARTTLS when the server offers it; smtps:// is
// implicit TLS; smtp://user:pass@host:587 requires STARTTLS and logs in.
import { sendMail } from 'smtpkit/client'

const server = process.argv[2] ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525'
const from = process.env.MAIL_FROM ?? 'alice@example.test'
const to = process.env.MAIL_TO ?? 'bob@example.test'

const message = [
  `From: Alice <${from}>`,
  `To: <${to}>`,
  'Subject: Hello from smtpkit',
  `Date: ${new Date().toUTCString()}`,
  `Message-ID: <${Date.now()}.send-mail@example.test>`,
  '',
  'Hello Bob,',
  '',
  'this message went out with sendMail().',
  '',
].join('\r\n')

const result = await sendMail(server, { from, to, message, signal: AbortSignal.timeout(30_000) })
console.log(`accepted: ${result.accepted.join(', ')}`)
for (const { recipient, error } of result.rejected) console.log(`rejected: ${recipient}: ${error.message}`)
console.log(`server said: ${result.reply.code} ${result.reply.lines.join(' ')}`)
