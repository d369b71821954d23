import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SmtpError } from '../../src/protocol/errors.ts'
import { EHLO_REPLY, HOST, connect, ehloReplyWith } from './harness.ts'

describe('greeting and hello', () => {
  test('greets with 220 and answers EHLO with the extension list', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
    `)
  })

  test('answers HELO with a plain 250 and records the name', async (t) => {
    let seen: string | undefined
    const h = connect(t, { newSession: (conn) => ({ mail: () => { seen = `${conn.helo} ${conn.isEsmtp}` } }) })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
    `)
    assert.equal(seen, 'client.example false')
  })

  test('requires a domain with HELO and EHLO (501)', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO
      S: 501 5.5.4 Syntax: HELO <domain>
      C: EHLO two words
      S: 501 5.5.4 Syntax: EHLO <domain>
    `)
  })

  test('leaves out the extensions that are turned off, and enhanced codes with them', async (t) => {
    const h = connect(t, { pipelining: false, chunking: false, smtpUtf8: false, dsn: false, eightBitMime: false, enhancedStatusCodes: false, limits: { maxMessageBytes: 1000 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      S: 250-${HOST}
      S: 250 SIZE 1000
      C: NOOP
      S: 250 OK
      C: MAIL FROM:<a@example.test> BODY=8BITMIME
      S: 555 Parameter not supported: it needs 8BITMIME, which is not offered
    `)
  })

  test('advertises AUTH only when allowed, and STARTTLS only when TLS is configured', async (t) => {
    const h = connect(t, { auth: () => true, insecureAuthWithoutTls: true, authMechanisms: ['PLAIN', 'SCRAM-SHA-256'], dsn: false })
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
      S: 250-ENHANCEDSTATUSCODES
      S: 250 AUTH PLAIN SCRAM-SHA-256
    `)
  })

  test('does not advertise AUTH without TLS by default, and refuses it with 530', async (t) => {
    const h = connect(t, { auth: () => true })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: AUTH PLAIN AGJvYgBzZWNyZXQ=
      S: 530 5.7.0 Must issue a STARTTLS command first
    `)
  })

  test('EHLO in the middle of a transaction resets it', async (t) => {
    let resets = 0
    const h = connect(t, { newSession: () => ({ reset: () => { resets++ } }) })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: HELO again.example
      S: 250 ${HOST}
      C: RCPT TO:<b@example.test>
      S: 503 5.5.1 Need MAIL command first
    `)
    assert.equal(resets, 1)
  })
})

describe('sequence and syntax errors', () => {
  test('refuses mail commands before EHLO/HELO with 503', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: MAIL FROM:<a@example.test>
      S: 503 5.5.1 Send EHLO/HELO first
      C: RCPT TO:<b@example.test>
      S: 503 5.5.1 Send EHLO/HELO first
      C: DATA
      S: 503 5.5.1 Send EHLO/HELO first
    `)
  })

  test('refuses RCPT before MAIL, DATA before RCPT, and a nested MAIL', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: RCPT TO:<b@example.test>
      S: 503 5.5.1 Need MAIL command first
      C: DATA
      S: 503 5.5.1 Need MAIL command first
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: DATA
      S: 503 5.5.1 Need RCPT command first
      C: MAIL FROM:<a@example.test>
      S: 503 5.5.1 Not allowed during a mail transaction
    `)
  })

  test('answers unknown commands and garbage with 500', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: FROB
      S: 500 5.5.2 Command unrecognized
      C: 123 456
      S: 500 5.5.2 Syntax error, command unrecognized
      C: LHLO client.example
      S: 500 5.5.2 Command unrecognized
    `)
  })

  test('answers syntax errors in arguments with 501', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: MAIL TO:<a@example.test>
      S: 501 5.5.4 Syntax: MAIL FROM:<address> [parameters]
      C: MAIL FROM:a@example.test
      S: 501 5.1.7 Bad sender address syntax: expected '<' to open the path right after the colon (RFC 5321 section 4.1.1.2)
      C: MAIL FROM:<a@@example.test>
      S: 501 5.1.7 Bad sender address syntax: domain contains '@': an address has one '@', unless it is inside a quoted local part
      C: RSET extra
      S: 501 5.5.4 Syntax: RSET (no parameters)
      C: VRFY
      S: 501 5.5.4 Syntax: VRFY <address>
    `)
  })

  test('answers a line over maxLineBytes with 500 and goes on', async (t) => {
    const h = connect(t)
    const long = `NOOP ${'x'.repeat(600)}`
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: ${long}
      S: 500 5.5.2 Line too long
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })

  test('answers a command ending in a bare LF with 500, never as a command', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: NOOP\\nRSET\\r\\n\\
      S: 500 5.5.2 Bare LF or CR in command; use CRLF line endings
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })

  test('closes with 421 after maxBadCommands protocol errors', async (t) => {
    const h = connect(t, { limits: { maxBadCommands: 3 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: FOO
      S: 500 5.5.2 Command unrecognized
      C: NOOP
      S: 250 2.0.0 OK
      C: BAR
      S: 500 5.5.2 Command unrecognized
      C: EHLO
      S: 501 5.5.4 Syntax: EHLO <domain>
      S: 421 4.7.0 ${HOST} Error: too many errors
      --- expect-close
    `)
    h.peer.end()
    await h.closed
  })

  test('503s for commands pipelined after a refused MAIL do not count as bad commands (RFC 2920 §3.1)', async (t) => {
    const h = connect(t, { limits: { maxBadCommands: 3, maxMessageBytes: 1000 } })
    const rcpts = Array.from({ length: 12 }, (_, i) => `C: RCPT TO:<r${i}@example.test>`).join('\n      ')
    const refusals = Array.from({ length: 12 }, () => 'S: 503 5.5.1 Need MAIL command first').join('\n      ')
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY.replace('SIZE 26214400', 'SIZE 1000')}
      C: MAIL FROM:<a@example.test> SIZE=5000
      ${rcpts}
      C: DATA
      S: 552 5.3.4 Message size exceeds fixed maximum message size
      ${refusals}
      S: 503 5.5.1 Need MAIL command first
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })
})

describe('simple commands', () => {
  test('NOOP, RSET, HELP, EXPN and QUIT', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: NOOP anything
      S: 250 2.0.0 OK
      C: RSET
      S: 250 2.0.0 OK
      C: HELP
      S: 214 2.0.0 Supported commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN STARTTLS AUTH
      C: EXPN list
      S: 502 5.5.1 EXPN not available
      C: quit
      S: 221 2.0.0 ${HOST} closing connection
      --- expect-close
    `)
  })

  test('VRFY answers 252 by default and uses the session hook when there is one', async (t) => {
    const h = connect(t, {
      newSession: () => ({
        vrfy(argument) {
          if (argument === 'bob') return 'Bob <bob@example.test>'
          if (argument === 'eve') throw new SmtpError(550, '5.1.1', 'No such user')
          return undefined
        },
      }),
    })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: VRFY bob
      S: 250 2.1.5 Bob <bob@example.test>
      C: VRFY eve
      S: 550 5.1.1 No such user
      C: VRFY carol
      S: 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery
    `)
  })

  test('STARTTLS without TLS configured is 502, AUTH without a hook is 502', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: STARTTLS
      S: 502 5.5.1 STARTTLS not available
      C: AUTH PLAIN
      S: 502 5.5.1 AUTH not available
    `)
  })
})

describe('policy', () => {
  test('requireTls refuses mail commands with 530 until TLS', async (t) => {
    const h = connect(t, { requireTls: true })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: MAIL FROM:<a@example.test>
      S: 530 5.7.0 Must issue a STARTTLS command first
      C: VRFY bob
      S: 530 5.7.0 Must issue a STARTTLS command first
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })

  test('requireAuth refuses MAIL with 530 5.7.0 before AUTH (RFC 6409)', async (t) => {
    const h = connect(t, { requireAuth: true, auth: () => true, insecureAuthWithoutTls: true })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${ehloReplyWith('AUTH PLAIN LOGIN')}
      C: MAIL FROM:<a@example.test>
      S: 530 5.7.0 Authentication required
      C: AUTH PLAIN AGJvYgBzZWNyZXQ=
      S: 235 2.7.0 Authentication successful
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
    `)
  })

  test('closes after maxUnauthenticatedCommands when auth is required', async (t) => {
    const h = connect(t, { requireAuth: true, auth: () => true, insecureAuthWithoutTls: true, limits: { maxUnauthenticatedCommands: 2 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: NOOP
      S: 250 2.0.0 OK
      C: NOOP
      S: 250 2.0.0 OK
      C: NOOP
      S: 421 4.7.0 ${HOST} Error: too many commands without authentication
      --- expect-close
    `)
  })

  test('closes an idle connection after commandTimeoutMs with 421 4.4.2', async (t) => {
    const h = connect(t, { limits: { commandTimeoutMs: 100 } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      S: 421 4.4.2 ${HOST} Error: timeout exceeded
      --- expect-close
    `)
    h.peer.end()
    await h.closed
  })

  test('a command line that trickles in a byte at a time still has to arrive within commandTimeoutMs', async (t) => {
    const h = connect(t, { limits: { commandTimeoutMs: 300 } })
    let received = ''
    h.peer.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    // One byte every 40 ms re-armed a per-read timeout for ever; the whole line gets 300 ms.
    const signal = AbortSignal.timeout(4000)
    while (!received.includes('421') && !signal.aborted) {
      h.peer.write('N')
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    assert.equal(received, `220 ${HOST} ESMTP ready\r\n421 4.4.2 ${HOST} Error: timeout exceeded\r\n`)
  })

  test('waiting for a slow reader to take its replies spends the command time, it does not add to it', async (t) => {
    // Replies pile up past maxPendingReplyBytes while the peer is paused, so the server waits for
    // them to drain before it reads on. That wait and the read after it share one
    // commandTimeoutMs: the read used to start with the whole timeout again, doubling it.
    const h = connect(t, { limits: { commandTimeoutMs: 1000, maxPendingReplyBytes: 1024 } })
    let received = ''
    h.peer.pause()
    h.peer.write('NOOP\r\n'.repeat(5000))
    await new Promise((resolve) => setTimeout(resolve, 800))
    const resumed = performance.now()
    h.peer.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    h.peer.resume()
    const signal = AbortSignal.timeout(4000)
    while (!received.includes('421') && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10))
    const waited = performance.now() - resumed
    assert.ok(received.endsWith(`421 4.4.2 ${HOST} Error: timeout exceeded\r\n`), received.slice(-200))
    // About 200 ms are left of the second; a fresh timeout would take 1000 ms from the drain.
    assert.ok(waited < 900, `the timeout came ${Math.round(waited)} ms after the replies drained`)
  })

  test('the greeting option sets the text after "220 <hostname> ESMTP"', async (t) => {
    const h = connect(t, { greeting: 'Welcome to the test relay' })
    await h.play(`
      S: 220 ${HOST} ESMTP Welcome to the test relay
      C: QUIT
      S: 221 2.0.0 ${HOST} closing connection
    `)
    assert.throws(() => connect(t, { greeting: 'two\r\nlines' }), /greeting must be one line of printable ASCII/)
  })

  test('a session factory that throws SmtpError replaces the greeting', async (t) => {
    const h = connect(t, {
      newSession: () => {
        throw new SmtpError(554, '5.7.1', 'No SMTP service for you')
      },
    })
    await h.play(`
      S: 554 5.7.1 No SMTP service for you
      --- expect-close
    `)
  })

  test('a session factory that fails otherwise gets 421 and goes to onError', async (t) => {
    const h = connect(t, {
      newSession: () => {
        throw new Error('database down')
      },
    })
    await h.play(`
      S: 421 4.3.0 ${HOST} Service not available
      --- expect-close
    `)
    assert.equal((h.errors[0] as Error).message, 'database down')
  })
})

describe('LMTP mode', () => {
  test('greets as LMTP, takes LHLO, and refuses EHLO and HELO', async (t) => {
    const h = connect(t, { lmtp: true })
    await h.play(`
      S: 220 ${HOST} LMTP ready
      C: EHLO client.example
      S: 500 5.5.2 Command unrecognized
      C: HELO client.example
      S: 500 5.5.2 Command unrecognized
      C: MAIL FROM:<a@example.test>
      S: 503 5.5.1 Send LHLO first
      C: LHLO client.example
      ${EHLO_REPLY}
    `)
  })
})

test('debug receives the transcript with AUTH data redacted', async (t) => {
  const lines: string[] = []
  const h = connect(t, { debug: (line) => lines.push(line), auth: () => true, insecureAuthWithoutTls: true, authMechanisms: ['LOGIN'] })
  await h.play(`
    S: 220 ${HOST} ESMTP ready
    C: AUTH LOGIN
    S: 503 5.5.1 Send EHLO/HELO first
    C: EHLO client.example
    ${ehloReplyWith('AUTH LOGIN')}
    C: AUTH LOGIN Ym9i
    S: 334 UGFzc3dvcmQ6
    C: c2VjcmV0
    S: 235 2.7.0 Authentication successful
  `)
  assert.deepEqual(lines, [
    `S: 220 ${HOST} ESMTP ready`,
    'C: AUTH LOGIN',
    'S: 503 5.5.1 Send EHLO/HELO first',
    'C: EHLO client.example',
    ...ehloReplyWith('AUTH LOGIN').split('\n').map((line) => line.trim()).filter((line) => line !== ''),
    'C: AUTH LOGIN <redacted>',
    'S: 334 UGFzc3dvcmQ6',
    'C: <redacted>',
    'S: 235 2.7.0 Authentication successful',
  ])
})
