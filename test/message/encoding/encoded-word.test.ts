import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { encodeWords } from '../../../src/message/encoding/encoded-word.ts'

// Decodes words joined by whitespace (dropped between encoded-words, RFC 2047 §6.2).
function decodeWords(words: readonly string[]): string {
  const bytes = words.map((word) => {
    const match = /^=\?UTF-8\?([QB])\?([^?]*)\?=$/.exec(word)
    assert.ok(match, `not an encoded-word: ${word}`)
    if (match[1] === 'B') return Buffer.from(match[2]!, 'base64')
    return Buffer.from(match[2]!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1')
  })
  return Buffer.concat(bytes).toString('utf8')
}

const unicode = fc.string({ unit: 'binary', maxLength: 120 }).filter((text) => !/[\ud800-\udfff]/u.test(text))

describe('encodeWords', () => {
  test('uses Q for mostly-ASCII text and B for mostly non-ASCII text', () => {
    assert.deepEqual(encodeWords('Gruß Welt und so'), ['=?UTF-8?Q?Gru=C3=9F_Welt_und_so?='])
    assert.deepEqual(encodeWords('日本語のテキスト'), ['=?UTF-8?B?5pel5pys6Kqe44Gu44OG44Kt44K544OI?='])
  })

  test('gives no words for empty text', () => {
    assert.deepEqual(encodeWords(''), [])
  })

  test('decodes back to the input for any Unicode text', () => {
    fc.assert(
      fc.property(unicode, (text) => {
        assert.equal(decodeWords(encodeWords(text)), text)
      }),
      { numRuns: 300 },
    )
  })

  test('keeps every word within the length limit and every word valid UTF-8 on its own', () => {
    fc.assert(
      // Without U+FFFD in the input, a U+FFFD after decoding can only mean a split character.
      fc.property(unicode.filter((text) => !text.includes('\ufffd')), fc.integer({ min: 24, max: 75 }), (text, maxLength) => {
        for (const word of encodeWords(text, { maxLength })) {
          assert.ok(word.length <= maxLength, `${word.length} > ${maxLength}`)
          // Each word decodes on its own, so no character is split across words.
          assert.doesNotMatch(decodeWords([word]), /\ufffd/u)
        }
      }),
      { numRuns: 300 },
    )
  })

  test('uses only characters allowed in a phrase in Q words (RFC 2047 §5 rule 3)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        for (const word of encodeWords(text)) {
          if (word.startsWith('=?UTF-8?Q?')) assert.match(word.slice(10, -2), /^[A-Za-z0-9!*+\-/=_]*$/)
        }
      }),
      { numRuns: 200 },
    )
  })

  test('caps the word length at 75 whatever is asked', () => {
    for (const word of encodeWords('é'.repeat(200), { maxLength: 500 })) assert.ok(word.length <= 75)
  })
})
