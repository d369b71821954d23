// Our pieces together over loopback: a composed message, DKIM-signed, sent by our client to our
// server, which receives it byte for byte and verifies the signature.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import { sendMail } from '../../src/client/index.ts'
import { dkimSign, dkimVerify, formatDkimKeyRecord } from '../../src/dkim/index.ts'
import { compose } from '../../src/message/index.ts'
import { Server } from '../../src/server/index.ts'

async function receivingServer(t: { after: (fn: () => Promise<void>) => void }) {
  const received: { from: string; to: string[]; data: Buffer; params: { smtpUtf8: boolean; body: string | undefined } }[] = []
  const server = new Server({
    hostname: 'mx.example.test',
    newSession: () => ({
      async data(message, envelope) {
        const chunks: Buffer[] = []
        for await (const chunk of message) chunks.push(chunk as Buffer)
        received.push({
          from: envelope.from,
          to: envelope.recipients.map((r) => r.address),
          data: Buffer.concat(chunks),
          params: { smtpUtf8: envelope.mailParams.smtpUtf8 === true, body: envelope.mailParams.body },
        })
      },
    }),
  })
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close())
  return { url: `smtp://127.0.0.1:${address.port}`, received }
}

test('sendMail takes a composed message on its own and derives the envelope, Bcc included', async (t) => {
  const { url, received } = await receivingServer(t)
  const message = compose({
    from: '"Ada" <ada@example.test>',
    to: 'grace@example.test',
    bcc: 'hidden@example.test',
    subject: 'Grüße',
    text: 'Hello\n.\nwith a lone dot',
    html: '<p>Hello</p>',
  })
  const result = await sendMail({ host: '127.0.0.1', port: Number(new URL(url).port), tls: 'none' }, message)
  assert.deepEqual(result.accepted, ['grace@example.test', 'hidden@example.test'])
  assert.equal(received.length, 1)
  assert.equal(received[0]!.from, 'ada@example.test')
  assert.deepEqual(received[0]!.to, ['grace@example.test', 'hidden@example.test'])
  assert.ok(received[0]!.data.equals(await message.toBuffer()), 'the server received the composed bytes exactly')
  assert.doesNotMatch(received[0]!.data.toString('utf8'), /hidden@example\.test/)
})

test('a DKIM-signed composed message arrives intact and verifies at the server', async (t) => {
  const { url, received } = await receivingServer(t)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const message = compose({ from: 'ada@example.test', to: 'grace@example.test', subject: 'signed', text: 'body\r\n' })
  const signed = dkimSign(message, { domain: 'example.test', selector: 'sel', privateKey })
  const result = await sendMail(url, { ...message.envelope(), message: signed })
  assert.equal(result.accepted.length, 1)
  const [verdict] = await dkimVerify(received[0]!.data, {
    resolver: async (name) => {
      assert.equal(name, 'sel._domainkey.example.test')
      return [[formatDkimKeyRecord(publicKey)]]
    },
  })
  assert.equal(verdict?.status, 'pass', verdict?.reason)
})

test('a message with a UTF-8 address goes out with SMTPUTF8 and arrives with the parameter', async (t) => {
  const { url, received } = await receivingServer(t)
  const message = compose({ from: 'ada@example.test', to: 'jösé@example.test', subject: 'utf8', text: 'hi', smtpUtf8: true })
  await sendMail(url, message)
  assert.deepEqual(received[0]!.to, ['jösé@example.test'])
  assert.equal(received[0]!.params.smtpUtf8, true)
})
