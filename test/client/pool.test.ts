import { once } from 'node:events'
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Pool, type PoolOptions } from '../../src/client/pool.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { xoauth2 } from '../../src/sasl/xoauth2.ts'
import { startFakeServer, type FakeServer, type FakeServerOptions } from './fake-smtp-server.ts'
import { ClientError } from '../../src/client/errors.ts'

const message = (n: number): string => `Subject: message ${n}\r\n\r\nBody of message ${n}.\r\n.leading dot\r\n`

async function setup(t: TestContext, server: FakeServerOptions = {}, options: PoolOptions = {}): Promise<{ fake: FakeServer; pool: Pool }> {
  const fake = await startFakeServer(t, server)
  const pool = new Pool({ host: '127.0.0.1', port: fake.port, tls: 'none', localName: 'client.test' }, options)
  t.after(() => pool.close({ signal: AbortSignal.timeout(1000) }))
  return { fake, pool }
}

const mail = (n: number, extra: object = {}) => ({ from: 'a@example.test', to: ['b@example.test'], message: message(n), ...extra })

describe('Pool reuse', () => {
  test('sends many messages over one connection, without RSET between successful ones', async (t) => {
    const { fake, pool } = await setup(t)
    for (let i = 0; i < 10; i++) {
      const result = await pool.send(mail(i))
      assert.deepEqual(result.accepted, ['b@example.test'])
    }
    assert.equal(fake.sessions.length, 1)
    assert.equal(fake.commands('MAIL').length, 10)
    assert.equal(fake.commands('RSET').length, 0)
    assert.deepEqual(fake.messages.map((m) => m.toString()), Array.from({ length: 10 }, (_, i) => message(i)))
  })

  test('replaces a connection after maxMessagesPerConnection messages, with QUIT', async (t) => {
    const { fake, pool } = await setup(t, {}, { maxMessagesPerConnection: 2 })
    for (let i = 0; i < 5; i++) await pool.send(mail(i))
    await pool.close()
    assert.deepEqual(fake.sessions.map((s) => s.messages.length), [2, 2, 1])
    for (const session of fake.sessions) assert.equal(session.commands.at(-1), 'QUIT')
  })

  test('opens at most maxConnections connections and queues the rest', async (t) => {
    const { fake, pool } = await setup(t, {}, { maxConnections: 3 })
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.send(mail(i))))
    assert.equal(results.length, 20)
    assert.equal(fake.sessions.length, 3)
    assert.equal(fake.maxConcurrent, 3)
    assert.equal(fake.messages.length, 20)
    assert.ok(pool.size <= 3)
  })

  test('closes an idle connection with QUIT after idleTimeoutMs', async (t) => {
    const { fake, pool } = await setup(t, {}, { idleTimeoutMs: 30 })
    await pool.send(mail(1))
    const session = fake.sessions[0]!
    await Promise.race([session.closed, once(AbortSignal.timeout(5000), 'abort').then(() => assert.fail('not closed'))])
    assert.equal(session.commands.at(-1), 'QUIT')
    assert.equal(pool.size, 0)
    await pool.send(mail(2))
    assert.equal(fake.sessions.length, 2)
  })
})

describe('Pool replacing and retrying', () => {
  test('replaces an idle connection the server closed, without a retry', async (t) => {
    const { fake, pool } = await setup(t)
    await pool.send(mail(1))
    fake.sessions[0]!.socket.end()
    await fake.sessions[0]!.closed
    await pool.send(mail(2))
    assert.equal(fake.sessions.length, 2)
    assert.deepEqual(fake.sessions.map((s) => s.messages.length), [1, 1])
  })

  test('retries on a new connection when the server answers 421 to MAIL', async (t) => {
    const { fake, pool } = await setup(t, {
      onCommand: (s, line) => (s.id === 1 && line.startsWith('MAIL') && s.messages.length === 1 ? '421 4.3.2 Shutting down' : undefined),
    })
    await pool.send(mail(1))
    const result = await pool.send(mail(2))
    assert.deepEqual(result.accepted, ['b@example.test'])
    assert.equal(fake.sessions.length, 2)
    assert.deepEqual(fake.messages.map((m) => m.toString()), [message(1), message(2)])
  })

  test('retries when the connection closes at DATA, even a one-shot stream that was never read', async (t) => {
    const { fake, pool } = await setup(t, {
      onCommand: (s, line) => (s.id === 1 && line === 'DATA' ? 'close' : undefined),
    })
    async function* oneShot() { yield Buffer.from(message(7)) }
    const result = await pool.send({ from: 'a@example.test', to: 'b@example.test', message: oneShot() })
    assert.equal(result.bytes, Buffer.byteLength(message(7)))
    assert.equal(fake.sessions.length, 2)
    assert.deepEqual(fake.messages.map((m) => m.toString()), [message(7)])
  })

  test('retries a re-readable message when the connection closes mid-body', async (t) => {
    const { fake, pool } = await setup(t, {
      onBody: (s, received) => (s.id === 1 && received.length > 0 ? 'close' : undefined),
    })
    const closed = deferred()
    const line = Buffer.from(`${'a'.repeat(998)}\r\n`)
    const source = {
      calls: 0,
      async *stream() {
        this.calls++
        yield Buffer.from('Subject: big\r\n\r\n')
        if (this.calls > 1) return
        await closed.promise
        // Keep writing until the client notices the close; bounded.
        for (let i = 0; i < 20_000; i++) yield line
      },
    }
    const sending = pool.send({ from: 'a@example.test', to: 'b@example.test', message: source })
    await (await waitForSession(fake)).closed
    closed.resolve()
    await sending
    assert.equal(source.calls, 2)
    assert.deepEqual(fake.messages.map((m) => m.toString()), ['Subject: big\r\n\r\n'])
  })

  test('does not retry a one-shot stream that was partly sent when the connection closed', async (t) => {
    const { fake, pool } = await setup(t, {
      onBody: (s, received) => (received.length > 0 ? 'close' : undefined),
    })
    const closed = deferred()
    const line = Buffer.from(`${'a'.repeat(998)}\r\n`)
    async function* oneShot() {
      yield Buffer.from('Subject: once\r\n\r\n')
      await closed.promise
      for (let i = 0; i < 20_000; i++) yield line
    }
    const sending = pool.send({ from: 'a@example.test', to: 'b@example.test', message: oneShot() })
    sending.catch(() => {})
    await (await waitForSession(fake)).closed
    closed.resolve()
    await assert.rejects(sending, (err: ClientError) => err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_LOST')
    assert.equal(fake.sessions.length, 1)
    assert.equal(fake.messages.length, 0)
  })

  test('does not retry when the reply to the end of the data is lost, and says it may have been delivered', async (t) => {
    const { fake, pool } = await setup(t, { onMessage: () => 'close' })
    await assert.rejects(pool.send(mail(1)), (err: ClientError) => {
      assert.ok(err instanceof ClientError)
      assert.equal(err.code, 'ERR_SMTP_DELIVERY_UNKNOWN')
      assert.match(err.message, /may have been delivered/)
      return true
    })
    assert.equal(fake.sessions.length, 1)
    assert.equal(fake.messages.length, 1)
  })

  test('does not retry a final 4xx or 5xx data reply, and resets the connection before reusing it', async (t) => {
    let n = 0
    const { fake, pool } = await setup(t, { onMessage: () => (++n === 1 ? '554 5.6.0 Rejected by content filter' : n === 2 ? '451 4.3.0 Try later' : undefined) }, { maxConnections: 1 })
    await assert.rejects(pool.send(mail(1)), (err: SmtpError) => err instanceof SmtpError && err.code === 554 && /content filter/.test(err.message))
    await assert.rejects(pool.send(mail(2)), (err: SmtpError) => err instanceof SmtpError && err.code === 451)
    await pool.send(mail(3))
    assert.equal(fake.sessions.length, 1)
    assert.equal(fake.messages.length, 3)
    assert.deepEqual(fake.sessions[0]!.commands.filter((c) => /^(MAIL|RSET)/.test(c)).map((c) => c.slice(0, 4)), ['MAIL', 'RSET', 'MAIL', 'RSET', 'MAIL'])
  })

  test('passes refused recipients through as a result, without a retry', async (t) => {
    const { fake, pool } = await setup(t, { onCommand: (_s, line) => (line.includes('nobody@') ? '550 5.1.1 No such user' : undefined) })
    const result = await pool.send({ from: 'a@example.test', to: ['b@example.test', 'nobody@example.test'], message: message(1) })
    assert.deepEqual(result.accepted, ['b@example.test'])
    assert.equal(result.rejected[0]!.error.code, 550)
    assert.equal(fake.sessions.length, 1)
  })

  test('a retry in a full pool waits for a connection and succeeds', async (t) => {
    const { fake, pool } = await setup(t, {
      onCommand: (s, line) => (s.id === 1 && line.startsWith('MAIL') ? '421 4.3.2 Shutting down' : undefined),
    }, { maxConnections: 1 })
    const results = await Promise.all([pool.send(mail(1)), pool.send(mail(2)), pool.send(mail(3))])
    assert.equal(results.length, 3)
    assert.equal(fake.sessions.length, 2)
    assert.equal(fake.maxConcurrent, 1)
    assert.deepEqual(fake.messages.map((m) => m.toString()).sort(), [message(1), message(2), message(3)])
  })

  test('retries only once: a server that keeps closing fails the send', async (t) => {
    const { fake, pool } = await setup(t, { onCommand: (_s, line) => (line.startsWith('MAIL') ? '421 4.3.2 Go away' : undefined) })
    await assert.rejects(pool.send(mail(1)), (err: SmtpError) => err instanceof SmtpError && err.code === 421)
    assert.equal(fake.sessions.length, 2)
  })
})

describe('Pool waiting, rate limit and close', () => {
  test('a queued send is bounded by its signal and leaves the pool usable', async (t) => {
    const held = deferred()
    let first = true
    const { fake, pool } = await setup(t, { onMessage: async () => { if (first) { first = false; await held.promise } return undefined } }, { maxConnections: 1 })
    const slow = pool.send(mail(1))
    await waitForSession(fake)
    const controller = new AbortController()
    const queued = pool.send(mail(2), { signal: controller.signal })
    controller.abort()
    await assert.rejects(queued, { name: 'AbortError' })
    held.resolve()
    await slow
    await pool.send(mail(3))
    assert.equal(fake.sessions.length, 1)
    assert.deepEqual(fake.messages.map((m) => m.toString()), [message(1), message(3)])
  })

  test('rateLimit starts at most `messages` transactions per window across connections', async (t) => {
    const mails: number[] = []
    const { fake, pool } = await setup(t, { onCommand: (_s, line) => { if (line.startsWith('MAIL')) mails.push(performance.now()); return undefined } },
      { maxConnections: 3, rateLimit: { messages: 2, perMs: 100 } })
    await Promise.all(Array.from({ length: 6 }, (_, i) => pool.send(mail(i))))
    assert.equal(fake.messages.length, 6)
    assert.equal(mails.length, 6)
    // Without the limit all six MAILs arrive within a few ms; with it, no 100 ms window holds
    // three. Arrival times carry event-loop delays, so only half the window is asserted.
    for (let i = 2; i < mails.length; i++) assert.ok(mails[i]! - mails[i - 2]! >= 50, `MAIL ${i - 2} and ${i} arrived ${mails[i]! - mails[i - 2]!} ms apart`)
  })

  test('close() lets accepted sends finish, QUITs every connection, and refuses later sends', async (t) => {
    const { fake, pool } = await setup(t, {}, { maxConnections: 2 })
    const sends = Array.from({ length: 6 }, (_, i) => pool.send(mail(i)))
    await pool.close()
    const results = await Promise.all(sends)
    assert.equal(results.length, 6)
    assert.equal(fake.messages.length, 6)
    for (const session of fake.sessions) assert.equal(session.commands.at(-1), 'QUIT')
    assert.equal(pool.size, 0)
    await assert.rejects(pool.send(mail(9)), /pool is closed/)
  })

  test('close() with an aborted signal fails what is in flight at once', async (t) => {
    const { fake, pool } = await setup(t, { onMessage: () => new Promise<undefined>(() => {}) })
    const sending = pool.send(mail(1))
    sending.catch(() => {})
    await waitForSession(fake)
    while (fake.messages.length === 0) await new Promise((resolve) => setImmediate(resolve))
    const controller = new AbortController()
    const closing = pool.close({ signal: controller.signal })
    controller.abort()
    await closing
    await assert.rejects(sending, (err: ClientError) => err instanceof ClientError && err.code === 'ERR_SMTP_DELIVERY_UNKNOWN' && /may have been delivered/.test(err.message))
    assert.equal(pool.size, 0)
  })

  test('close() with an aborted signal fails a send still queued for a connection, and resolves', async (t) => {
    // MAIL is never answered, so the first send never gets as far as handing the connection on.
    const { fake, pool } = await setup(t, { onCommand: (_session, line) => (line.startsWith('MAIL') ? new Promise<undefined>(() => {}) : undefined) }, { maxConnections: 1 })
    const sending = pool.send(mail(1))
    sending.catch(() => {})
    const queued = pool.send(mail(2))
    queued.catch(() => {})
    const deadline = AbortSignal.timeout(5000)
    while (fake.commands('MAIL').length === 0) {
      deadline.throwIfAborted()
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const controller = new AbortController()
    const closing = pool.close({ signal: controller.signal })
    controller.abort()
    // The queued send is counted in flight: close() resolves only once it has failed.
    await closing
    await assert.rejects(queued, /pool was closed before the send finished/)
    await assert.rejects(sending)
    assert.equal(pool.size, 0)
  })

  test('await using closes the pool', async (t) => {
    const fake = await startFakeServer(t)
    {
      await using pool = new Pool({ host: '127.0.0.1', port: fake.port, tls: 'none' })
      await pool.send(mail(1))
    }
    await fake.sessions[0]!.closed
    assert.equal(fake.sessions[0]!.commands.at(-1), 'QUIT')
  })

  test('rejects bad options with RangeError', () => {
    assert.throws(() => new Pool({ host: '127.0.0.1' }, { maxConnections: 0 }), RangeError)
    assert.throws(() => new Pool({ host: '127.0.0.1' }, { idleTimeoutMs: -1 }), RangeError)
    assert.throws(() => new Pool({ host: '127.0.0.1' }, { rateLimit: { messages: 1.5, perMs: 10 } }), RangeError)
  })
})

async function waitForSession(fake: FakeServer) {
  const deadline = AbortSignal.timeout(5000)
  while (fake.sessions.length === 0) {
    deadline.throwIfAborted()
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  return fake.sessions[0]!
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('Pool authentication', () => {
  const authOn = (verify: (token: string) => boolean): FakeServerOptions => ({
    extensions: ['PIPELINING', 'AUTH XOAUTH2'],
    onCommand: (_session, line) => {
      if (!line.startsWith('AUTH XOAUTH2 ')) return undefined
      const token = /auth=Bearer ([^\x01]+)/.exec(Buffer.from(line.slice(13), 'base64').toString())?.[1] ?? ''
      return verify(token) ? '235 2.7.0 Accepted' : '535 5.7.8 Username and Password not accepted'
    },
  })

  test('authenticates every connection with XOAUTH2, concurrently and after recycling', async (t) => {
    const fake = await startFakeServer(t, authOn((token) => token === 'tok'))
    const pool = new Pool(
      { host: '127.0.0.1', port: fake.port, tls: 'none', localName: 'client.test', insecureAuthWithoutTls: true, auth: xoauth2({ username: 'u@example.test', accessToken: 'tok' }) },
      { maxConnections: 3, maxMessagesPerConnection: 2 },
    )
    t.after(() => pool.close({ signal: AbortSignal.timeout(1000) }))
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.send(mail(i))))
    assert.equal(results.length, 12)
    assert.ok(fake.sessions.length >= 6)
    assert.equal(fake.commands('AUTH').length, fake.sessions.length)
  })

  test('an async token function is asked per connection, and for a new token once after a refusal', async (t) => {
    let current = 'expired'
    const fake = await startFakeServer(t, authOn((token) => token === current))
    const asked: boolean[] = []
    const accessToken = async ({ refresh }: { refresh: boolean }): Promise<string> => {
      asked.push(refresh)
      return refresh ? 'renewed' : 'expired'
    }
    const pool = new Pool(
      { host: '127.0.0.1', port: fake.port, tls: 'none', localName: 'client.test', insecureAuthWithoutTls: true, auth: xoauth2({ username: 'u@example.test', accessToken }) },
      { maxConnections: 1, maxMessagesPerConnection: 1 },
    )
    t.after(() => pool.close({ signal: AbortSignal.timeout(1000) }))
    await pool.send(mail(1))
    assert.deepEqual(asked, [false])
    current = 'other'
    await assert.rejects(pool.send(mail(2)), (err: unknown) => err instanceof SmtpError && err.code === 535)
    assert.deepEqual(asked, [false, false, true])
    current = 'renewed'
    await pool.send(mail(3))
    assert.deepEqual(asked, [false, false, true, false, true])
  })
})
