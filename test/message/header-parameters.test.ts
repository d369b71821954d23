import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { joinParameters, parameterPieces, parseMediaType } from '../../src/message/header-parameters.ts'

describe('parameterPieces', () => {
  test('writes tokens bare and other printable ASCII quoted', () => {
    assert.deepEqual(parameterPieces('filename', 'report.pdf', 'rfc2231'), ['filename=report.pdf'])
    assert.deepEqual(parameterPieces('filename', 'my "report" (1).pdf', 'rfc2231'), ['filename="my \\"report\\" (1).pdf"'])
  })

  test('writes non-ASCII values as RFC 2231 UTF-8 extended values', () => {
    assert.deepEqual(parameterPieces('filename', 'Résumé.pdf', 'rfc2231'), ["filename*=utf-8''R%C3%A9sum%C3%A9.pdf"])
  })

  test('splits long values into numbered continuations, separated by semicolons, never inside a character', () => {
    const pieces = parameterPieces('filename', `${'ü'.repeat(40)}.txt`, 'rfc2231')
    assert.ok(pieces.length > 1)
    assert.match(pieces[0]!, /^filename\*0\*=utf-8''(%C3%BC)+;$/)
    assert.match(pieces.at(-1)!, /^filename\*\d\*=(%C3%BC)*\.txt$/)
    const decoded = decodeURIComponent(pieces.map((piece) => piece.replace(/^filename\*\d\*=(utf-8'')?/, '').replace(/;$/, '')).join(''))
    assert.equal(decoded, `${'ü'.repeat(40)}.txt`)
    for (const piece of pieces) assert.doesNotThrow(() => decodeURIComponent(piece.replace(/^filename\*\d\*=(utf-8'')?/, '').replace(/;$/, '')))
  })

  test('encodes values that look like encoded-words or have edge spaces, so readers take them literally', () => {
    assert.deepEqual(parameterPieces('filename', '=?UTF-8?Q?x?=', 'rfc2231'), ["filename*=utf-8''%3D%3FUTF-8%3FQ%3Fx%3F%3D"])
    assert.deepEqual(parameterPieces('filename', ' a', 'rfc2231'), ["filename*=utf-8''%20a"])
  })

  test('writes RFC 2047 words in a quoted string for the name= fallback', () => {
    assert.deepEqual(parameterPieces('name', 'Résumé.pdf', 'rfc2047'), ['name="=?UTF-8?B?UsOpc3Vtw6kucGRm?="'])
  })
})

describe('joinParameters', () => {
  test('puts semicolons between the head and each parameter', () => {
    assert.deepEqual(joinParameters('attachment', [['filename=a'], ['size=3']]), ['attachment;', 'filename=a;', 'size=3'])
  })
})

describe('parseMediaType', () => {
  test('parses type, subtype and parameters, lower-casing names', () => {
    assert.deepEqual(parseMediaType('Text/Calendar; Method=REQUEST; charset="utf-8"', 'contentType'), {
      type: 'text/calendar',
      parameters: [
        ['method', 'REQUEST'],
        ['charset', 'utf-8'],
      ],
    })
  })

  test('refuses malformed media types with a TypeError naming the field', () => {
    for (const text of ['text', 'text/', 'a/b/c', 'text/plain; x', 'text/plain; x="unterminated', 'té/xt']) {
      assert.throws(() => parseMediaType(text, 'attachments[0].contentType'), /attachments\[0\]\.contentType is not a valid media type/)
    }
  })
})
