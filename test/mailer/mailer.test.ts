import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Pool as BytesPool } from '../../src/client/pool.ts'
import { sendMail as sendBytes } from '../../src/client/send-mail.ts'
import { Pool, sendMail } from '../../src/mailer/index.ts'
import { compose } from '../../src/message/index.ts'
import { startFakeServer } from '../client/fake-smtp-server.ts'

const connect = (port: number) => ({ host: '127.0.0.1', port, tls: 'none' as const, localName: 'client.test' })

describe('sendMail and Pool that compose', () => {
  test("sendMail(url, { from, to, subject, text }) composes the message, as nodemailer users write it", async (t) => {
    const fake = await startFakeServer(t)
    const result = await sendMail(`smtp://127.0.0.1:${fake.port}`, { from: 'ada@example.test', to: 'bob@example.test', subject: 'Hello', text: 'Hi Bob' })
    assert.deepEqual(result.accepted, ['bob@example.test'])
    const sent = fake.messages[0]!.toString()
    assert.match(sent, /^Subject: Hello\r$/m)
    assert.match(sent, /Hi Bob/)
    assert.deepEqual(fake.commands('MAIL'), ['MAIL FROM:<ada@example.test>'])
    assert.deepEqual(fake.commands('RCPT'), ['RCPT TO:<bob@example.test>'])
  })

  test('the envelope includes cc and bcc, and an explicit envelope wins', async (t) => {
    const fake = await startFakeServer(t)
    await sendMail(connect(fake.port), { from: 'ada@example.test', to: 'bob@example.test', cc: 'cy@example.test', bcc: 'di@example.test', subject: 's', text: 't' })
    assert.deepEqual(fake.commands('RCPT'), ['RCPT TO:<bob@example.test>', 'RCPT TO:<cy@example.test>', 'RCPT TO:<di@example.test>'])
    assert.doesNotMatch(fake.messages[0]!.toString(), /di@example\.test/)
    await sendMail(connect(fake.port), { from: 'ada@example.test', to: 'bob@example.test', text: 't', envelope: { from: 'bounces@example.test', to: 'list@example.test' } })
    assert.equal(fake.commands('MAIL').at(-1), 'MAIL FROM:<bounces@example.test>')
    assert.equal(fake.commands('RCPT').at(-1), 'RCPT TO:<list@example.test>')
  })

  test('Pool.send composes compose fields, and a composed message alone or as message gets its envelope', async (t) => {
    const fake = await startFakeServer(t)
    const pool = new Pool(connect(fake.port))
    t.after(() => pool.close({ signal: AbortSignal.timeout(1000) }))
    await pool.send({ from: 'ada@example.test', to: ['bob@example.test'], subject: 'one', text: '1' })
    await pool.send(compose({ from: 'ada@example.test', to: 'cy@example.test', subject: 'two', text: '2' }))
    await pool.send({ message: compose({ from: 'ada@example.test', to: 'di@example.test', subject: 'three', text: '3' }) })
    assert.deepEqual(fake.commands('RCPT'), ['RCPT TO:<bob@example.test>', 'RCPT TO:<cy@example.test>', 'RCPT TO:<di@example.test>'])
    assert.equal(fake.messages.length, 3)
  })

  test("smtpkit/client's Pool.send({ message }) with a composed message derives the envelope as sendMail does", async (t) => {
    const fake = await startFakeServer(t)
    const pool = new BytesPool(connect(fake.port))
    t.after(() => pool.close({ signal: AbortSignal.timeout(1000) }))
    const result = await pool.send({ message: compose({ from: 'ada@example.test', to: 'bob@example.test', text: 'hi' }) })
    assert.deepEqual(result.accepted, ['bob@example.test'])
    await assert.rejects(pool.send({ message: 'Subject: x\r\n\r\nno envelope\r\n' }), (err: unknown) => err instanceof TypeError && /needs from and to/.test(err.message))
  })

  test("smtpkit/client's sendMail, which takes bytes only, names compose's fields and says where they are composed", async () => {
    await assert.rejects(
      sendBytes({ host: '127.0.0.1', port: 9 }, { from: 'a@example.test', to: 'b@example.test', subject: 'x', text: 'y' } as never),
      (err: unknown) => err instanceof TypeError && /"subject"/.test(err.message) && /compose\(\)/.test(err.message),
    )
  })
})
