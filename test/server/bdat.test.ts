import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SmtpError } from '../../src/protocol/errors.ts'
import type { Envelope, ServerOptions } from '../../src/server/index.ts'
import { EHLO_REPLY, HOST, connect, readAll } from './harness.ts'

const HELLO = `
  S: 220 ${HOST} ESMTP ready
  C: EHLO client.example
  ${EHLO_REPLY}`

const MAIL_RCPT = `
  C: MAIL FROM:<a@example.test>
  S: 250 2.1.0 Sender OK
  C: RCPT TO:<b@example.test>
  S: 250 2.1.5 Recipient OK`

function recording(): { seen: { bodies: Buffer[]; envelopes: Envelope[]; errors: unknown[] }; options: ServerOptions } {
  const seen = { bodies: [] as Buffer[], envelopes: [] as Envelope[], errors: [] as unknown[] }
  return {
    seen,
    options: {
      newSession: () => ({
        async data(message, envelope) {
          seen.envelopes.push(envelope)
          try {
            seen.bodies.push(await readAll(message))
          } catch (error) {
            seen.errors.push(error)
            throw error
          }
        },
      }),
    },
  }
}

describe('BDAT (RFC 3030)', () => {
  test('streams chunks to the data hook verbatim: no dot-unstuffing, and with BINARYMIME no line rules', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test> BODY=BINARYMIME
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: BDAT 8
      C: hello\\r\\n.\\
      S: 250 2.0.0 8 octets received
      C: BDAT 7 LAST
      C: \\n.\\r\\nbye\\
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.bodies[0]!.toString('latin1'), 'hello\r\n.\n.\r\nbye')
    assert.equal(seen.envelopes[0]!.isBdat, true)
  })

  test('takes BDAT 0 LAST and BODY=BINARYMIME', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}
      C: MAIL FROM:<a@example.test> BODY=BINARYMIME
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: BDAT 2
      C: \\x00\\xff\\
      S: 250 2.0.0 2 octets received
      C: BDAT 0 LAST
      S: 250 2.0.0 Message accepted
    `)
    assert.deepEqual([...seen.bodies[0]!], [0, 0xff])
    assert.equal(seen.envelopes[0]!.bodyType, 'BINARYMIME')
  })

  test('refuses a chunk declared 10 GB with one reply, 552, at once, without allocating or reading it, and closes', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}${MAIL_RCPT}`)
    const before = process.memoryUsage().arrayBuffers
    await h.play(`
      C: BDAT 10000000000 LAST
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      --- expect-close
    `)
    assert.ok(process.memoryUsage().arrayBuffers - before < 50 * 1024 * 1024)
    assert.equal((seen.errors[0] as SmtpError).code, 552)
    assert.equal(seen.bodies.length, 0)
  })

  test('a refused BDAT whose chunk is too large to read gets one reply, the refusal, and the connection closes', async (t) => {
    const h = connect(t)
    await h.play(`${HELLO}
      C: BDAT 10000000000 LAST
      S: 503 5.5.1 Need MAIL command first
      --- expect-close
    `)
  })

  test('discards a chunk that takes the total over maxMessageBytes, replies 552, and stays in sync', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, { ...options, limits: { maxMessageBytes: 100 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY.replace('SIZE 26214400', 'SIZE 100')}
      ${MAIL_RCPT}
      C: BDAT 60
      C: ${'a'.repeat(60)}\\
      S: 250 2.0.0 60 octets received
      C: BDAT 50
      C: ${'b'.repeat(44)}QUIT\\r\\n\\
      C: BDAT 10 LAST
      C: ${'c'.repeat(10)}\\
      C: NOOP
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      S: 503 5.5.1 Need MAIL command first
      S: 250 2.0.0 OK
    `)
    assert.equal(seen.bodies.length, 0)
    assert.equal((seen.errors[0] as SmtpError).code, 552)
  })

  test('refuses DATA after BDAT in one transaction with 503', async (t) => {
    const h = connect(t)
    await h.play(`${HELLO}${MAIL_RCPT}
      C: BDAT 2
      C: ab\\
      S: 250 2.0.0 2 octets received
      C: DATA
      S: 503 5.5.1 DATA not allowed after BDAT (RFC 3030 section 2)
      C: RCPT TO:<c@example.test>
      S: 503 5.5.1 Not allowed during BDAT
      C: BDAT 1 LAST
      C: c\\
      S: 250 2.0.0 Message accepted
    `)
  })

  test('reads and discards the chunk of a BDAT refused for lack of RCPT or MAIL', async (t) => {
    const h = connect(t)
    await h.play(`${HELLO}
      C: BDAT 6
      C: RSET\\r\\n\\
      S: 503 5.5.1 Need MAIL command first
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: BDAT 6 LAST
      C: QUIT\\r\\n\\
      S: 503 5.5.1 Need RCPT command first
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })

  test('answers bad BDAT arguments with 501', async (t) => {
    const h = connect(t)
    await h.play(`${HELLO}${MAIL_RCPT}
      C: BDAT abc
      S: 501 5.5.4 Syntax: BDAT <size> [LAST]
      C: BDAT 123456789012345678901 LAST
      S: 501 5.5.4 Syntax: BDAT <size> [LAST]
      C: BDAT 1 FIRST
      S: 501 5.5.4 Syntax: BDAT <size> [LAST]
    `)
  })

  test('RSET between chunks abandons the message: the data hook sees an error', async (t) => {
    const { seen, options } = recording()
    const h = connect(t, options)
    await h.play(`${HELLO}${MAIL_RCPT}
      C: BDAT 3
      C: abc\\
      S: 250 2.0.0 3 octets received
      C: RSET
      S: 250 2.0.0 OK
    `)
    const signal = AbortSignal.timeout(2000)
    while (seen.errors.length === 0 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(seen.bodies.length, 0)
    assert.equal(seen.errors.length, 1)
  })

  test('BDAT after a plain HELO is refused with 503, its chunk still read (HELO offers no CHUNKING)', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      ${MAIL_RCPT}
      C: BDAT 6 LAST
      C: NOOP\\r\\n\\
      S: 503 5.5.1 Not offered after HELO: send EHLO to use extensions
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
    `)
  })

  test('BDAT is refused with 502, its chunk still read, when CHUNKING is off', async (t) => {
    const h = connect(t, { chunking: false })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      ${MAIL_RCPT}
      C: BDAT 6 LAST
      C: NOOP\\r\\n\\
      S: 502 5.5.1 BDAT not available
      C: RSET
      S: 250 2.0.0 OK
    `)
  })
})
