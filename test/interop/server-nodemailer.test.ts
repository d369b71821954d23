// Our Server against nodemailer's SMTP transport: plain, STARTTLS verified against the test CA,
// AUTH PLAIN / LOGIN / CRAM-MD5, attachments, SMTPUTF8, a refused recipient, a pooled transport.
// nodemailer's streamTransport renders the same mail (fixed date, Message-ID and boundary), which
// gives the exact bytes the server must deliver.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test, type TestContext } from 'node:test'
import nodemailer, { type Transporter } from 'nodemailer'
import type SMTPTransport from 'nodemailer/lib/smtp-transport'
import type Mail from 'nodemailer/lib/mailer'
import { ca } from '../helpers/tls.ts'
import { startRecordingServer } from './recording-server.ts'

const startServer = startRecordingServer

/** An SMTP transport to our server, closed after the test. */
function transport(t: TestContext, options: SMTPTransport.Options): Transporter<SMTPTransport.SentMessageInfo> {
  const transporter = nodemailer.createTransport({ host: '127.0.0.1', secure: false, name: 'client.example.test', connectionTimeout: 10_000, socketTimeout: 10_000, ...options })
  t.after(() => transporter.close())
  return transporter
}

/** The exact bytes nodemailer composes for `mail`, with CRLF line ends as on the SMTP wire. */
async function render(mail: Mail.Options): Promise<Buffer> {
  const info = await nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }).sendMail(mail)
  const bytes = info.message as Buffer
  return bytes.subarray(-2).toString('latin1') === '\r\n' ? bytes : Buffer.concat([bytes, Buffer.from('\r\n')])
}

/** A mail with everything that varies between renderings fixed. */
function fixedMail(fields: Mail.Options): Mail.Options {
  return {
    from: 'Sender <a@example.test>',
    to: 'b@example.test',
    subject: 'interop',
    text: 'first line\n.a leading dot\n..two\n.\nlast line\n',
    date: new Date('2026-11-23T08:00:00Z'),
    messageId: '<fixed.1@example.test>',
    baseBoundary: 'fixedboundary',
    ...fields,
  } as Mail.Options
}

describe('nodemailer as a client of our server', () => {
  test('a plain connection (no TLS) delivers the composed bytes exactly', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({ subject: 'plain, caf\u00e9', html: '<p>caf\u00e9</p>' })
    const info = await transport(t, { port, ignoreTLS: true }).sendMail(mail)
    assert.deepEqual(info.accepted, ['b@example.test'])
    assert.equal(delivered.length, 1)
    assert.equal(delivered[0]!.isTls, false)
    assert.deepEqual(delivered[0]!.bytes, await render(mail))
  })

  test('STARTTLS with the test CA, required by the client', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({})
    await transport(t, { port, requireTLS: true, tls: { ca, servername: 'localhost' } }).sendMail(mail)
    assert.equal(delivered[0]!.isTls, true)
    assert.deepEqual(delivered[0]!.bytes, await render(mail))
  })

  for (const method of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
    test(`AUTH ${method} after STARTTLS; the message with attachments arrives intact`, async (t) => {
      const seen: string[] = []
      const { port, delivered } = await startServer(t, {
        authMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
        requireAuth: true,
        auth(request) {
          seen.push(request.mechanism)
          if (request.username !== 'user@example.test') return false
          if (request.mechanism === 'CRAM-MD5') return request.verify('s3cret pass')
          return (request.mechanism === 'PLAIN' || request.mechanism === 'LOGIN') && request.password === 's3cret pass'
        },
      })
      const mail = fixedMail({
        attachments: [
          { filename: 'notes.txt', content: 'attached text\n.with a dot line\n' },
          { filename: 'blob.bin', content: randomBytes(50_000) },
        ],
      })
      await transport(t, { port, requireTLS: true, tls: { ca, servername: 'localhost' }, auth: { user: 'user@example.test', pass: 's3cret pass' }, authMethod: method }).sendMail(mail)
      assert.deepEqual(seen, [method])
      assert.equal(delivered[0]!.authenticatedAs, 'user@example.test')
      assert.deepEqual(delivered[0]!.bytes, await render(mail))
    })
  }

  test('a wrong password is refused with 535 and nothing is delivered', async (t) => {
    const { port, delivered } = await startServer(t, { requireAuth: true, auth: () => false })
    await assert.rejects(
      transport(t, { port, requireTLS: true, tls: { ca, servername: 'localhost' }, auth: { user: 'u', pass: 'wrong' } }).sendMail(fixedMail({})),
      (error: { responseCode?: number; response?: string }) => error.responseCode === 535 && /5\.7\.8/.test(error.response ?? ''),
    )
    assert.equal(delivered.length, 0)
  })

  test('a 4 MB attachment streams through and arrives byte for byte', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({ attachments: [{ filename: 'big.bin', content: randomBytes(4 << 20) }] })
    await transport(t, { port, ignoreTLS: true }).sendMail(mail)
    const expected = await render(mail)
    assert.ok(expected.length > 4 << 20)
    assert.ok(delivered[0]!.bytes.equals(expected), 'delivered bytes differ from the composed message')
  })

  test('a refused recipient is reported as rejected; the others get the message', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({ to: 'b@example.test, nobody@example.test, c@example.test' })
    const info = await transport(t, { port, ignoreTLS: true }).sendMail(mail)
    assert.deepEqual(info.accepted, ['b@example.test', 'c@example.test'])
    assert.deepEqual(info.rejected, ['nobody@example.test'])
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), ['b@example.test', 'c@example.test'])
    assert.deepEqual(delivered[0]!.bytes, await render(mail))
  })

  test('a UTF-8 local part goes out with SMTPUTF8 and arrives as sent', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({ from: 'J\u00f6rg <j\u00f6rg@example.test>', to: '\u7528\u6237@example.test' })
    await transport(t, { port, ignoreTLS: true }).sendMail(mail)
    const [message] = delivered
    assert.ok(message)
    assert.equal(message.envelope.smtpUtf8, true)
    assert.equal(message.envelope.from, 'j\u00f6rg@example.test')
    assert.deepEqual(message.envelope.recipients.map((r) => r.address), ['\u7528\u6237@example.test'])
    assert.deepEqual(message.bytes, await render(mail))
  })

  test('DSN parameters (RET, ENVID in xtext, NOTIFY, ORCPT) reach the envelope decoded', async (t) => {
    const { port, delivered } = await startServer(t)
    const mail = fixedMail({ dsn: { id: 'env+id=1', return: 'headers', notify: ['success', 'failure'], recipient: 'orig@example.test' } })
    await transport(t, { port, ignoreTLS: true }).sendMail(mail)
    const [message] = delivered
    assert.ok(message)
    assert.equal(message.envelope.mailParams.ret, 'HDRS')
    assert.equal(message.envelope.mailParams.envid, 'env+id=1')
    assert.deepEqual(message.envelope.recipients[0]!.params, { notify: ['SUCCESS', 'FAILURE'], orcpt: { addressType: 'rfc822', address: 'orig@example.test' } })
    assert.deepEqual(message.bytes, await render(mail))
  })

  test('a pooled transport sends many messages over few connections, each intact', async (t) => {
    const { port, delivered } = await startServer(t)
    const pooled = transport(t, { pool: true, maxConnections: 2, maxMessages: 50, port, ignoreTLS: true } as SMTPTransport.Options)
    const mails = Array.from({ length: 30 }, (_, i) => fixedMail({ subject: `message ${i}`, messageId: `<fixed.${i}@example.test>` }))
    await Promise.all(mails.map((mail) => pooled.sendMail(mail)))
    assert.equal(delivered.length, mails.length)
    const bySubject = new Map(delivered.map((d) => [/^Subject: (.*)\r$/m.exec(d.bytes.toString('latin1'))?.[1], d.bytes]))
    for (const [i, mail] of mails.entries()) assert.deepEqual(bySubject.get(`message ${i}`), await render(mail))
    assert.ok(new Set(delivered.map((d) => d.connectionId)).size <= 2)
  })
})
