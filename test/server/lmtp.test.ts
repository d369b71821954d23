import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SmtpError } from '../../src/protocol/errors.ts'
import type { DataResult } from '../../src/server/index.ts'
import { EHLO_REPLY, HOST, connect, readAll } from './harness.ts'

const START = `
  S: 220 ${HOST} LMTP ready
  C: LHLO client.example
  ${EHLO_REPLY}
  C: MAIL FROM:<a@example.test>
  S: 250 2.1.0 Sender OK
  C: RCPT TO:<one@example.test>
  S: 250 2.1.5 Recipient OK
  C: RCPT TO:<nobody@example.test>
  S: 550 5.1.1 No such user
  C: RCPT TO:<two@example.test>
  S: 250 2.1.5 Recipient OK
  C: RCPT TO:<three@example.test>
  S: 250 2.1.5 Recipient OK`

function lmtp(result: (body: Buffer) => DataResult) {
  return {
    lmtp: true,
    newSession: () => ({
      rcpt(to: string) {
        if (to === 'nobody@example.test') throw new SmtpError(550, '5.1.1', 'No such user')
      },
      async data(message: AsyncIterable<Buffer>) {
        return result(await readAll(message))
      },
    }),
  }
}

describe('LMTP (RFC 2033)', () => {
  test('sends one reply per accepted recipient, in order, from the hook\'s array', async (t) => {
    const h = connect(t, lmtp(() => [undefined, new SmtpError(452, '4.2.2', 'Mailbox full'), 'Saved as 7']))
    await h.play(`${START}
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: hi
      C: .
      S: 250 2.0.0 <one@example.test> Delivered
      S: 452 4.2.2 Mailbox full
      S: 250 2.0.0 <three@example.test> Saved as 7
    `)
  })

  test('applies a single result to every recipient, after BDAT LAST too', async (t) => {
    const h = connect(t, lmtp(() => 'OK'))
    await h.play(`${START}
      C: BDAT 2 LAST
      C: hi\\
      S: 250 2.0.0 <one@example.test> OK
      S: 250 2.0.0 <two@example.test> OK
      S: 250 2.0.0 <three@example.test> OK
    `)
  })

  test('a hook error or a size failure goes to every recipient', async (t) => {
    const h = connect(t, {
      ...lmtp(() => {
        throw new SmtpError(451, '4.3.0', 'Try later')
      }),
    })
    await h.play(`${START}
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: .
      S: 451 4.3.0 Try later
      S: 451 4.3.0 Try later
      S: 451 4.3.0 Try later
    `)
  })

  test('a short array fails the recipients it leaves out with 451, and reports it', async (t) => {
    const h = connect(t, lmtp(() => ['ok']))
    await h.play(`${START}
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: .
      S: 250 2.0.0 <one@example.test> ok
      S: 451 4.3.0 Local error in processing
      S: 451 4.3.0 Local error in processing
    `)
    assert.match((h.errors[0] as Error).message, /returned 1 results for 3 recipients/)
  })
})
