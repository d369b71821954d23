import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ProtocolError, SmtpError } from '../../src/protocol/errors.ts'
import { ehlo, ready, scripted } from './scripted-client.ts'
import { ClientError } from '../../src/client/errors.ts'

describe('reply handling and connection life', () => {
  test('an unsolicited 421 closes the client; later calls reject with that SmtpError', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      S: 421 4.3.2 shutting down
    `)
    await done
    await assert.rejects(client.noop(), (err: unknown) => err instanceof SmtpError && err.code === 421 && err.enhancedCode === '4.3.2')
    assert.equal(client.isClosed, true)
    assert.equal(clientSide.destroyed, true)
  })

  test('a 421 answering a pipelined command fails it and every pending command with the 421', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<b@example.test>
      S: 421 4.7.0 too many errors, closing
    `)
    const [mail, rcpt] = await Promise.allSettled([client.mail('a@example.test'), client.rcpt('b@example.test')])
    await done
    assert.equal(mail.status, 'rejected')
    assert.equal(rcpt.status, 'rejected')
    assert.match(String((mail as PromiseRejectedResult).reason.message), /^421 4\.7\.0 too many errors, closing \(MAIL FROM:<a@example\.test>\)$/)
    assert.equal(((rcpt as PromiseRejectedResult).reason as SmtpError).code, 421)
  })

  test('another reply with no command pending is a protocol error that closes', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      S: 250 surprise
    `)
    await done
    await assert.rejects(client.noop(), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_UNEXPECTED_REPLY' && /250 surprise/.test(err.message))
  })

  test('a malformed reply rejects the pending command with ERR_SMTP_BAD_REPLY', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: NOOP
      S: 2x0 what
    `)
    await assert.rejects(client.noop(), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_REPLY' && /reply to NOOP/.test(err.message))
    await done
  })

  test('the server closing mid-command rejects with ERR_SMTP_CONNECTION_LOST naming the command', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: RCPT TO:<bob@example.test>
      --- close
    `)
    await assert.rejects(client.rcpt('bob@example.test'), (err: unknown) =>
      err instanceof ClientError &&
      err.code === 'ERR_SMTP_CONNECTION_LOST' &&
      err.message === 'the server closed the connection while waiting for the reply to RCPT TO:<bob@example.test>')
    await done
  })

  test('close() rejects pending commands and destroys the socket', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      C: NOOP
    `)
    const pending = client.noop()
    await done
    client.close()
    await assert.rejects(pending, (err: unknown) => err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_CLOSED' && /the client closed it/.test(err.message))
    assert.equal(clientSide.destroyed, true)
  })

  test('a peer that never answers the end of DATA: rejects with a TimeoutError naming the step and destroys the socket', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
    `, { timeouts: { dataEnd: 200 } })
    await client.mail('a@example.test')
    await client.rcpt('b@example.test')
    await assert.rejects(client.data('hi'), (err: unknown) =>
      err instanceof DOMException && err.name === 'TimeoutError' && err.message === 'no reply to DATA terminator within 200 ms')
    await done
    assert.equal(clientSide.destroyed, true)
    await assert.rejects(client.noop(), (err: unknown) => err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_CLOSED' && /timed out/.test(err.message))
  })

  test('a peer that stops reading mid-DATA: rejects with a TimeoutError for the data block and destroys the socket', async (t) => {
    const { client, done, clientSide, serverSide } = await ready(t, `
      ${ehlo()}
      C: DATA
      S: 354 go
    `, { timeouts: { dataBlock: 200 } })
    const data = client.data(Buffer.alloc(4 << 20, 0x61))
    await done
    serverSide.pause()
    await assert.rejects(data, (err: unknown) => err instanceof DOMException && err.name === 'TimeoutError' && /data block/.test(err.message))
    assert.equal(clientSide.destroyed, true)
  })

  test('aborting a step rejects with the signal reason and destroys the socket', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      C: NOOP
    `)
    const controller = new AbortController()
    const pending = client.noop({ signal: controller.signal })
    await done
    controller.abort()
    await assert.rejects(pending, (err: unknown) => err instanceof DOMException && err.name === 'AbortError')
    assert.equal(clientSide.destroyed, true)
  })

  test('a step given an already-aborted signal sends nothing', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(client.noop({ signal: AbortSignal.abort() }), (err: unknown) => err instanceof DOMException && err.name === 'AbortError')
    await client.quit()
    await done
  })

  test('a greeting that never comes times out naming the greeting', async (t) => {
    await assert.rejects(scripted(t, '', { timeouts: { greeting: 100 } }), (err: unknown) =>
      err instanceof DOMException && err.name === 'TimeoutError' && err.message === 'no greeting within 100 ms')
  })

  test('accepts reply lines longer than 512 octets', async (t) => {
    const long = 'x'.repeat(2000)
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: NOOP
      S: 250 ${long}
    `)
    const reply = await client.noop()
    await done
    assert.equal(reply.lines[0], long)
  })

  test('aborting while the message source is slow rejects at once and destroys the socket', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      C: DATA
      S: 354 go
    `)
    const controller = new AbortController()
    let release = (): void => {}
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first\r\n')
      await new Promise<void>((resolve) => (release = resolve))
    }
    const pending = client.data(slow(), { signal: controller.signal })
    await done
    controller.abort()
    await assert.rejects(pending, (err: unknown) => err instanceof DOMException && err.name === 'AbortError')
    release()
    assert.equal(clientSide.destroyed, true)
    await assert.rejects(client.noop(), (err: unknown) => err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_CLOSED' && /sending the message was aborted/.test(err.message))
  })

  test('a message source that throws mid-DATA rejects with ERR_SMTP_SOURCE_FAILED caused by its error and closes the connection', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: DATA
      S: 354 go
    `)
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('partial')
      throw new Error('disk on fire')
    }
    await assert.rejects(client.data(failing()), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_SOURCE_FAILED' && /disk on fire/.test(err.message) && (err.cause as Error).message === 'disk on fire')
    await done
    await assert.rejects(client.noop(), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_CLOSED' && /^connection closed: the message source failed: disk on fire/.test(err.message))
  })

  test('aborting a command still queued behind another leaves the connection usable', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: NOOP
      S: 250 first
      C: NOOP
      S: 250 second
    `)
    const controller = new AbortController()
    const first = client.noop()
    const queued = client.noop({ signal: controller.signal })
    controller.abort()
    await assert.rejects(queued, (err: unknown) => err instanceof DOMException && err.name === 'AbortError')
    assert.deepEqual((await first).lines, ['first'])
    assert.deepEqual((await client.noop()).lines, ['second'])
    await done
  })

  test('the debug hook sees the transcript with AUTH data redacted and no message body', async (t) => {
    const lines: string[] = []
    const { client, done } = await ready(t, `
      ${ehlo('AUTH PLAIN LOGIN')}
      C: AUTH PLAIN AHVzZXIAc2VjcmV0
      S: 535 5.7.8 bad
      C: AUTH LOGIN
      S: 334 VXNlcm5hbWU6
      C: dXNlcg==
      S: 334 UGFzc3dvcmQ6
      C: c2VjcmV0
      S: 235 2.7.0 ok
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: top secret body
      C: .
      S: 250 Ok
    `, { debug: (line) => lines.push(line), insecureAuthWithoutTls: true })
    await assert.rejects(client.auth({ username: 'user', password: 'secret', mechanism: 'PLAIN' }), SmtpError)
    await client.auth({ username: 'user', password: 'secret', mechanism: 'LOGIN' })
    await client.send({ from: 'a@example.test', to: 'b@example.test', message: 'top secret body\r\n' })
    await done
    assert.deepEqual(lines.filter((l) => l.startsWith('C:')), [
      'C: EHLO client.test',
      'C: AUTH PLAIN <redacted>',
      'C: AUTH LOGIN',
      'C: <redacted>',
      'C: <redacted>',
      'C: MAIL FROM:<a@example.test>',
      'C: RCPT TO:<b@example.test>',
      'C: DATA',
      'C: <17 bytes of message data>',
      'C: .',
    ])
    assert.ok(lines.includes('S: 250 Ok'))
    const all = lines.join('\n')
    assert.doesNotMatch(all, /secret|c2VjcmV0|AHVzZXIAc2VjcmV0|dXNlcg==/)
  })
})
