import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ProtocolError } from '../../src/protocol/errors.ts'
import { LineSplitter } from '../../src/protocol/line-splitter.ts'
import { splitAt } from '../helpers/split-at.ts'

type Event = string | 'TOO_LONG' | 'BARE'

function run(chunks: readonly Buffer[], max = 16): Event[] {
  const splitter = new LineSplitter({ maxLineBytes: max })
  const events: Event[] = []
  for (const chunk of chunks) {
    splitter.push(chunk)
    for (;;) {
      try {
        const line = splitter.readLine()
        if (line === null) break
        events.push(line.toString('latin1'))
      } catch (err) {
        assert.ok(err instanceof ProtocolError)
        events.push(err.code === 'ERR_SMTP_LINE_TOO_LONG' ? 'TOO_LONG' : 'BARE')
      }
      assert.ok(splitter.bufferedBytes <= Math.max(max, chunk.length) + 1)
    }
  }
  return events
}


describe('LineSplitter', () => {
  test('splits CRLF lines and holds an unfinished line until its end arrives', () => {
    assert.deepEqual(run([Buffer.from('EHLO a\r\nMAIL FR'), Buffer.from('OM:<>\r\n')]), ['EHLO a', 'MAIL FROM:<>'])
  })
  test('treats everything up to the next CRLF after a bare LF as one bad line (no hidden command)', () => {
    assert.deepEqual(run([Buffer.from('NOOP\nMAIL FROM:<x>\nRCPT TO:<y>\r\nQUIT\r\n')]), ['BARE', 'QUIT'])
    assert.deepEqual(run([Buffer.from('NOOP\n'), Buffer.from('MAIL FROM:<x>\r'), Buffer.from('\nQUIT\r\n')]), ['BARE', 'QUIT'])
  })
  test('skips an overlong line up to its CRLF even when it holds bare LFs', () => {
    assert.deepEqual(run([Buffer.from('A'.repeat(40) + '\nMAIL FROM:<x>\r\nNOOP\r\n')]), ['TOO_LONG', 'NOOP'])
  })
  test('reports a bare CR inside a line', () => {
    assert.deepEqual(run([Buffer.from('NOOP\rQUIT\r\n')]), ['BARE'])
  })
  test('reports an overlong line once and skips the rest of it', () => {
    assert.deepEqual(run([Buffer.from('A'.repeat(40)), Buffer.from('B'.repeat(40)), Buffer.from('\r\nNOOP\r\n')]), ['TOO_LONG', 'NOOP'])
  })
  test('counts CRLF in the limit', () => {
    assert.deepEqual(run([Buffer.from('123456789012345\r\n')]), ['TOO_LONG'])
    assert.deepEqual(run([Buffer.from('12345678901234\r\n')]), ['12345678901234'])
  })
  test('hands back unread bytes for a change of mode', () => {
    const s = new LineSplitter({ maxLineBytes: 100 })
    s.push(Buffer.from('STARTTLS\r\nEHLO evil\r\n'))
    assert.equal(s.readLine()?.toString(), 'STARTTLS')
    assert.equal(s.takeBuffered().toString(), 'EHLO evil\r\n')
    assert.equal(s.readLine(), null)
  })
  test('any split of the input into chunks gives the same lines and errors', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '\r', '\n', '\r\n', 'xxxxxxxx'), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (parts, cuts) => {
          const input = Buffer.from(parts.join(''))
          assert.deepEqual(run(splitAt(input, cuts)), run([input]))
        },
      ),
    )
  })
  test('buffered bytes stay bounded whatever the peer sends', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (chunks) => {
        run(chunks.map((c) => Buffer.from(c)))
      }),
    )
  })
})
