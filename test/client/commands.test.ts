import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { rcptCommand } from '../../src/client/commands.ts'

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
