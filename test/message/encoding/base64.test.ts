import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Base64Encoder, encodeBase64 } from '../../../src/message/encoding/base64.ts'

function encodeInChunks(bytes: Uint8Array, cuts: readonly number[]): Buffer {
  const encoder = new Base64Encoder()
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(encoder.update(bytes.subarray(at, cut)))
    at = cut
  }
  out.push(encoder.update(bytes.subarray(at)), encoder.final())
  return Buffer.concat(out)
}

const bytesAndCuts = fc.uint8Array({ maxLength: 600 }).chain((bytes) => fc.tuple(fc.constant(bytes), fc.array(fc.nat({ max: bytes.length }), { maxLength: 12 })))

describe('Base64Encoder', () => {
  test('writes lines of exactly 76 characters joined by CRLF, the last possibly shorter, with no trailing CRLF', () => {
    const out = encodeBase64(Buffer.alloc(57 * 3 + 10, 0xab)).toString('latin1')
    const lines = out.split('\r\n')
    assert.deepEqual(lines.map((line) => line.length), [76, 76, 76, 16])
    assert.ok(!out.endsWith('\r\n'))
  })

  test('encodes empty input as nothing and exact multiples of a line without a short last line', () => {
    assert.equal(encodeBase64(new Uint8Array(0)).length, 0)
    assert.deepEqual(encodeBase64(Buffer.alloc(114, 1)).toString('latin1').split('\r\n').map((line) => line.length), [76, 76])
  })

  test('decodes back to the input for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        assert.deepEqual(new Uint8Array(Buffer.from(encodeBase64(bytes).toString('latin1'), 'base64')), bytes)
      }),
      { numRuns: 200 },
    )
  })

  test('gives the same output whatever way the input is split into chunks', () => {
    fc.assert(
      fc.property(bytesAndCuts, ([bytes, cuts]) => {
        assert.deepEqual(encodeInChunks(bytes, cuts), encodeBase64(bytes))
      }),
      { numRuns: 300 },
    )
  })

  test('writes Node\'s base64 of the input cut into 76-character lines, for chunks that are plain Uint8Arrays too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }), (bytes, sizes) => {
        const encoder = new Base64Encoder()
        const out: Buffer[] = []
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = sizes[i % sizes.length]!
          // A view into a larger ArrayBuffer, at an offset, as a chunk of a bigger read would be.
          const chunk = new Uint8Array(size + 8)
          chunk.set(bytes.subarray(at, at + size), 3)
          out.push(encoder.update(chunk.subarray(3, 3 + Math.min(size, bytes.length - at))))
          at += size
        }
        out.push(encoder.final())
        const expected = (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
        assert.equal(Buffer.concat(out).toString('latin1'), expected)
      }),
      { numRuns: 300 },
    )
  })

  test('every line but the last is 76 characters of the base64 alphabet', () => {
    fc.assert(
      fc.property(bytesAndCuts, ([bytes, cuts]) => {
        const lines = encodeInChunks(bytes, cuts).toString('latin1').split('\r\n')
        for (const [index, line] of lines.entries()) {
          assert.match(line, /^[A-Za-z0-9+/]*={0,2}$/)
          if (index < lines.length - 1) assert.equal(line.length, 76)
          else assert.ok(line.length <= 76)
        }
      }),
      { numRuns: 200 },
    )
  })

  test('does not keep a reference to the caller\'s buffer between calls', () => {
    const encoder = new Base64Encoder()
    const chunk = Buffer.from('abcd')
    encoder.update(chunk)
    chunk.fill(0)
    assert.equal(encoder.final().toString('latin1'), Buffer.from('abcd').toString('base64'))
  })

  test('refuses update() after final()', () => {
    const encoder = new Base64Encoder()
    encoder.final()
    assert.throws(() => encoder.update(Buffer.from('x')), /after final/)
  })
})
