import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseTagList, TagListError } from '../../src/dkim/tag-list.ts'

function values(text: string): Record<string, string> {
  return Object.fromEntries([...parseTagList(text)].map(([name, tag]) => [name, tag.value]))
}

describe('parseTagList', () => {
  test('reads tags with FWS around names, "=" and values (RFC 6376 §3.2)', () => {
    assert.deepEqual(values(' v = 1 ;a=rsa-sha256;\r\n\th=from : to;  '), { v: '1', a: 'rsa-sha256', h: 'from : to' })
  })
  test('keeps FWS inside a value, drops it around', () => {
    assert.deepEqual(values('b= abc\r\n def ;'), { b: 'abc\r\n def' })
  })
  test('allows an empty value and a final semicolon', () => {
    assert.deepEqual(values('p=; n=x;'), { p: '', n: 'x' })
  })
  test('an empty list has no tags', () => {
    assert.equal(parseTagList('').size, 0)
  })
  test('records where each value sits, from after "=" to the ";"', () => {
    const tag = parseTagList('a=1; b= xyz ;c=2').get('b')!
    assert.equal('a=1; b= xyz ;c=2'.slice(tag.start, tag.end), ' xyz ')
  })
  const bad: [string, string, RegExp][] = [
    ['a duplicate tag', 'a=1; a=2', /occurs more than once/],
    ['an empty tag-spec', 'a=1;; b=2', /tag name expected/],
    ['a tag name starting with a digit', '1a=x', /tag name expected/],
    ['a tag without "="', 'a; b=1', /"=" expected/],
    ['a control character in a value', 'a=x\x00y', /invalid character 0x00/],
    ['an 8-bit byte in a value', 'a=\xe9', /invalid character/],
  ]
  for (const [name, text, message] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseTagList(text), (err: unknown) => err instanceof TagListError && message.test(err.message))
    })
  }
  test('property: any string parses or throws TagListError, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '=', ';', ' ', '\t', '\r\n', '1', '_', ':', '\x01', '\xff') }), (text) => {
        try {
          parseTagList(text)
        } catch (err) {
          assert.ok(err instanceof TagListError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
