// Composes a message with a text part, an HTML part with an inline image, and an attachment,
// then sends it. The envelope (sender and recipients, Bcc included) comes from the message.
//
//   node --import tsx examples/compose-attachments.ts [smtp://host:port]
import { sendMail } from 'smtpkit/client'
import { compose } from 'smtpkit/message'

const server = process.argv[2] ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525'

// A 1x1 transparent PNG.
const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')

const message = compose({
  from: { name: 'Alice Example', address: 'alice@example.test' },
  to: 'Bob <bob@example.test>',
  bcc: 'archive@example.test',
  subject: 'Quarterly report — Q3',
  text: 'Hello Bob,\n\nthe report is attached.\n',
  html: '<p>Hello Bob,</p><p>the report is attached.</p><img src="cid:logo@example.test" alt="">',
  attachments: [
    { filename: 'logo.png', content: pixel, cid: 'logo@example.test' },
    { filename: 'report.csv', content: 'quarter,revenue\nQ3,1234\n', contentType: 'text/csv' },
  ],
})

console.log(`envelope: ${JSON.stringify(message.envelope())}`)
const result = await sendMail(server, { message, signal: AbortSignal.timeout(30_000) })
console.log(`accepted: ${result.accepted.join(', ')}; ${result.bytes} bytes`)
