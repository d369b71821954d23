import assert from 'node:assert/strict'
import { duplexPair } from 'node:stream'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Server } from '../../src/server/index.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { EHLO_REPLY, HOST, connect, readAll } from './harness.ts'

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('connection core', () => {
  test('stops reading commands while the peer leaves too many replies unread', async (t) => {
    const h = connect(t, { limits: { maxPendingReplyBytes: 4096 } })
    h.peer.pause()
    const burst = Buffer.from('NOOP\r\n'.repeat(2000))
    let accepted = 0
    for (let i = 0; i < 20; i++) h.peer.write(burst, () => (accepted += burst.length))
    await turns(100)
    // 20 bursts of 12000 bytes: without the cap the server would read all 240000.
    assert.ok(accepted < 100_000, `the server read ${accepted} bytes of commands while its replies went unread`)
    let replies = 0
    h.peer.on('data', (chunk: Buffer) => (replies += chunk.toString('latin1').split('250 2.0.0 OK\r\n').length - 1))
    h.peer.resume()
    const signal = AbortSignal.timeout(5000)
    while (replies < 40_000 && !signal.aborted) await turns(1)
    assert.equal(replies, 40_000)
  })

  test('ignores what a client sends after QUIT', async (t) => {
    const h = connect(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: QUIT
      C: MAIL FROM:<a@example.test>
      S: 221 2.0.0 ${HOST} closing connection
      --- expect-close
    `)
  })

  test('a client vanishing mid-message destroys the stream the data hook reads, and closes the session', async (t) => {
    const events: string[] = []
    const h = connect(t, {
      newSession: () => ({
        async data(message) {
          try {
            await readAll(message)
            events.push('complete')
          } catch (error) {
            events.push(`error ${(error as { code?: string }).code}`)
            throw error
          }
        },
        reset: () => void events.push('reset'),
        close: () => void events.push('close'),
      }),
    })
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
      C: half a message
      --- close
    `)
    await h.closed
    const signal = AbortSignal.timeout(2000)
    while (!events.includes('close') && !signal.aborted) await turns(1)
    assert.deepEqual(events, ['error ERR_SMTP_CONNECTION_CLOSED', 'reset', 'close'])
    assert.deepEqual(h.errors, [])
  })

  test('arbitrary bytes never crash the server or reach onError, and the connection ends with its peer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...['EHLO x\r\n', 'MAIL FROM:<a@b.test>\r\n', 'RCPT TO:<c@d.test>\r\n', 'DATA\r\n', 'BDAT 5\r\n', '.\r\n', '\r\n.\n', 'AUTH PLAIN\r\n', 'STARTTLS\r\n', 'RSET\r\n'].map((s) => Buffer.from(s)))), { maxLength: 20 }),
        async (chunks) => {
          const errors: unknown[] = []
          const server = new Server({ hostname: HOST, onError: (error) => errors.push(error), auth: () => false, insecureAuthWithoutTls: true, limits: { authFailureDelayMs: 0, maxMessageBytes: 200 } })
          const [serverSide, peer] = duplexPair()
          peer.resume()
          const closed = server.handle(serverSide)
          for (const chunk of chunks) peer.write(chunk)
          peer.end()
          let ended = false
          await Promise.race([closed.then(() => (ended = true)), new Promise((resolve) => setTimeout(resolve, 3000).unref())])
          serverSide.destroy()
          await server.close({ signal: AbortSignal.timeout(1000) })
          assert.deepEqual(errors, [])
          assert.equal(ended, true)
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('reply text', () => {
  test('is printable ASCII even when the reason has other characters (RFC 5321 §4.2)', async (t) => {
    const h = connect(t, {
      newSession: () => ({
        rcpt: () => {
          throw new SmtpError(550, '5.1.1', 'Unbekannter Empfänger\tdort')
        },
      }),
    })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test> NOTIFY=BOGUS
      S: 501 5.5.4 Syntax error in parameters: NOTIFY must be NEVER or a list of SUCCESS, FAILURE and DELAY without repeats (RFC 3461 section 4.1)
      C: RCPT TO:<b@example.test>
      S: 550 5.1.1 Unbekannter Empf?nger dort
    `)
  })
})
