import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ProtocolError } from '../../src/protocol/errors.ts'
import { formatReply, parseReply, ReplyParser, replyToError } from '../../src/protocol/reply.ts'

describe('reply parsing', () => {
  const rows: { input: string; code: number; enhanced: string | undefined; lines: string[] }[] = [
    { input: '220 mx.example.test ESMTP ready\r\n', code: 220, enhanced: undefined, lines: ['mx.example.test ESMTP ready'] },
    { input: '250 2.1.0 Ok\r\n', code: 250, enhanced: '2.1.0', lines: ['Ok'] },
    { input: '250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n', code: 250, enhanced: undefined, lines: ['mx', 'PIPELINING', 'SIZE 1000'] },
    { input: '550-5.1.1 No such\r\n550 5.1.1 user\r\n', code: 550, enhanced: '5.1.1', lines: ['No such', 'user'] },
    { input: '354\r\n', code: 354, enhanced: undefined, lines: [''] },
    // A class mismatch is not an enhanced code (RFC 2034 §4): it stays text.
    { input: '250 5.1.1 odd\r\n', code: 250, enhanced: undefined, lines: ['5.1.1 odd'] },
  ]
  for (const row of rows) {
    test(`parses ${JSON.stringify(row.input)}`, () => {
      const reply = parseReply(row.input)
      assert.equal(reply.code, row.code)
      assert.equal(reply.enhancedCode, row.enhanced)
      assert.deepEqual(reply.lines, row.lines)
    })
  }

  const bad = ['25 ok', '2500 ok', 'abc ok', '199 informational', '250_ok', '250-a\r\n251 b', '650 x', '']
  for (const input of bad) {
    test(`rejects malformed reply ${JSON.stringify(input)} with a ProtocolError`, () => {
      assert.throws(() => parseReply(input), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_REPLY')
    })
  }

  test('bounds the number of lines in one reply', () => {
    const parser = new ReplyParser({ maxLines: 3 })
    parser.push(Buffer.from('250-a'))
    parser.push(Buffer.from('250-b'))
    assert.throws(() => parser.push(Buffer.from('250-c')), /more than 3 lines/)
  })

  test('a negative reply becomes an SmtpError that reads like the transcript', () => {
    const err = replyToError(parseReply('550 5.1.1 No such user\r\n'), 'RCPT TO:<bob@example.com>')
    assert.equal(err.message, '550 5.1.1 No such user (RCPT TO:<bob@example.com>)')
    assert.equal(err.code, 550)
    assert.equal(err.enhancedCode, '5.1.1')
    assert.equal(err.permanent, true)
    assert.equal(err.temporary, false)
    assert.equal(err.command, 'RCPT TO:<bob@example.com>')
  })
})

describe('reply formatting', () => {
  test('puts the enhanced code on every line', () => {
    assert.equal(formatReply(250, '2.0.0', ['a', 'b']), '250-2.0.0 a\r\n250 2.0.0 b\r\n')
  })
  test('formats a single line without enhanced code', () => {
    assert.equal(formatReply(354, undefined, 'End data with <CR><LF>.<CR><LF>'), '354 End data with <CR><LF>.<CR><LF>\r\n')
  })
  test('refuses CR in reply text', () => {
    assert.throws(() => formatReply(250, undefined, 'a\rb'), TypeError)
    // An array line with an LF would inject an unframed reply line.
    assert.throws(() => formatReply(550, '5.7.1', ['a\nb']), TypeError)
  })

  test('format then parse gives back code, enhanced code and lines', () => {
    const line = fc.string({ maxLength: 60 }).filter((s) => !/[\r\n]/.test(s) && s === s.trim() && !/^\d\.\d+\.\d+/.test(s))
    fc.assert(
      fc.property(
        fc.constantFrom(211, 220, 250, 354, 421, 451, 550, 554),
        fc.boolean(),
        fc.array(line, { minLength: 1, maxLength: 5 }),
        (code, withEnhanced, lines) => {
          const cls = Math.floor(code / 100)
          const enhanced = withEnhanced && cls !== 3 ? (`${cls}.1.2` as const) : undefined
          const reply = parseReply(formatReply(code, enhanced as never, lines))
          assert.equal(reply.code, code)
          assert.equal(reply.enhancedCode, enhanced)
          assert.deepEqual(reply.lines, lines)
        },
      ),
    )
  })

  test('arbitrary bytes give a reply, nothing, or a ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), (lines) => {
        const parser = new ReplyParser({ maxLines: 4 })
        for (const line of lines) {
          try {
            parser.push(line)
          } catch (err) {
            assert.ok(err instanceof ProtocolError, String(err))
            return
          }
        }
      }),
    )
  })
})
