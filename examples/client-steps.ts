// Drives a transaction one command at a time with Client, printing every line on the wire.
//
//   node --import tsx examples/client-steps.ts [smtp://host:port]
import { Client, parseSmtpUrl } from 'smtpkit/client'
import { SmtpError } from 'smtpkit/protocol'

const options = parseSmtpUrl(process.argv[2] ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525')
const client = await Client.connect({ ...options, debug: (line) => console.log(line), signal: AbortSignal.timeout(30_000) })
try {
  console.log(`extensions: ${[...client.extensions.keys()].join(' ')}`)
  await client.mail('alice@example.test')
  for (const to of ['bob@example.test', 'nobody@example.invalid']) {
    try {
      await client.rcpt(to)
    } catch (error) {
      if (!(error instanceof SmtpError)) throw error
      console.log(`refused ${to}: ${error.code} ${error.enhancedCode ?? ''} ${error.text}`)
    }
  }
  const reply = await client.data('Subject: Step by step\r\n\r\nOne command at a time.\r\n')
  console.log(`data: ${reply.code} ${reply.lines.join(' ')}`)
} finally {
  await client.quit()
}
