import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatCommand, parseCommand } from '../../src/protocol/command.ts'
import { ProtocolError } from '../../src/protocol/errors.ts'

describe('formatCommand', () => {
  test('joins verb and arguments and ends with CRLF', () => {
    assert.equal(formatCommand('MAIL', 'FROM:<a@b>', 'SIZE=10'), 'MAIL FROM:<a@b> SIZE=10\r\n')
    assert.equal(formatCommand('DATA'), 'DATA\r\n')
  })
  for (const evil of ['a\r\nRCPT TO:<x@y>', 'a\nb', 'a\rb', 'a\0b']) {
    test(`refuses an argument with ${JSON.stringify(evil)} (no command injection)`, () => {
      assert.throws(() => formatCommand('EHLO', evil), TypeError)
    })
  }
})

describe('parseCommand', () => {
  test('upper-cases the verb and keeps the arguments as sent', () => {
    assert.deepEqual(parseCommand(Buffer.from('mail FROM:<A@b> SIZE=1')), { verb: 'MAIL', args: 'FROM:<A@b> SIZE=1' })
    assert.deepEqual(parseCommand(Buffer.from('QUIT')), { verb: 'QUIT', args: '' })
  })
  test('decodes UTF-8 arguments', () => {
    assert.equal(parseCommand(Buffer.from('RCPT TO:<jösé@example.test>')).args, 'TO:<jösé@example.test>')
  })
  const bad: [string, Buffer][] = [
    ['an empty line', Buffer.from('')],
    ['a verb with digits', Buffer.from('MA1L FROM:<>')],
    ['a NUL', Buffer.from('MAIL FROM:<a\0@b>')],
    ['invalid UTF-8', Buffer.from([0x52, 0x43, 0x50, 0x54, 0x20, 0xff, 0xfe])],
  ]
  for (const [name, line] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseCommand(line), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_COMMAND')
    })
  }
})
