import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { encodeQuotedPrintable, QuotedPrintableEncoder, type QuotedPrintableMode } from '../../../src/message/encoding/quoted-printable.ts'

// A strict decoder for the tests: hard line breaks become CRLF, '=' must start '=XX' or a soft break.
function decode(encoded: string): Buffer {
  const out: number[] = []
  const lines = encoded.split('\r\n')
  for (const [index, line] of lines.entries()) {
    let body = line
    const soft = body.endsWith('=')
    if (soft) body = body.slice(0, -1)
    for (let i = 0; i < body.length; i++) {
      if (body[i] === '=') {
        assert.match(body.slice(i + 1, i + 3), /^[0-9A-F]{2}$/, `bad escape in ${JSON.stringify(line)}`)
        out.push(parseInt(body.slice(i + 1, i + 3), 16))
        i += 2
      } else {
        out.push(body.charCodeAt(i))
      }
    }
    if (!soft && index < lines.length - 1) out.push(13, 10)
  }
  return Buffer.from(out)
}

function encodeInChunks(bytes: Uint8Array, cuts: readonly number[], mode: QuotedPrintableMode): Buffer {
  const encoder = new QuotedPrintableEncoder({ mode })
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(encoder.update(bytes.subarray(at, cut)))
    at = cut
  }
  out.push(encoder.update(bytes.subarray(at)), encoder.final())
  return Buffer.concat(out)
}

// Text-like bytes: mostly ASCII with spaces, tabs, dots, '=', CR/LF mixes and some UTF-8.
const textBytes = fc
  .array(fc.oneof(fc.constantFrom(' ', '\t', '.', '=', '\r', '\n', '\r\n', 'é', '€', 'x'.repeat(80)), fc.string({ maxLength: 20 })), { maxLength: 40 })
  .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'utf8')))
const anyBytes = fc.oneof(textBytes, fc.uint8Array({ maxLength: 400 }))
const withCuts = anyBytes.chain((bytes) => fc.tuple(fc.constant(bytes), fc.array(fc.nat({ max: bytes.length }), { maxLength: 10 })))

const crlf = (bytes: Uint8Array): Buffer => Buffer.from(Buffer.from(bytes).toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1')

describe('QuotedPrintableEncoder', () => {
  test('leaves printable ASCII alone and encodes =, non-ASCII and control bytes as =XX', () => {
    assert.equal(encodeQuotedPrintable(Buffer.from('a=b é\x01')).toString(), 'a=3Db =C3=A9=01')
  })

  test('encodes whitespace before a line break or at the end, and keeps it elsewhere', () => {
    assert.equal(encodeQuotedPrintable(Buffer.from('a \r\nb\t\nc d ')).toString(), 'a=20\r\nb=09\r\nc d=20')
  })

  test('normalises CRLF, bare LF and bare CR to CRLF hard breaks in text mode', () => {
    assert.equal(encodeQuotedPrintable(Buffer.from('a\nb\rc\r\nd\r')).toString(), 'a\r\nb\r\nc\r\nd\r\n')
  })

  test('encodes CR and LF as data in binary mode', () => {
    assert.equal(encodeQuotedPrintable(Buffer.from('a\r\nb\n'), { mode: 'binary' }).toString(), 'a=0D=0Ab=0A')
  })

  test('encodes a dot at the start of a line', () => {
    assert.equal(encodeQuotedPrintable(Buffer.from('.\n..x\na.b')).toString(), '=2E\r\n=2E.x\r\na.b')
  })

  test('breaks long lines with soft breaks at 76 characters and never inside an escape', () => {
    const out = encodeQuotedPrintable(Buffer.from(`${'a'.repeat(74)}ééé${'b'.repeat(200)}`)).toString()
    for (const line of out.split('\r\n')) assert.ok(line.length <= 76, line)
    assert.ok(out.startsWith(`${'a'.repeat(74)}=\r\n=C3=A9`))
  })

  test('decodes back to the input with line breaks normalised (text) or exactly (binary)', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        assert.deepEqual(decode(encodeQuotedPrintable(bytes).toString('latin1')), crlf(bytes))
        assert.deepEqual(decode(encodeQuotedPrintable(bytes, { mode: 'binary' }).toString('latin1')), Buffer.from(bytes))
      }),
      { numRuns: 300 },
    )
  })

  test('gives the same output whatever way the input is split into chunks', () => {
    fc.assert(
      fc.property(withCuts, fc.constantFrom<QuotedPrintableMode>('text', 'binary'), ([bytes, cuts], mode) => {
        assert.deepEqual(encodeInChunks(bytes, cuts, mode), encodeQuotedPrintable(bytes, { mode }))
      }),
      { numRuns: 300 },
    )
  })

  test('never writes a line over 76 characters, trailing whitespace, a leading dot or "=_"', () => {
    fc.assert(
      fc.property(withCuts, fc.constantFrom<QuotedPrintableMode>('text', 'binary'), ([bytes, cuts], mode) => {
        const out = encodeInChunks(bytes, cuts, mode).toString('latin1')
        assert.ok(!out.includes('=_'))
        for (const line of out.split('\r\n')) {
          assert.ok(line.length <= 76, `line of ${line.length}`)
          assert.ok(!/[ \t]$/.test(line), `trailing whitespace in ${JSON.stringify(line)}`)
          assert.ok(!line.startsWith('.'), 'leading dot')
          assert.match(line, /^[\x20-\x7e\t]*$/)
        }
      }),
      { numRuns: 300 },
    )
  })
})

test('an encoded chunk holds only its own bytes, not the worst-case buffer it was written in', () => {
  const encoder = new QuotedPrintableEncoder()
  const out = encoder.update(Buffer.alloc(1 << 20, 'a'))
  // About 1 MiB of text with soft breaks; the worst case would have been 4 MiB + 16.
  assert.ok(out.length > 1 << 20)
  assert.ok(out.buffer.byteLength < 2 * out.length, `${out.buffer.byteLength} bytes held for ${out.length}`)
})
