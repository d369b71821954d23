// SMTP smuggling (SEC Consult, December 2023): an attacker ends the message with a line ending
// that one server takes for CRLF.CRLF and the next does not, so the text after it runs as a
// second transaction. Every variant must stay message text here: no second MAIL, no second
// message; rejected by default, normalised (and still one message) with insecureAcceptBareLineEndings.
import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import type { SmtpError } from '../../src/protocol/errors.ts'
import type { ServerOptions } from '../../src/server/index.ts'
import { EHLO_REPLY, HOST, UP_TO_DATA, connect, readAll } from './harness.ts'

// What stands between the first message and the smuggled commands, each in place of CRLF.CRLF.
const LINE_ENDINGS = ['\r\n', '\n', '\r']
const BARE_VARIANTS = LINE_ENDINGS.flatMap((before) => LINE_ENDINGS.map((after) => `${before}.${after}`)).filter((v) => v !== '\r\n.\r\n')
const OTHER_VARIANTS = [
  '\r\n.\r\r\n', // CR CR LF after the dot
  '\r\r\n.\r\r\n',
  '\n..\n', // a "stuffed" dot after bare LFs
  '\r\n..\n',
  '\r\n.\x00\r\n', // NUL tricks: a relay that drops NULs would see CRLF.CRLF
  '\r\n\x00.\r\n',
  '\r\n.\x00\n',
]
const VARIANTS = [...BARE_VARIANTS, ...OTHER_VARIANTS]
const SMUGGLED = 'MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n'

function show(bytes: string): string {
  return JSON.stringify(bytes).replaceAll('\\u0000', '\\0')
}

function counting(t: TestContext, options: ServerOptions = {}) {
  const seen = { mails: [] as string[], datas: 0, bodies: [] as Buffer[], streamErrors: [] as unknown[] }
  const h = connect(t, {
    ...options,
    newSession: () => ({
      mail(from) {
        seen.mails.push(from)
      },
      async data(message) {
        seen.datas++
        try {
          seen.bodies.push(await readAll(message))
        } catch (error) {
          seen.streamErrors.push(error)
          throw error
        }
      },
    }),
  })
  return { h, seen }
}

async function sendAttack(h: ReturnType<typeof counting>['h'], variant: string, byteByByte: boolean): Promise<void> {
  await h.play(UP_TO_DATA)
  const bytes = Buffer.from(`Subject: first\r\n\r\nhello${variant}${SMUGGLED}.\r\nNOOP\r\n`, 'latin1')
  if (byteByByte) for (let i = 0; i < bytes.length; i++) h.peer.write(bytes.subarray(i, i + 1))
  else h.peer.write(bytes)
}

describe('SMTP smuggling', () => {
  for (const variant of VARIANTS) {
    const hasNul = variant.includes('\x00')
    const hasBare = /\r(?!\n)|(?<!\r)\n/.test(variant)
    const reason = hasBare ? 'Message contains a bare LF or CR; use CRLF line endings' : 'Message contains a NUL octet, which DATA cannot carry'
    const nulReason = 'Message contains a NUL octet, which DATA cannot carry'
    for (const byteByByte of [false, true]) {
      test(`${show(variant)} ${byteByByte ? 'sent byte by byte ' : ''}runs no smuggled command, and the message is rejected`, async (t) => {
        const { h, seen } = counting(t)
        await sendAttack(h, variant, byteByByte)
        // One reply for the whole message, then the NOOP: nothing in between ran as a command.
        await h.play(`
          S: 554 5.6.0 ${reason}
          S: 250 2.0.0 OK
        `)
        assert.deepEqual(seen.mails, ['a@example.test'])
        assert.equal(seen.datas, 1)
        assert.equal(seen.bodies.length, 0)
        assert.equal((seen.streamErrors[0] as SmtpError).code, 554)
      })
    }

    test(`${show(variant)} with insecureAcceptBareLineEndings ${hasNul ? 'is still rejected for its NUL' : 'is normalised into the one message'}, and no smuggled command runs`, async (t) => {
      const { h, seen } = counting(t, { insecureAcceptBareLineEndings: true })
      await sendAttack(h, variant, false)
      await h.play(`
        S: ${hasNul ? `554 5.6.0 ${nulReason}` : '250 2.0.0 Message accepted'}
        S: 250 2.0.0 OK
      `)
      assert.deepEqual(seen.mails, ['a@example.test'])
      assert.equal(seen.datas, 1)
      if (hasNul) return assert.equal(seen.bodies.length, 0)
      const body = seen.bodies[0]!.toString('latin1')
      assert.ok(body.startsWith('Subject: first\r\n\r\nhello'))
      assert.ok(body.endsWith(SMUGGLED), 'the smuggled commands are message text')
      assert.doesNotMatch(body, /\r(?!\n)|(?<!\r)\n/, 'every line ending is CRLF')
    })
  }

  // BDAT has no terminator to fake, but a message stored with `\n.\n`, NUL or bare CR in it is
  // re-emitted by any relay that forwards the file over DATA: the same rules hold for BDAT.
  const BDAT_OPEN = (body: string): string => `
    S: 220 ${HOST} ESMTP ready
    C: EHLO client.example
    ${EHLO_REPLY}
    C: MAIL FROM:<a@example.test> BODY=${body}
    S: 250 2.1.0 Sender OK
    C: RCPT TO:<b@example.test>
    S: 250 2.1.5 Recipient OK`
  for (const body of ['7BIT', '8BITMIME']) {
    for (const variant of VARIANTS) {
      const hasBare = /\r(?!\n)|(?<!\r)\n/.test(variant)
      const reason = hasBare ? 'Message contains a bare LF or CR; use CRLF line endings' : 'Message contains a NUL octet, which only BODY=BINARYMIME can carry'
      test(`BDAT with BODY=${body}: ${show(variant)} is refused as DATA refuses it`, async (t) => {
        const { h, seen } = counting(t)
        await h.play(BDAT_OPEN(body))
        const message = `Subject: first\r\n\r\nhello${variant}${SMUGGLED}`
        h.peer.write(`BDAT ${message.length} LAST\r\n${message}NOOP\r\n`, 'latin1')
        await h.play(`
          S: 554 5.6.0 ${reason}
          S: 250 2.0.0 OK
        `)
        assert.equal(seen.bodies.length, 0)
        assert.equal((seen.streamErrors[0] as SmtpError).code, 554)
      })
    }
  }

  test('BDAT: a bare CR split across chunks, or ending the last one, is seen', async (t) => {
    const { h, seen } = counting(t)
    await h.play(`${BDAT_OPEN('8BITMIME')}
      C: BDAT 2
      C: a\\r\\
      S: 250 2.0.0 2 octets received
      C: BDAT 3 LAST
      C: .\\r\\n\\
      S: 554 5.6.0 Message contains a bare LF or CR; use CRLF line endings
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: BDAT 3 LAST
      C: ab\\r\\
      S: 554 5.6.0 Message contains a bare LF or CR; use CRLF line endings
    `)
    assert.equal(seen.bodies.length, 0)
  })

  test('BDAT with BODY=BINARYMIME carries NUL, bare CR and bare LF as they are', async (t) => {
    const { h, seen } = counting(t)
    await h.play(`${BDAT_OPEN('BINARYMIME')}
      C: BDAT 6 LAST
      C: \\n.\\n\\0\\r\\x00\\
      S: 250 2.0.0 Message accepted
    `)
    assert.deepEqual([...seen.bodies[0]!], [0x0a, 0x2e, 0x0a, 0x00, 0x0d, 0x00])
  })

  test('BDAT with insecureAcceptBareLineEndings normalises bare line endings, as DATA does', async (t) => {
    const { h, seen } = counting(t, { insecureAcceptBareLineEndings: true })
    await h.play(`${BDAT_OPEN('8BITMIME')}
      C: BDAT 9 LAST
      C: a\\nb\\rc\\r\\nd\\r\\
      S: 250 2.0.0 Message accepted
    `)
    assert.equal(seen.bodies[0]!.toString('latin1'), 'a\r\nb\r\nc\r\nd\r\n')
  })

  test('BDAT with a finite maxTextLineBytes refuses a longer line, as DATA does', async (t) => {
    const { h } = counting(t, { limits: { maxTextLineBytes: 10 } })
    await h.play(`${BDAT_OPEN('7BIT')}
      C: BDAT 13 LAST
      C: ${'x'.repeat(11)}\\r\\n\\
      S: 554 5.6.0 Message has a line longer than 10 octets
    `)
  })

  test('a bare LF or CR cannot split a command line either', async (t) => {
    const { h, seen } = counting(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: NOOP\\nMAIL FROM:<evil@example.test>
      S: 500 5.5.2 Bare LF or CR in command; use CRLF line endings
      C: NOOP\\rMAIL FROM:<evil@example.test>
      S: 500 5.5.2 Bare LF or CR in command; use CRLF line endings
      C: NOOP
      S: 250 2.0.0 OK
    `)
    assert.deepEqual(seen.mails, [])
  })
})
