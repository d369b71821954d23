import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Client } from '../../src/client/client.ts'
import { resolvePortAndTls } from '../../src/client/options.ts'
import { Pool } from '../../src/client/pool.ts'
import { parseSmtpUrl, sendMail } from '../../src/client/send-mail.ts'
import { startFakeServer } from './fake-smtp-server.ts'

const typeError = (pattern: RegExp) => (err: unknown): boolean => err instanceof TypeError && pattern.test(err.message)

describe('client options refuse typos and nodemailer habits', () => {
  test('Client.connect names an unknown key and says what to write for secure, requireTLS, name, user/pass', async () => {
    await assert.rejects(Client.connect({ host: '127.0.0.1', port: 9, secure: true } as never), typeError(/"secure".*tls: 'implicit'/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', requireTLS: true } as never), typeError(/"requireTLS".*tls: 'starttls'/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', name: 'me.test' } as never), typeError(/"name".*localName/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', locaName: 'me.test' } as never), typeError(/"locaName".*did you mean "localName"/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', auth: { user: 'u', pass: 'p' } } as never), typeError(/auth: unknown option "user"; use username/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', tls: { rejectUnauthorized: false } } as never), typeError(/tlsOptions.*insecureSkipTlsVerify/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', tlsOptions: { rejectUnauthorized: false } } as never), typeError(/"rejectUnauthorized".*insecureSkipTlsVerify/))
  })

  test('wrong types are TypeErrors naming the key', async () => {
    await assert.rejects(Client.connect({ host: '127.0.0.1', port: '25' } as never), typeError(/option "port" must be number, got string/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', lmtp: 'yes' } as never), typeError(/"lmtp" must be boolean/))
    await assert.rejects(Client.connect({ port: 25 } as never), typeError(/"host" is required/))
    await assert.rejects(Client.connect({ host: '127.0.0.1', tls: 'tls' } as never), typeError(/unknown tls mode "tls"/))
  })

  test('Pool: maxMessages points to maxMessagesPerConnection; send options and requests are checked', async (t) => {
    assert.throws(() => new Pool({ host: '127.0.0.1' }, { maxMessages: 10 } as never), typeError(/"maxMessages".*maxMessagesPerConnection/))
    assert.throws(() => new Pool({ host: '127.0.0.1', pool: true } as never), typeError(/"pool".*new Pool/))
    assert.throws(() => new Pool({ host: '127.0.0.1' }, { rateLimit: { messages: 1, per: 1000 } } as never), typeError(/rateLimit: unknown option "per"/))
    const fake = await startFakeServer(t)
    const pool = new Pool({ host: '127.0.0.1', port: fake.port, tls: 'none' })
    t.after(() => pool.close())
    await assert.rejects(pool.send({ from: 'a@example.test', to: 'b@example.test', message: 'x\r\n' }, { timeout: 5 } as never), typeError(/Pool.send\(\) options: unknown option "timeout"/))
    await assert.rejects(pool.send({ from: 'a@example.test', too: 'b@example.test', message: 'x\r\n' } as never), typeError(/"too".*did you mean "to"/))
    assert.equal(fake.sessions.length, 0)
  })

  test('sendMail checks the server options and the request', async () => {
    await assert.rejects(sendMail({ host: '127.0.0.1', secure: true } as never, { from: 'a@example.test', to: 'b@example.test', message: 'x' }), typeError(/sendMail\(\) server: unknown option "secure"/))
    await assert.rejects(sendMail({ host: '127.0.0.1' }, { from: 'a@example.test', to: 'b@example.test', message: 'x', dsn: {} } as never), typeError(/"dsn".*mailParams/))
  })
})

describe('one TLS rule for connect options and smtp:// URLs', () => {
  test('the same port gives the same mode either way', () => {
    for (const port of [25, 465, 587, 2525]) {
      const url = parseSmtpUrl(`smtp://mx.example.test:${port}`)
      assert.deepEqual({ port: url.port, tls: url.tls }, resolvePortAndTls({ port }), `port ${port}`)
    }
    assert.deepEqual(resolvePortAndTls({}), { port: 25, tls: 'opportunistic' })
    assert.deepEqual(resolvePortAndTls({ port: 465 }), { port: 465, tls: 'implicit' })
    assert.deepEqual(resolvePortAndTls({ port: 587 }), { port: 587, tls: 'starttls' })
    assert.deepEqual(resolvePortAndTls({ port: 2525 }), { port: 2525, tls: 'opportunistic' })
    assert.deepEqual(resolvePortAndTls({ tls: 'implicit' }), { port: 465, tls: 'implicit' })
    const smtps = parseSmtpUrl('smtps://mx.example.test')
    assert.deepEqual({ port: smtps.port, tls: smtps.tls }, { port: 465, tls: 'implicit' })
  })

  test('{ host, port: 2525 } and smtp://host:2525 both send to a server without STARTTLS', async (t) => {
    const fake = await startFakeServer(t)
    const mail = { from: 'a@example.test', to: 'b@example.test', message: 'Subject: x\r\n\r\nx\r\n' }
    await sendMail({ host: '127.0.0.1', port: fake.port, localName: 'client.test' }, mail)
    await sendMail(`smtp://127.0.0.1:${fake.port}`, mail)
    assert.equal(fake.messages.length, 2)
  })
})
