import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { saslPrep } from '../../src/sasl/saslprep.ts'

test('gives the results of the RFC 4013 §3 examples', () => {
  assert.equal(saslPrep('I\u00ADX'), 'IX')
  assert.equal(saslPrep('user'), 'user')
  assert.equal(saslPrep('USER'), 'USER')
  assert.equal(saslPrep('\u00AA'), 'a')
  assert.equal(saslPrep('\u2168'), 'IX')
  assert.throws(() => saslPrep('\u0007'), TypeError)
  assert.throws(() => saslPrep('\u0627\u0031'), TypeError)
})

test('passes printable ASCII through unchanged', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii' }).filter((s) => /^[\x20-\x7e]*$/.test(s)), (s) => saslPrep(s) === s))
})

test('maps non-ASCII spaces to SPACE and removes zero-width characters', () => {
  assert.equal(saslPrep('a\u00A0b\u3000c'), 'a b c')
  assert.equal(saslPrep('a\u200Bb\uFEFFc'), 'abc')
})

test('rejects controls, private use, non-characters and lone surrogates, naming the code point only', () => {
  for (const [input, codePoint] of [
    ['hunter\u0000two', 'U+0000'],
    ['hunter\u007Ftwo', 'U+007F'],
    ['hunter\u0085two', 'U+0085'],
    ['hunter\uE000two', 'U+E000'],
    ['hunter\uFFFFtwo', 'U+FFFF'],
    ['hunter\u{1FFFE}two', 'U+1FFFE'],
    ['hunter\uD800two', 'U+D800'],
    ['hunter\u202Etwo', 'U+202E'],
    ['hunter\u{E0041}two', 'U+E0041'],
  ] as const) {
    assert.throws(
      () => saslPrep(input, 'password'),
      (error: Error) => error instanceof TypeError && error.message.includes(codePoint) && !error.message.includes('hunter'),
      codePoint,
    )
  }
})

test('allows right-to-left text only when it starts and ends right-to-left and has no left-to-right letters', () => {
  assert.equal(saslPrep('\u0627\u0031\u0628'), '\u0627\u0031\u0628')
  assert.equal(saslPrep('\u05D0\u05D1'), '\u05D0\u05D1')
  assert.throws(() => saslPrep('\u0031\u0627'), TypeError)
  assert.throws(() => saslPrep('\u0627a\u0628'), TypeError)
})

test('accepts ordinary non-ASCII names and normalises them to NFKC', () => {
  assert.equal(saslPrep('Jose\u0301'), 'José')
  assert.equal(saslPrep('straße'), 'straße')
  assert.equal(saslPrep('ｕｓｅｒ'), 'user')
})
