import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SmtpError } from '../../src/protocol/errors.ts'
import type { Envelope, ServerOptions, Session } from '../../src/server/index.ts'
import { EHLO_REPLY, HOST, UP_TO_DATA, connect, readAll } from './harness.ts'

const HELLO = `
  S: 220 ${HOST} ESMTP ready
  C: EHLO client.example
  ${EHLO_REPLY}`

interface Seen {
  messages: { body: Buffer; envelope: Envelope }[]
  streamErrors: unknown[]
}

/** A session that reads every message whole, recording what it got and any stream error. */
function recording(extra: Session = {}): { seen: Seen; options: ServerOptions } {
  const seen: Seen = { messages: [], streamErrors: [] }
  return {
    seen,
    options: {
      newSession: () => ({
        ...extra,
        async data(message, envelope) {
          try {
            seen.messages.push({ body: await readAll(message), envelope })
          } catch (error) {
            seen.streamErrors.push(error)
            throw error
          }
        },
      }),
    },
  }
}

describe('MAIL and RCPT', () => {
  test('passes the envelope and every parameter to the hooks and the data hook', async (t) => {
    const calls: unknown[] = []
    const { seen, options } = recording({
      mail: (from, params) => void calls.push(['mail', from, params]),
      rcpt: (to, params) => void calls.push(['rcpt', to, params]),
    })
    const h = connect(t, options)
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test
      S: 250 2.1.5 Recipient OK
      C: RCPT TO:<Postmaster>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: Subject: hi
      C:
      C: body
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.deepEqual(calls, [
      ['mail', 'a@example.test', { size: 100, body: '8BITMIME', ret: 'HDRS', envid: 'QQ+1' }],
      ['rcpt', 'b@example.test', { notify: ['SUCCESS', 'FAILURE'], orcpt: { addressType: 'rfc822', address: 'b@example.test' } }],
      ['rcpt', 'Postmaster', {}],
    ])
    assert.equal(seen.messages.length, 1)
    const { envelope, body } = seen.messages[0]!
    assert.equal(body.toString(), 'Subject: hi\r\n\r\nbody\r\n')
    assert.equal(envelope.from, 'a@example.test')
    assert.equal(envelope.bodyType, '8BITMIME')
    assert.equal(envelope.isBdat, false)
    assert.equal(envelope.smtpUtf8, false)
    assert.deepEqual(envelope.recipients.map((r) => r.address), ['b@example.test', 'Postmaster'])
  })

  test('takes the null reverse-path and a space after the colon', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}
      C: MAIL FROM: <>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.messages[0]!.envelope.from, '')
    assert.equal(seen.messages[0]!.body.length, 0)
  })

  test('unknown parameters (REQUIRETLS too: out of scope) get 555, bad values 501, parameters of disabled extensions 555', async (t) => {
    const h = connect(t, { dsn: false })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      S: 250-${HOST}
      S: 250-PIPELINING
      S: 250-SIZE 26214400
      S: 250-8BITMIME
      S: 250-BINARYMIME
      S: 250-CHUNKING
      S: 250-SMTPUTF8
      S: 250 ENHANCEDSTATUSCODES
      C: MAIL FROM:<a@example.test> FROB=1
      S: 555 5.5.4 Unsupported parameter FROB
      C: MAIL FROM:<a@example.test> REQUIRETLS
      S: 555 5.5.4 Parameter not supported: it needs REQUIRETLS, which is not offered
      C: MAIL FROM:<a@example.test> BODY=9BIT
      S: 501 5.5.4 Syntax error in parameters: BODY must be 7BIT, 8BITMIME or BINARYMIME
      C: MAIL FROM:<a@example.test> RET=FULL
      S: 555 5.5.4 Parameter not supported: it needs DSN, which is not offered
      C: MAIL FROM:<a@example.test> AUTH=<>
      S: 555 5.5.4 Parameter not supported: it needs AUTH, which is not offered
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test> NOTIFY=NEVER
      S: 555 5.5.4 Parameter not supported: it needs DSN, which is not offered
      C: RCPT TO:<b@example.test> XYZ
      S: 555 5.5.4 Unsupported parameter XYZ
      C: RCPT TO:<>
      S: 501 5.1.3 Bad recipient address syntax: the null path <> is not allowed here
    `)
  })

  test('refuses a declared SIZE over maxMessageBytes at MAIL with 552 (RFC 1870)', async (t) => {
    const h = connect(t, { limits: { maxMessageBytes: 1000 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY.replace('SIZE 26214400', 'SIZE 1000')}
      C: MAIL FROM:<a@example.test> SIZE=1001
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      C: MAIL FROM:<a@example.test> SIZE=99999999999999999999
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      C: MAIL FROM:<a@example.test> SIZE=1000
      S: 250 2.1.0 Sender OK
      C: RSET
      S: 250 2.0.0 OK
      C: MAIL FROM:<a@example.test> SIZE=0000000000000100
      S: 250 2.1.0 Sender OK
    `)
  })

  test('a UTF-8 address needs the SMTPUTF8 parameter (553 5.6.7) and is accepted with it', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}
      C: MAIL FROM:<j\xc3\xb6rg@example.test>
      S: 553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<j\xc3\xb6rg@example.test>
      S: 553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter
      C: RSET
      S: 250 2.0.0 OK
      C: MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: .
      S: 250 2.0.0 Message accepted
    `)
    const { envelope } = seen.messages[0]!
    assert.equal(envelope.from, 'jörg@example.test')
    assert.equal(envelope.recipients[0]!.address, '用户@例子.测试')
    assert.equal(envelope.smtpUtf8, true)
  })

  test('refuses recipients past maxRecipients with 452 4.5.3 and keeps the others', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { maxRecipients: 2 } })
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b1@example.test>
      S: 250 2.1.5 Recipient OK
      C: RCPT TO:<b2@example.test>
      S: 250 2.1.5 Recipient OK
      C: RCPT TO:<b3@example.test>
      S: 452 4.5.3 Too many recipients
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.messages[0]!.envelope.recipients.length, 2)
  })

  test('closes with 421 after maxTransactionsPerConnection', async (t) => {
    const h = connect(t, { limits: { maxTransactionsPerConnection: 1 } })
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RSET
      S: 250 2.0.0 OK
      C: MAIL FROM:<a@example.test>
      S: 421 4.7.0 ${HOST} Error: too many messages in one connection
      --- expect-close
    `)
  })
})

describe('hook errors', () => {
  test('an SmtpError from a hook is sent exactly', async (t) => {
    const h = connect(t, {
      newSession: () => ({
        mail(from) {
          if (from === 'spammer@example.test') throw new SmtpError(550, '5.7.1', 'Go away')
        },
        rcpt(to) {
          if (to !== 'bob@example.test') throw new SmtpError(550, '5.1.1', ['No such user', 'here'])
        },
        data() {
          throw new SmtpError(451, '4.7.1', 'Greylisted, try again later')
        },
      }),
    })
    await h.play(`${HELLO}
      C: MAIL FROM:<spammer@example.test>
      S: 550 5.7.1 Go away
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<eve@example.test>
      S: 550-5.1.1 No such user
      S: 550 5.1.1 here
      C: RCPT TO:<bob@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: some text
      C: .
      S: 451 4.7.1 Greylisted, try again later
      C: NOOP
      S: 250 2.0.0 OK
    `)
    assert.deepEqual(h.errors, [])
  })

  test('any other error becomes 451 4.3.0 without its text, and goes to onError', async (t) => {
    const h = connect(t, {
      newSession: () => ({
        rcpt() {
          throw new Error('secret database password wrong')
        },
        async data(message) {
          await readAll(message)
          throw new TypeError('disk full at /var/spool')
        },
        mail: () => Promise.reject(new Error('mail hook exploded')),
      }),
    })
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test>
      S: 451 4.3.0 Local error in processing
    `)
    assert.equal((h.errors[0] as Error).message, 'mail hook exploded')
  })

  test('an SmtpError with a 2xx code thrown by a hook gives 451 4.3.0, and onError says what was wrong', async (t) => {
    const h = connect(t, { newSession: () => ({ mail: () => { throw new SmtpError(250, '2.0.0', 'fine really') } }) })
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test>
      S: 451 4.3.0 Local error in processing
    `)
    assert.match((h.errors[0] as Error).message, /hook threw SmtpError 250; only 4xx and 5xx replies can be thrown/)
    assert.ok((h.errors[0] as Error).cause instanceof SmtpError)
  })

  test('a data hook failure after reading gives 451 and nothing else on the wire', async (t) => {
    const h = connect(t, {
      newSession: () => ({
        async data(message) {
          await readAll(message)
          throw new TypeError('disk full at /var/spool')
        },
      }),
    })
    await h.play(`${UP_TO_DATA}
      C: text
      C: .
      S: 451 4.3.0 Local error in processing
    `)
    assert.equal((h.errors[0] as Error).message, 'disk full at /var/spool')
  })
})

describe('DATA', () => {
  test('removes dot-stuffing and delivers the body byte for byte', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${UP_TO_DATA}
      C: ..leading dot
      C: ...two
      C: .
      S: 250 2.0.0 Message accepted
    `)
    await h.play(`
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: \\x01\\xff binary-ish \\x80 . middle dot
      C: 
      C: ..
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.messages[0]!.body.toString('latin1'), '.leading dot\r\n..two\r\n')
    assert.equal(seen.messages[1]!.body.toString('latin1'), '\x01\xff binary-ish \x80 . middle dot\r\n\r\n.\r\n')
  })

  test('replies to a pipelined MAIL, RCPT, RCPT, DATA group in one write (RFC 2920)', async (t) => {
    const h = connect(t)
    await h.play(HELLO)
    const chunks: string[] = []
    h.peer.on('data', (chunk: Buffer) => chunks.push(chunk.toString('latin1')))
    h.peer.write('MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n')
    const signal = AbortSignal.timeout(2000)
    while (chunks.join('').split('\r\n').length < 5 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(chunks, [
      '250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n',
    ])
  })

  test('accepts and discards the message when the session has no data hook', async (t) => {
    const h = connect(t)
    await h.play(`${UP_TO_DATA}
      C: ${'x'.repeat(900)}
      C: .
      S: 250 2.0.0 Message accepted
    `)
  })

  test('drains the stream for a hook that returns without reading it, and uses its text', async (t) => {
    const h = connect(t, { newSession: () => ({ data: () => 'Queued as 42' }) })
    const body = `C: ${'y'.repeat(990)}\n`.repeat(200)
    await h.play(`${UP_TO_DATA}
      ${body}
      C: .
      S: 250 2.0.0 Queued as 42
    `)
  })

  test('refuses a message over maxMessageBytes with 552 and delivers nothing', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { maxMessageBytes: 100 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: ${'z'.repeat(60)}
      C: ${'z'.repeat(60)}
      C: .
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      C: NOOP
      S: 250 2.0.0 OK
    `)
    assert.equal(seen.messages.length, 0)
    assert.equal(seen.streamErrors.length, 1)
    assert.equal((seen.streamErrors[0] as SmtpError).code, 552)
    assert.deepEqual(h.errors, [])
  })

  test('refuses DATA for BODY=BINARYMIME with 503 (RFC 3030 §3)', async (t) => {
    const h = connect(t)
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test> BODY=BINARYMIME
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 503 5.5.1 BODY=BINARYMIME requires BDAT (RFC 3030 section 3)
    `)
  })

  test('closes with 421 4.4.2 when message data stops for dataTimeoutMs, failing the stream', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { dataTimeoutMs: 100 } })
    await h.play(`${UP_TO_DATA}
      C: the start of a message
      S: 421 4.4.2 ${HOST} Error: timeout exceeded
      --- expect-close
    `)
    const signal = AbortSignal.timeout(2000)
    while (seen.streamErrors.length === 0 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(seen.messages.length, 0)
    assert.equal((seen.streamErrors[0] as SmtpError).code, 421)
  })

  test('message data slower than minDataBytesPerSecond runs out of time even though bytes keep coming', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { dataTimeoutMs: 300, minDataBytesPerSecond: 500 } })
    await h.play(`${UP_TO_DATA}
    `)
    let received = ''
    h.peer.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    // A byte every 40 ms earns 2 ms at 500 bytes/s: the 300 ms budget is spent after a few.
    const signal = AbortSignal.timeout(4000)
    while (!received.includes('421') && !signal.aborted) {
      h.peer.write('x')
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    assert.equal(received, `421 4.4.2 ${HOST} Error: timeout exceeded\r\n`)
    assert.equal(seen.messages.length, 0)
  })

  test('message data that keeps up with minDataBytesPerSecond may take longer than dataTimeoutMs in all', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { dataTimeoutMs: 200, minDataBytesPerSecond: 500 } })
    await h.play(`${UP_TO_DATA}
    `)
    // 100 bytes every 50 ms (2000 bytes/s) for 500 ms: each read earns more than it waited.
    for (let i = 0; i < 10; i++) {
      h.peer.write(`${'y'.repeat(98)}\r\n`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await h.play(`
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.messages.length, 1)
  })

  test('rejects lines over a finite maxTextLineBytes with 554', async (t) => {
    const h = connect(t, { limits: { maxTextLineBytes: 1000 } })
    await h.play(`${UP_TO_DATA}
      C: ${'w'.repeat(999)}
      C: .
      S: 554 5.6.0 Message has a line longer than 1000 octets
    `)
  })
})

describe('SMTP smuggling (bare line endings)', () => {
  const variants = ['\\n.\\n', '\\n.\\r\\n', '\\r\\n.\\n', '\\r.\\r\\n', '\\r\\n.\\rX', '\\r.\\r', '\\n.\\r', '\\r\\n.\\r\\r\\n', '\\n..\\n']
  for (const variant of variants) {
    test(`${JSON.stringify(variant.replaceAll('\\\\', '\\'))} does not end the data, and the message is rejected`, async (t) => {
      const { seen, options } = recording()
      const h = connect(t, options)
      await h.play(`${HELLO}
        C: MAIL FROM:<a@example.test>
        S: 250 2.1.0 Sender OK
        C: RCPT TO:<b@example.test>
        S: 250 2.1.5 Recipient OK
        C: DATA
        S: 354 End data with <CR><LF>.<CR><LF>
        C: Subject: first\\r\\n\\r\\nhello${variant}MAIL FROM:<evil@example.test>\\r\\nRCPT TO:<victim@example.test>\\r\\nDATA\\r\\n\\
        C: forged
        C: .
        S: 554 5.6.0 Message contains a bare LF or CR; use CRLF line endings
        C: NOOP
        S: 250 2.0.0 OK
      `)
      assert.equal(seen.messages.length, 0)
      assert.equal((seen.streamErrors[0] as SmtpError).code, 554)
    })
  }

  test('with insecureAcceptBareLineEndings they are normalised to CRLF, still inside the one message', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, insecureAcceptBareLineEndings: true })
    await h.play(`${UP_TO_DATA}
      C: a\\n.\\nMAIL FROM:<evil@example.test>\\rb
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.messages[0]!.body.toString('latin1'), 'a\r\n.\r\nMAIL FROM:<evil@example.test>\r\nb\r\n')
  })
})

describe('ESMTP parameters after HELO', () => {
  test('MAIL and RCPT parameters after plain HELO get 555 5.5.4, and the same commands without them work (RFC 5321 §2.2.1)', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      C: MAIL FROM:<a@example.test> BODY=8BITMIME
      S: 555 5.5.4 Parameters are not allowed after HELO; use EHLO
      C: MAIL FROM:<a@example.test> SIZE=10
      S: 555 5.5.4 Parameters are not allowed after HELO; use EHLO
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test> NOTIFY=NEVER
      S: 555 5.5.4 Parameters are not allowed after HELO; use EHLO
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: hi
      C: .
      S: 250 2.0.0 Message accepted
      C: EHLO client.example
      ${EHLO_REPLY}
      C: MAIL FROM:<a@example.test> BODY=8BITMIME
      S: 250 2.1.0 Sender OK
    `)
    assert.equal(seen.messages.length, 1)
  })
})

describe('DATA limits the core did not cover', () => {
  test('a NUL octet in a DATA body rejects the message with 554 5.6.0 (RFC 2045 §2.8), and the connection stays in sync', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${UP_TO_DATA}
      C: before
      C: a\\x00b
      C: .
      S: 554 5.6.0 Message contains a NUL octet, which DATA cannot carry
      C: NOOP
      S: 250 2.0.0 OK
    `)
    assert.equal(seen.messages.length, 0)
    assert.equal((seen.streamErrors[0] as SmtpError).code, 554)
  })

  for (const verb of ['a large DATA', 'a BDAT', 'a small DATA'] as const) {
    test(`a data hook that stalls without reading still times out with ${verb} message: 421 4.4.2, close, and its stream fails`, async (t) => {
      let streamError: unknown
      let release!: () => void
      const stalled = new Promise<void>((resolve) => (release = resolve))
      const h = connect(t, {
        limits: { dataTimeoutMs: 200 },
        newSession: () => ({
          async data(message) {
            message.on('error', (error) => (streamError = error))
            await stalled
          },
        }),
      })
      t.after(() => release())
      await h.play(`${HELLO}
        C: MAIL FROM:<a@example.test>
        S: 250 2.1.0 Sender OK
        C: RCPT TO:<b@example.test>
        S: 250 2.1.5 Recipient OK
      `)
      // More than the stream's high-water mark, so the server stops reading the socket and waits.
      const line = `${'x'.repeat(998)}\r\n`
      if (verb === 'a BDAT') h.peer.write(`BDAT ${200 * line.length} LAST\r\n`)
      else await h.play('C: DATA\nS: 354 End data with <CR><LF>.<CR><LF>')
      // The small one fits in the stream's buffer: the server reads to its end, then waits for the hook.
      if (verb === 'a small DATA') h.peer.write('hello\r\n.\r\n')
      else for (let i = 0; i < 200; i++) h.peer.write(line)
      await h.play(`
        S: 421 4.4.2 ${HOST} Error: timeout exceeded
        --- expect-close
      `)
      assert.ok(streamError instanceof SmtpError && streamError.code === 421, `the hook's stream was destroyed with ${String(streamError)}`)
    })
  }

  test('discarding an oversized DATA body stops past 2 × maxMessageBytes + 64 KiB with 421 and a close', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { maxMessageBytes: 1000 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY.replace('SIZE 26214400', 'SIZE 1000')}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
    `)
    const line = Buffer.from(`${'x'.repeat(98)}\r\n`)
    // 60 000 octets are discarded, not refused: the limit is 2 × 1000 + 65 536.
    for (let i = 0; i < 600; i++) h.peer.write(line)
    await h.play(`
      C: .
      C: NOOP
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      S: 250 2.0.0 OK
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
    `)
    // Without an end the discard would go on for as long as the client sends.
    h.peer.on('error', () => {})
    for (let i = 0; i < 2000; i++) h.peer.write(line)
    await h.play(`
      S: 421 4.3.4 ${HOST} Message size exceeds fixed maximum message size; closing connection
      --- expect-close
    `)
    const signal = AbortSignal.timeout(2000)
    while (seen.streamErrors.length < 2 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(seen.messages.length, 0)
    assert.deepEqual(seen.streamErrors.map((error) => (error as SmtpError).code), [552, 552])
  })
})
