import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Base64Decoder, IdentityDecoder, QuotedPrintableDecoder, type BodyDecoder } from '../../../src/message/parse/body-decoders.ts'
import { splitAt } from '../../helpers/split-at.ts'

function decodeAll(decoder: BodyDecoder, pieces: readonly Uint8Array[]): Buffer {
  return Buffer.concat([...pieces.map((piece) => decoder.update(piece)), decoder.end()])
}

describe('Base64Decoder', () => {
  test('property: any line length, line end and chunking decode to the original bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 200 }), fc.constantFrom('\r\n', '\n'), fc.array(fc.nat(), { maxLength: 8 }), (bytes, width, lineEnd, cuts) => {
        const encoded = Buffer.from(`${(Buffer.from(bytes).toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(lineEnd)}${lineEnd}`)
        assert.deepEqual(decodeAll(new Base64Decoder(), splitAt(encoded, cuts)), Buffer.from(bytes))
      }),
      { numRuns: 300 },
    )
  })

  test('a chunk of many lines (decoded natively, in slices) gives the exact bytes', () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24))
    const encoded = Buffer.from(`${bytes.toString('base64').match(/.{1,76}/g)!.join('\r\n')}\r\n`)
    assert.deepEqual(decodeAll(new Base64Decoder(), [encoded]), bytes)
    assert.deepEqual(decodeAll(new Base64Decoder(), splitAt(encoded, [77, 150_001])), bytes)
  })

  test('property: lines of the regular shape with stray characters in them decode as byte by byte', () => {
    // Such lines reach the native decoder, which skips the strays; a quantum split across lines
    // must still carry over (a stray CR in one line once made the parse depend on chunking).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_'
    const char = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...alphabet) }, { weight: 1, arbitrary: fc.constantFrom('\r', ' ', '\t', '*', '.', 'é') })
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.array(char, { minLength: 80, maxLength: 80 }), { minLength: 1, maxLength: 40 }), fc.constantFrom('\r\n', '\n'), (quanta, lines, lineEnd) => {
        const width = quanta * 4
        // An open line after them: what the lines leave of a quantum must reach it.
        const encoded = Buffer.from(`\r\n${lines.map((line) => line.join('').slice(0, width) + lineEnd).join('')}QUJDRA`, 'latin1')
        const byteByByte = decodeAll(new Base64Decoder(), splitAt(encoded, Array.from({ length: encoded.length }, (_, i) => i)))
        assert.deepEqual(decodeAll(new Base64Decoder(), [encoded]), byteByByte)
      }),
      { numRuns: 500 },
    )
  })

  test('garbage, spaces, base64url letters and missing padding are tolerated', () => {
    assert.equal(decodeAll(new Base64Decoder(), [Buffer.from(' aGVs\r\n bG8g*!\r\nd29y bGQ=')]).toString(), 'hello world')
    assert.equal(decodeAll(new Base64Decoder(), [Buffer.from('-_8')]).toString('hex'), 'fbff')
    assert.equal(decodeAll(new Base64Decoder(), [Buffer.from('YQ==YmM=')]).toString(), 'abc')
  })
})

describe('QuotedPrintableDecoder', () => {
  const cases: [string, string][] = [
    ['caf=C3=A9', 'café'],
    ['lower =c3=a9 case', 'lower é case'],
    ['soft=\r\nbreak', 'softbreak'],
    ['soft with space= \t\r\nbreak', 'soft with spacebreak'],
    ['keep space =\r\nbefore', 'keep space before'],
    ['trailing   \r\nspace', 'trailing\r\nspace'],
    ['bare\nline ends\rmade CRLF', 'bare\r\nline ends\r\nmade CRLF'],
    ['stray = sign and =ZZ', 'stray = sign and =ZZ'],
  ]
  for (const [input, output] of cases) {
    test(`${JSON.stringify(input)} decodes to ${JSON.stringify(output)}`, () => {
      assert.equal(decodeAll(new QuotedPrintableDecoder(), [Buffer.from(input)]).toString(), output)
    })
  }

  test('property: any chunking gives the same output, also for lines longer than the 64 KiB it holds back', () => {
    // Such a line is decoded before its end arrives; where it is cut must not split "=XX" or
    // leave a "=" or trailing whitespace without what follows.
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a'.repeat(30_000), '=', '=41', '=4', ' ', '\t', 'bc', '=\r\n', '\r\n'), { maxLength: 20 }), fc.array(fc.nat({ max: 300_000 }), { maxLength: 6 }), (pieces, cuts) => {
        const input = Buffer.from(pieces.join(''))
        assert.deepEqual(decodeAll(new QuotedPrintableDecoder(), splitAt(input, cuts)), decodeAll(new QuotedPrintableDecoder(), [input]))
      }),
      { numRuns: 200 },
    )
  })

  test('property: any chunking gives the same output', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', ' ', '\t', '=', '=3D', '=\r\n', '\r\n', '\n', '\r', '=C3', '=a9', 'é'), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
        const input = Buffer.from(pieces.join(''))
        assert.deepEqual(decodeAll(new QuotedPrintableDecoder(), splitAt(input, cuts)), decodeAll(new QuotedPrintableDecoder(), [input]))
      }),
      { numRuns: 500 },
    )
  })
})

describe('decoding into one buffer', () => {
  // What parseMessage does for a kept body: every chunk decoded at the end of one buffer, with
  // exactly the room maxDecodedLength promises and the bytes after it poisoned.
  function decodeInto(decoder: BodyDecoder, pieces: readonly Uint8Array[]): Buffer {
    const out = Buffer.alloc(pieces.reduce((sum, piece) => sum + decoder.maxDecodedLength(piece.length), decoder.maxDecodedLength(0)) * 2 + 16, 0xee)
    let at = 0
    for (const piece of pieces) {
      const room = decoder.maxDecodedLength(piece.length)
      const end = decoder.updateInto(piece, out.subarray(0, at + room), at)
      assert.ok(end <= at + room, 'stays within the room it asked for')
      at = end
    }
    at = decoder.endInto(out.subarray(0, at + decoder.maxDecodedLength(0)), at)
    return out.subarray(0, at)
  }

  const encodings = { 'base64': () => new Base64Decoder(), 'quoted-printable': () => new QuotedPrintableDecoder(), 'identity': () => new IdentityDecoder() }
  for (const [name, create] of Object.entries(encodings)) {
    test(`property (${name}): the same bytes as chunk by chunk, for any input and chunking`, () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom('QUJD', 'ZA==', 'YQ', '=', '=3D', '=\r\n', '\r\n', '\n', '\r', ' ', '\t', '-_', '*', 'é', '=C3'), { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
          const input = splitAt(Buffer.from(pieces.join('')), cuts)
          assert.deepEqual(decodeInto(create(), input), decodeAll(create(), input))
        }),
        { numRuns: 300 },
      )
    })
  }
})
