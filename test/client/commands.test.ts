import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { mailCommand, rcptCommand } from '../../src/client/commands.ts'

const text = (line: string | Buffer): string => (typeof line === 'string' ? line : line.toString('utf8'))

describe('rcptCommand', () => {
  test('a recipient without parameters gets the same command every time, with the timeout asked for', () => {
    const first = rcptCommand('bob@example.test', {}, 300_000)
    const again = rcptCommand('bob@example.test', {}, 300_000)
    assert.equal(text(first.line), 'RCPT TO:<bob@example.test>\r\n')
    assert.equal(first.display, 'RCPT TO:<bob@example.test>')
    assert.equal(again, first)
    const shorter = rcptCommand('bob@example.test', {}, 5_000)
    assert.equal(shorter.timeoutMs, 5_000)
    assert.equal(text(shorter.line), 'RCPT TO:<bob@example.test>\r\n')
  })

  test('parameters are formatted for each call, and do not change the parameterless command', () => {
    const withNotify = rcptCommand('carol@example.test', { notify: ['FAILURE'] }, 300_000)
    assert.equal(text(withNotify.line), 'RCPT TO:<carol@example.test> NOTIFY=FAILURE\r\n')
    assert.equal(text(rcptCommand('carol@example.test', {}, 300_000).line), 'RCPT TO:<carol@example.test>\r\n')
  })

  test('an invalid address is a TypeError every time', () => {
    assert.throws(() => rcptCommand('not an address', {}, 300_000), TypeError)
    assert.throws(() => rcptCommand('not an address', {}, 300_000), TypeError)
  })
})

describe('mailCommand', () => {
  test('a sender with the same parameters gets the same command again; other parameters or a timeout make a new one', () => {
    const first = mailCommand('alice@example.test', { size: 2048 }, 300_000)
    assert.equal(text(first.line), 'MAIL FROM:<alice@example.test> SIZE=2048\r\n')
    assert.equal(first.display, 'MAIL FROM:<alice@example.test> SIZE=2048')
    assert.equal(mailCommand('alice@example.test', { size: 2048 }, 300_000), first)
    const other = mailCommand('alice@example.test', { size: 4096, body: '8BITMIME' }, 300_000)
    assert.equal(text(other.line), 'MAIL FROM:<alice@example.test> SIZE=4096 BODY=8BITMIME\r\n')
    assert.equal(text(mailCommand('alice@example.test', {}, 300_000).line), 'MAIL FROM:<alice@example.test>\r\n')
    assert.equal(mailCommand('alice@example.test', {}, 5_000).timeoutMs, 5_000)
    assert.equal(text(mailCommand('', { size: 1 }, 300_000).line), 'MAIL FROM:<> SIZE=1\r\n')
  })

  test('bad parameters are refused every time, whatever was sent before', () => {
    mailCommand('alice@example.test', { size: 10 }, 300_000)
    assert.throws(() => mailCommand('alice@example.test', { size: -1 }, 300_000), RangeError)
    assert.throws(() => mailCommand('alice@example.test', { envid: 'bad\r\nRSET' }, 300_000), TypeError)
    assert.throws(() => mailCommand('not an address', {}, 300_000), TypeError)
  })
})
