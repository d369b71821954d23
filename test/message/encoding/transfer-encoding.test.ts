import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { chooseAttachmentEncoding, chooseTextEncoding, explainUnencodable, profileBytes } from '../../../src/message/encoding/transfer-encoding.ts'

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')

describe('chooseTextEncoding', () => {
  const cases: Array<{ name: string; text: string | Buffer; allow8bit?: boolean; want: string }> = [
    { name: 'short ASCII lines', text: 'hello\r\n.\r\nworld', want: '7bit' },
    { name: 'an ASCII line of 998 octets', text: 'a'.repeat(998), want: '7bit' },
    { name: 'an ASCII line of 999 octets', text: 'a'.repeat(999), want: 'quoted-printable' },
    { name: 'a little non-ASCII', text: 'Grüße aus Köln, sagt der Absender', want: 'quoted-printable' },
    { name: 'a little non-ASCII, 8bit allowed', text: 'Grüße', allow8bit: true, want: '8bit' },
    { name: 'mostly non-ASCII', text: '日本語のテキストです', want: 'base64' },
    { name: 'a NUL byte, even with 8bit allowed', text: 'a line with a NUL \0 in it', allow8bit: true, want: 'quoted-printable' },
  ]
  for (const { name, text, allow8bit = false, want } of cases) {
    test(`chooses ${want} for ${name}`, () => {
      assert.equal(chooseTextEncoding(typeof text === 'string' ? bytes(text) : text, { allow8bit }), want)
    })
  }
})

describe('chooseAttachmentEncoding', () => {
  test('keeps valid 7bit data as 7bit', () => {
    assert.equal(chooseAttachmentEncoding(bytes('a,b\r\n1,2\r\n'), { isText: true }), '7bit')
  })
  test('uses base64 for ASCII text with bare LF, so the bytes survive exactly', () => {
    assert.equal(chooseAttachmentEncoding(bytes('a\nb\n'), { isText: true }), 'base64')
  })
  test('uses quoted-printable for mostly-ASCII text with CRLF line breaks', () => {
    assert.equal(chooseAttachmentEncoding(bytes('Grüße aus Köln\r\nund so weiter, mit mehr Text\r\n'), { isText: true }), 'quoted-printable')
  })
  test('uses base64 for the same bytes when they are not text', () => {
    assert.equal(chooseAttachmentEncoding(bytes('Grüße aus Köln\r\nund so weiter, mit mehr Text\r\n'), { isText: false }), 'base64')
  })
})

describe('profileBytes and explainUnencodable', () => {
  test('measure the longest line without its CRLF and find bare line breaks', () => {
    assert.deepEqual(profileBytes(bytes('abc\r\nde\r\n')), { nonAscii: 0, escapes: 0, hasNul: false, hasBareLineBreak: false, longestLine: 3 })
    assert.equal(profileBytes(bytes('a\rb')).hasBareLineBreak, true)
  })
  test('say why content cannot be sent unencoded', () => {
    assert.equal(explainUnencodable(bytes('ok\r\n'), '7bit'), undefined)
    assert.match(explainUnencodable(bytes('é'), '7bit')!, /non-ASCII/)
    assert.equal(explainUnencodable(bytes('é'), '8bit'), undefined)
    assert.match(explainUnencodable(bytes('a\nb'), '8bit')!, /CRLF/)
    assert.match(explainUnencodable(bytes('x'.repeat(1000)), '8bit')!, /1000 octets/)
  })
})
