// Our client against Debian's aiosmtpd (python3-aiosmtpd), on loopback.
import { existsSync } from 'node:fs'
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Client, type ConnectOptions } from '../../src/client/index.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { ClientError } from '../../src/client/errors.ts'
import { startAiosmtpd, type RunningAiosmtpd } from '../helpers/peers.ts'
import { ca } from '../helpers/tls.ts'

const fixture = (name: string): string => new URL(`../helpers/tls-fixtures/${name}`, import.meta.url).pathname
const tls = { cert: fixture('server.crt'), key: fixture('server.key') }

const skip = existsSync('/usr/bin/python3') && existsSync('/usr/lib/python3/dist-packages/aiosmtpd')
  ? false
  : 'aiosmtpd is not installed (Debian package python3-aiosmtpd)'

async function aiosmtpd(t: TestContext, options: Parameters<typeof startAiosmtpd>[0] = {}): Promise<RunningAiosmtpd> {
  const peer = await startAiosmtpd(options)
  t.after(() => peer.stop())
  return peer
}

async function connect(t: TestContext, peer: RunningAiosmtpd, options: Partial<ConnectOptions> = {}): Promise<Client> {
  const client = await Client.connect({ host: peer.host, port: peer.port, localName: 'client.test', tls: 'none', ...options })
  t.after(() => client.close())
  return client
}

const text = 'From: a@example.test\r\nTo: b@example.test\r\nSubject: interop\r\n\r\nHello.\r\n'

describe('client against aiosmtpd', { skip }, () => {
  test('STARTTLS with a certificate from our test CA, then a message over TLS', async (t) => {
    const peer = await aiosmtpd(t, { tls })
    const client = await connect(t, peer, { tls: 'starttls', tlsOptions: { ca } })
    assert.equal(client.isTls, true)
    assert.ok(client.tlsState?.protocol?.startsWith('TLS'))
    await client.send({ from: 'a@example.test', to: 'b@example.test', message: text })
    const got = await peer.nextMessage()
    assert.equal(got.tls, true)
    assert.equal(got.data.toString(), text)
  })

  test('STARTTLS refuses a server certificate our CA did not sign', async (t) => {
    const peer = await aiosmtpd(t, { tls: { cert: fixture('selfsigned.crt'), key: fixture('selfsigned.key') } })
    await assert.rejects(Client.connect({ host: peer.host, port: peer.port, tls: 'starttls', tlsOptions: { ca } }), /certificate|self.signed/i)
  })

  for (const mechanism of ['PLAIN', 'LOGIN']) {
    test(`AUTH ${mechanism} over STARTTLS when the server requires TLS`, async (t) => {
      const peer = await aiosmtpd(t, { tls, requireTls: true, auth: 'alice:s3cret w0rd' })
      const client = await connect(t, peer, { tls: 'starttls', tlsOptions: { ca }, auth: { username: 'alice', password: 's3cret w0rd', mechanism } })
      await client.send({ from: 'alice@example.test', to: 'b@example.test', message: text })
      const got = await peer.nextMessage()
      assert.equal(got.auth, true)
      assert.equal(got.tls, true)
    })
  }

  test('a wrong password is a 535 SmtpError naming the mechanism, never the password', async (t) => {
    const peer = await aiosmtpd(t, { tls, requireTls: true, auth: 'alice:right' })
    await assert.rejects(
      Client.connect({ host: peer.host, port: peer.port, tls: 'starttls', tlsOptions: { ca }, auth: { username: 'alice', password: 'wrong', mechanism: 'PLAIN' } }),
      (err: SmtpError) => {
        assert.ok(err instanceof SmtpError)
        assert.equal(err.code, 535)
        assert.match(err.message, /AUTH PLAIN/)
        assert.doesNotMatch(err.message, /wrong|d3Jvbmc/)
        return true
      },
    )
  })

  test('AUTH PLAIN is refused over plaintext before anything is sent', async (t) => {
    const peer = await aiosmtpd(t, { tls, auth: 'alice:right' })
    await assert.rejects(
      Client.connect({ host: peer.host, port: peer.port, tls: 'none', auth: { username: 'alice', password: 'right', mechanism: 'PLAIN' } }),
      (err: ClientError) => err instanceof ClientError && err.code === 'ERR_SMTP_TLS_REQUIRED',
    )
  })

  test('SMTPUTF8: UTF-8 addresses with the SMTPUTF8 parameter', async (t) => {
    const peer = await aiosmtpd(t, { smtpUtf8: true })
    const client = await connect(t, peer)
    const message = 'From: j\u00f6rg@example.test\r\nSubject: gr\u00fc\u00dfe\r\n\r\n\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae\r\n'
    await client.send({ from: 'j\u00f6rg@example.test', to: '\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.test', message })
    const got = await peer.nextMessage()
    assert.equal(got.from, 'j\u00f6rg@example.test')
    assert.deepEqual(got.to, ['\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.test'])
    assert.ok(got.mailOptions.includes('SMTPUTF8'), got.mailOptions.join(' '))
    assert.ok(got.mailOptions.includes('BODY=8BITMIME'), got.mailOptions.join(' '))
    assert.deepEqual(got.data, Buffer.from(message))
  })

  test('a UTF-8 address to a server without SMTPUTF8 is refused before anything is sent', async (t) => {
    const peer = await aiosmtpd(t)
    const client = await connect(t, peer)
    await assert.rejects(client.send({ from: 'j\u00f6rg@example.test', to: 'b@example.test', message: text }),
      (err: ClientError) => err instanceof ClientError && err.code === 'ERR_SMTP_UNSUPPORTED' && /SMTPUTF8/.test(err.message))
  })

  test('the data aiosmtpd receives is exactly what we sent, after its dot-unstuffing', async (t) => {
    const peer = await aiosmtpd(t)
    const client = await connect(t, peer)
    const message = Buffer.from(
      'From: a@example.test\r\nSubject: exact\r\n\r\n.\r\n..\r\n.leading\r\n . not leading\r\n' +
      `${'y'.repeat(998)}\r\n\u00e9\u00e8\u00ea\r\n\r\n\r\nlast line without CRLF`,
    )
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], message })
    assert.equal(result.bytes, message.length)
    const got = await peer.nextMessage()
    // A message must end in CRLF on the wire (RFC 5321 §4.1.1.4); the client adds the missing one.
    assert.deepEqual(got.data, Buffer.concat([message, Buffer.from('\r\n')]))
    assert.deepEqual(got.to, ['b@example.test', 'c@example.test'])
    assert.ok(got.mailOptions.includes(`SIZE=${message.length}`), got.mailOptions.join(' '))
  })

  test('a streamed message of 2 MB in odd-sized chunks arrives byte for byte', async (t) => {
    const peer = await aiosmtpd(t)
    const client = await connect(t, peer)
    const line = Buffer.from('.dot-started line with some text in it\r\n')
    const whole = Buffer.concat([Buffer.from('Subject: stream\r\n\r\n'), ...Array.from({ length: 50_000 }, () => line)])
    async function* chunks() {
      for (let offset = 0, size = 1; offset < whole.length; offset += size, size = (size * 7 + 3) % 70_001 || 1) yield whole.subarray(offset, offset + size)
    }
    await client.send({ from: 'a@example.test', to: 'b@example.test', message: chunks(), signal: AbortSignal.timeout(60_000) })
    assert.deepEqual((await peer.nextMessage()).data, whole)
  })

  test('LMTP: one result per recipient, a refused one among them', async (t) => {
    const peer = await aiosmtpd(t, { lmtp: true })
    const client = await connect(t, peer, { lmtp: true })
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'fail@example.test', 'c@example.test'], message: text })
    assert.deepEqual(result.accepted, ['b@example.test', 'c@example.test'])
    assert.equal(result.rejected.length, 1)
    assert.equal(result.rejected[0]!.recipient, 'fail@example.test')
    assert.equal(result.rejected[0]!.error.code, 550)
    assert.equal(result.rejected[0]!.error.enhancedCode, '5.1.1')
    assert.deepEqual(result.lmtp?.map((r) => r.reply.code), [250, 550, 250])
    const got = await peer.nextMessage()
    assert.equal(got.data.toString(), text)
  })
})
