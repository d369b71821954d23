import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { HeaderBlockSplitter, parseHeaderFields, selectSignedFields } from '../../src/dkim/header-fields.ts'

function split(message: string, sizes: readonly number[], max?: number): { block: string; body: string } {
  const splitter = new HeaderBlockSplitter(max)
  const bytes = Buffer.from(message, 'latin1')
  const body: Buffer[] = []
  let offset = 0
  let index = 0
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[index++ % Math.max(sizes.length, 1)] ?? bytes.length)
    const chunk = bytes.subarray(offset, offset + size)
    offset += size
    if (splitter.block) body.push(chunk)
    else {
      const rest = splitter.push(chunk)
      if (rest) body.push(Buffer.from(rest))
    }
  }
  const block = splitter.block ?? splitter.end()
  return { block: block.toString('latin1'), body: Buffer.concat(body).toString('latin1') }
}

describe('HeaderBlockSplitter', () => {
  test('splits at the first empty line, keeping the last field\'s CRLF in the block', () => {
    assert.deepEqual(split('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n', []), { block: 'A: 1\r\nB: 2\r\n', body: 'body\r\n\r\n' })
  })
  test('a message starting with an empty line has an empty header block', () => {
    assert.deepEqual(split('\r\nbody', []), { block: '', body: 'body' })
  })
  test('a message without an empty line is all header', () => {
    assert.deepEqual(split('A: 1\r\nB: 2\r\n', []), { block: 'A: 1\r\nB: 2\r\n', body: '' })
  })
  test('bare LFs do not end the header block', () => {
    assert.deepEqual(split('A: 1\n\nB: 2\r\n\r\nx', []), { block: 'A: 1\n\nB: 2\r\n', body: 'x' })
  })
  test('property: any split of the message finds the same block and body', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('A: x', '\r\n', '\r', '\n', ' ', 'b'), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }),
        (pieces, sizes) => {
          const message = pieces.join('')
          assert.deepEqual(split(message, sizes), split(message, []))
        },
      ),
      { numRuns: 1000 },
    )
  })
  test('throws a RangeError naming maxHeaderBytes when the block is too large', () => {
    assert.throws(() => split(`X: ${'a'.repeat(100)}\r\n\r\n`, [10], 64), (err: unknown) => err instanceof RangeError && /maxHeaderBytes/.test(err.message))
  })
  test('copies header bytes, so a caller may reuse its chunk buffer', () => {
    const splitter = new HeaderBlockSplitter()
    const chunk = Buffer.from('A: 1\r\n')
    splitter.push(chunk)
    chunk.fill(0x21)
    splitter.push(Buffer.from('\r\n'))
    assert.equal(splitter.block!.toString(), 'A: 1\r\n')
  })
})

describe('parseHeaderFields', () => {
  test('joins continuation lines into their field and records the name', () => {
    const { fields, problem } = parseHeaderFields(Buffer.from('Subject: a\r\n b\r\nTo : x\r\n'))
    assert.equal(problem, undefined)
    assert.deepEqual(fields.map((f) => [f.name, f.key, f.raw.toString()]), [
      ['Subject', 'subject', 'Subject: a\r\n b\r\n'],
      ['To', 'to', 'To : x\r\n'],
    ])
  })
  test('adds the CRLF a last line lacks', () => {
    assert.equal(parseHeaderFields(Buffer.from('A: 1')).fields[0]!.raw.toString(), 'A: 1\r\n')
  })
  test('reports, and skips, a line that is not a field', () => {
    const { fields, problem } = parseHeaderFields(Buffer.from('A: 1\r\nnot a field\r\n: empty name\r\n'))
    assert.equal(fields.length, 1)
    assert.match(problem!, /line 2 is not a "name: value" field/)
  })
  test('reports a continuation line with no field before it', () => {
    assert.match(parseHeaderFields(Buffer.from(' folded: x\r\n')).problem!, /line 1/)
  })
})

describe('selectSignedFields', () => {
  const { fields } = parseHeaderFields(Buffer.from('Received: 1\r\nFrom: a\r\nReceived: 2\r\nSubject: s\r\n'))
  test('takes instances from the bottom up, each once (RFC 6376 §5.4.2)', () => {
    const picked = selectSignedFields(fields, ['received', 'Received', 'from'])
    assert.deepEqual(picked.map((f) => f.raw.toString()), ['Received: 2\r\n', 'Received: 1\r\n', 'From: a\r\n'])
  })
  test('a name listed more often than present selects nothing more (over-signing)', () => {
    const picked = selectSignedFields(fields, ['from', 'from', 'x-missing'])
    assert.deepEqual(picked.map((f) => f.raw.toString()), ['From: a\r\n'])
  })
})
