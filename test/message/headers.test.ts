import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { assertHeaderName, assertHeaderText, foldHeader, formatDate, formatUnstructured, parseMessageId, parseMessageIds, unfoldValue } from '../../src/message/headers.ts'

const ENCODED_WORD = /^=\?UTF-8\?([QB])\?([^?]*)\?=$/

function decodeWord(word: string): string | undefined {
  const match = ENCODED_WORD.exec(word)
  if (!match) return undefined
  if (match[1] === 'B') return Buffer.from(match[2]!, 'base64').toString('utf8')
  return Buffer.from(match[2]!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
}

// RFC 5322 §2.2.3 unfolding, then RFC 2047 §6.2: whitespace between two encoded-words goes.
function decodeUnstructured(field: string): string {
  const parts = unfoldValue(field).split(/( +)/)
  let out = ''
  let previousEncoded = false
  for (let i = 0; i < parts.length; i += 2) {
    const space = i > 0 ? parts[i - 1]! : ''
    const decoded = decodeWord(parts[i]!)
    out += previousEncoded && decoded !== undefined ? '' : space
    out += decoded ?? parts[i]!
    previousEncoded = decoded !== undefined
  }
  return out
}

// Header-safe text: any Unicode but CR, LF, NUL and lone surrogates; spaces are frequent.
const headerText = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom(' ', '  ', '=?', '?=', 'é', '\t', 'x'.repeat(120), 'word')), { maxLength: 30 })
  .map((parts) => parts.join('').replace(/[\x00-\x08\x0a-\x1f\x7f]|[\ud800-\udfff]/gu, ''))

describe('formatUnstructured', () => {
  test('writes ASCII text as it is and folds it at spaces before 78 octets', () => {
    const subject = 'This subject is long enough that it has to be folded onto a second line by the writer'
    const field = formatUnstructured('Subject', subject, { smtpUtf8: false })
    assert.equal(field, 'Subject: This subject is long enough that it has to be folded onto a second\r\n line by the writer')
  })

  test('encodes only the words that need it, carrying the spaces between them inside the encoded-words', () => {
    assert.equal(formatUnstructured('Subject', 'Re: Grüße aus Köln', { smtpUtf8: false }), 'Subject: Re: =?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=')
    assert.equal(formatUnstructured('Subject', 'Re: Zoë  Ünal', { smtpUtf8: false }), 'Subject: Re: =?UTF-8?B?Wm/DqyAgw5xuYWw=?=')
  })

  test('writes raw UTF-8 with smtpUtf8', () => {
    assert.equal(formatUnstructured('Subject', 'Grüße aus Köln', { smtpUtf8: true }), 'Subject: Grüße aus Köln')
  })

  test('encodes leading, trailing and repeated spaces, tabs and text that looks like an encoded-word, so they survive', () => {
    for (const value of [' lead', 'trail ', 'two  spaces', 'tab\there', '=?UTF-8?Q?abc?=']) {
      const field = formatUnstructured('Subject', value, { smtpUtf8: false })
      assert.match(field, /=\?UTF-8\?/)
      assert.equal(decodeUnstructured(field), value)
    }
  })

  test('refuses CR, LF and NUL, the characters that could inject a header', () => {
    for (const value of ['a\r\nBcc: x@y', 'a\nb', 'a\rb', 'a\0b']) {
      assert.throws(() => formatUnstructured('Subject', value, { smtpUtf8: false }), TypeError)
    }
  })

  test('refuses other control characters but tab', () => {
    for (const value of ['a\x01b', 'a\x7fb', 'a\x1bb']) assert.throws(() => formatUnstructured('Subject', value, { smtpUtf8: false }), /must not contain control characters/)
  })

  test('refuses lone surrogates', () => {
    assert.throws(() => formatUnstructured('Subject', 'a\ud800b', { smtpUtf8: false }), /well-formed Unicode/)
  })

  test('decodes back to any text, with lines of at most 78 octets unless one word is longer, and never over 998', () => {
    fc.assert(
      fc.property(headerText, fc.boolean(), (text, smtpUtf8) => {
        const field = formatUnstructured('Subject', text, { smtpUtf8 })
        assert.equal(decodeUnstructured(field), text)
        for (const line of field.split('\r\n')) {
          const octets = Buffer.byteLength(line)
          assert.ok(octets <= 998)
          // Only SP and HTAB fold (RFC 5322 §2.2.3); U+3000 and U+00A0 are part of a word.
          const words = line.startsWith('Subject: ') ? line.slice('Subject: '.length) : line.slice(1)
          if (octets > 78) assert.ok(!/[ \t]/.test(words), `foldable line of ${octets} octets: ${line}`)
        }
        if (!smtpUtf8) assert.match(field, /^[\x20-\x7e\r\n]*$/)
      }),
      { numRuns: 300 },
    )
  })
})

describe('foldHeader', () => {
  test('keeps the first piece on the name line and never splits a piece', () => {
    const long = 'x'.repeat(100)
    assert.equal(foldHeader('X-Long', [long, 'tail']), `X-Long: ${long}\r\n tail`)
  })
})

describe('assertHeaderName and assertHeaderText', () => {
  test('accept field names of printable ASCII without colon', () => {
    assert.doesNotThrow(() => assertHeaderName('X-Custom_Header.1'))
  })
  test('refuse names with colon, space, control characters, non-ASCII or over 76 characters', () => {
    for (const name of ['X:Y', 'X Y', 'X\r\nY', 'Ü', '', 'X'.repeat(77)]) assert.throws(() => assertHeaderName(name), TypeError, name)
  })
  test('refuse non-strings', () => {
    assert.throws(() => assertHeaderText(5, 'subject'), /subject must be a string/)
  })
})

describe('message identifiers', () => {
  test('are accepted with or without angle brackets', () => {
    assert.equal(parseMessageId('abc.def@example.test', 'messageId'), '<abc.def@example.test>')
    assert.equal(parseMessageId('<abc@[127.0.0.1]>', 'messageId'), '<abc@[127.0.0.1]>')
  })
  test('are refused when malformed or when they try to inject', () => {
    for (const id of ['no-at-sign', '<a@b', 'a b@c', '<a@b>\r\nBcc: x@y', 'a@b>']) assert.throws(() => parseMessageId(id, 'messageId'), /messageId/)
  })
  test('lists split on whitespace and commas', () => {
    assert.deepEqual(parseMessageIds('<a@b> c@d,<e@f>', 'references'), ['<a@b>', '<c@d>', '<e@f>'])
    assert.deepEqual(parseMessageIds(['a@b', '<c@d>'], 'references'), ['<a@b>', '<c@d>'])
  })
})

describe('formatDate', () => {
  test('writes an RFC 5322 date-time in UTC', () => {
    assert.equal(formatDate(new Date(Date.UTC(2003, 6, 1, 10, 52, 37))), 'Tue, 1 Jul 2003 10:52:37 +0000')
  })
})
