import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ProtocolError, SmtpError } from '../../src/protocol/errors.ts'
import {
  decodeXtext,
  encodeXtext,
  extensionsForMailParams,
  formatMailParams,
  formatRcptParams,
  mailParamExtensions,
  parseMailParams,
  parseParams,
  parseRcptParams,
  rcptParamExtensions,
} from '../../src/protocol/params.ts'
import type { MailParams, RcptParams } from '../../src/protocol/params.ts'

function smtpError(code: number, message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SmtpError, `expected an SmtpError, got ${String(err)}`)
    assert.equal(err.code, code)
    assert.equal(err.enhancedCode, '5.5.4')
    assert.match(err.text, message)
    return true
  }
}

describe('xtext', () => {
  const table: [string, string][] = [
    ['', ''],
    ['abc', 'abc'],
    ['a+b=c', 'a+2Bb+3Dc'],
    ['a b\r\n', 'a+20b+0D+0A'],
    ['<>', '<>'],
    ['ü', '+C3+BC'],
    ['\x7f~!', '+7F~!'],
  ]
  for (const [plain, encoded] of table) {
    test(`encodes ${JSON.stringify(plain)} as ${JSON.stringify(encoded)} and back`, () => {
      assert.equal(encodeXtext(plain), encoded)
      assert.equal(decodeXtext(encoded), plain)
    })
  }
  for (const bad of ['a+2b', 'a+', 'a+2', 'a+G0', 'a=b', 'a b', 'a\u00fcb', '+FF', '+C3']) {
    test(`decodeXtext rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => decodeXtext(bad), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_PARAMETER')
    })
  }
  test('encodeXtext refuses a lone surrogate', () => {
    assert.throws(() => encodeXtext('a\ud800'), TypeError)
  })
  test('decodeXtext(encodeXtext(s)) is s for any well-formed string, and the encoding is an esmtp-value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const encoded = encodeXtext(s)
        assert.match(encoded, /^[!-<>-~]*$/)
        assert.equal(decodeXtext(encoded), s)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('parseParams', () => {
  test('upper-cases keywords and maps a keyword without value to true', () => {
    assert.deepEqual(
      [...parseParams('size=100 Body=8BITMIME SMTPUTF8 X-FOO=a+2Bb')],
      [
        ['SIZE', '100'],
        ['BODY', '8BITMIME'],
        ['SMTPUTF8', true],
        ['X-FOO', 'a+2Bb'],
      ],
    )
    assert.equal(parseParams('').size, 0)
    assert.equal(parseParams('  SIZE=1  ').get('SIZE'), '1')
    assert.equal(parseParams('X=ü').get('X'), 'ü')
  })
  const bad: [string, RegExp][] = [
    ['SIZE=1 SIZE=2', /SIZE given twice/],
    ['size=1 SIZE=2', /SIZE given twice/],
    ['-X=1', /keyword/],
    ['X_Y=1', /keyword/],
    ['=1', /keyword/],
    ['ſize=1', /keyword/],
    ['SIZE=', /SIZE needs a value/],
    ['X=a=b', /X needs a value/],
    ['X=a\tb', /X needs a value/],
    ['X=a\0', /X needs a value/],
  ]
  for (const [text, message] of bad) {
    test(`rejects ${JSON.stringify(text)} with 501`, () => {
      assert.throws(() => parseParams(text), smtpError(501, message))
    })
  }
})

describe('parseMailParams', () => {
  test('decodes every known parameter', () => {
    assert.deepEqual(parseMailParams('SIZE=1234 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=abc+2B AUTH=bob+40example.test REQUIRETLS'), {
      size: 1234,
      body: '8BITMIME',
      smtpUtf8: true,
      ret: 'HDRS',
      envid: 'abc+',
      auth: 'bob@example.test',
      requireTls: true,
    })
    assert.deepEqual(parseMailParams(''), {})
    assert.deepEqual(parseMailParams('AUTH=<>'), { auth: '<>' })
    assert.deepEqual(parseMailParams('BODY=BINARYMIME SIZE=0'), { body: 'BINARYMIME', size: 0 })
    assert.equal(parseMailParams(`SIZE=${Number.MAX_SAFE_INTEGER}`).size, Number.MAX_SAFE_INTEGER)
  })
  const bad: [string, number, RegExp][] = [
    ['FOO=1', 555, /Unsupported parameter FOO/],
    ['SIZE=1 NOTIFY=NEVER', 555, /Unsupported parameter NOTIFY/],
    ['SIZE', 501, /SIZE needs a value/],
    ['SIZE=-1', 501, /SIZE/],
    ['SIZE=1e3', 501, /SIZE/],
    ['SIZE=123456789012345678901', 501, /SIZE/],
    ['SIZE=99999999999999999999', 501, /SIZE/],
    ['BODY=8BIT', 501, /BODY must be/],
    ['BODY=8BıTMIME', 501, /BODY must be/],
    ['SMTPUTF8=yes', 501, /SMTPUTF8 takes no value/],
    ['REQUIRETLS=1', 501, /REQUIRETLS takes no value/],
    ['RET=ALL', 501, /RET must be/],
    ['ENVID=a+2b', 501, /ENVID is not valid xtext/],
    ['ENVID=a+0D+0AX-Injected:+20yes', 501, /ENVID must decode to printable ASCII/],
    ['ENVID=+C3+BC', 501, /printable ASCII/],
    // A UTF-8 byte order mark is non-ASCII too, not something to drop.
    ['ENVID=+EF+BB+BFabc', 501, /printable ASCII/],
    [`ENVID=${'x'.repeat(101)}`, 501, /longer than 100/],
    ['AUTH=a+00', 501, /AUTH must decode/],
    ['SIZE=1 SIZE=1', 501, /twice/],
  ]
  for (const [text, code, message] of bad) {
    test(`rejects ${JSON.stringify(text.slice(0, 40))} with ${code}`, () => {
      assert.throws(() => parseMailParams(text), smtpError(code, message))
    })
  }
})

describe('parseRcptParams', () => {
  test('decodes NOTIFY and ORCPT', () => {
    assert.deepEqual(parseRcptParams('NOTIFY=success,Delay ORCPT=rfc822;bob+2Bx@example.test'), {
      notify: ['SUCCESS', 'DELAY'],
      orcpt: { addressType: 'rfc822', address: 'bob+x@example.test' },
    })
    assert.deepEqual(parseRcptParams('NOTIFY=never'), { notify: 'NEVER' })
    assert.deepEqual(parseRcptParams('ORCPT=utf-8;j+C3+B6s+C3+A9@x.example'), { orcpt: { addressType: 'utf-8', address: 'jösé@x.example' } })
  })
  const bad: [string, number, RegExp][] = [
    ['SIZE=1', 555, /Unsupported parameter SIZE/],
    ['NOTIFY', 501, /NOTIFY needs a value/],
    ['NOTIFY=NEVER,SUCCESS', 501, /NOTIFY must be/],
    ['NOTIFY=SUCCESS,SUCCESS', 501, /NOTIFY must be/],
    ['NOTIFY=SUCCESS,', 501, /NOTIFY must be/],
    ['NOTIFY=SOMETIMES', 501, /NOTIFY must be/],
    ['ORCPT=bob@example.test', 501, /address type/],
    ['ORCPT=;bob@example.test', 501, /address type/],
    ['ORCPT=rfc822;', 501, /printable ASCII/],
    ['ORCPT=rfc822;a+0D+0Ab', 501, /printable ASCII/],
    ['ORCPT=rfc822;a+zz', 501, /not valid xtext/],
    [`ORCPT=rfc822;${'x'.repeat(494)}`, 501, /longer than 500/],
  ]
  for (const [text, code, message] of bad) {
    test(`rejects ${JSON.stringify(text.slice(0, 40))} with ${code}`, () => {
      assert.throws(() => parseRcptParams(text), smtpError(code, message))
    })
  }
})

describe('formatMailParams and formatRcptParams', () => {
  test('format every parameter, xtext-encoding text values', () => {
    assert.deepEqual(
      formatMailParams({ size: 1234, body: '8BITMIME', smtpUtf8: true, ret: 'HDRS', envid: 'abc+', auth: 'bob@example.test', requireTls: true }),
      ['SIZE=1234', 'BODY=8BITMIME', 'SMTPUTF8', 'RET=HDRS', 'ENVID=abc+2B', 'AUTH=bob@example.test', 'REQUIRETLS'],
    )
    assert.deepEqual(formatMailParams({ smtpUtf8: false, requireTls: false }), [])
    assert.deepEqual(formatRcptParams({ notify: ['FAILURE', 'DELAY'], orcpt: { addressType: 'rfc822', address: 'a b=c@x' } }), [
      'NOTIFY=FAILURE,DELAY',
      'ORCPT=rfc822;a+20b+3Dc@x',
    ])
    assert.deepEqual(formatRcptParams({ notify: 'NEVER' }), ['NOTIFY=NEVER'])
  })
  const badMail: [string, MailParams, ErrorConstructor | RangeErrorConstructor][] = [
    ['a negative size', { size: -1 }, RangeError],
    ['a fractional size', { size: 1.5 }, RangeError],
    ['an unknown body', { body: '8bit' as never }, TypeError],
    ['an unknown ret', { ret: 'ALL' as never }, TypeError],
    ['an envid with a newline', { envid: 'a\r\nb' }, TypeError],
    ['a non-ASCII envid', { envid: 'ü' }, TypeError],
    ['an empty envid', { envid: '' }, TypeError],
    ['an over-long envid', { envid: '+'.repeat(34) }, RangeError],
    ['an auth with a control character', { auth: 'a\nb' }, TypeError],
  ]
  for (const [name, params, type] of badMail) {
    test(`formatMailParams refuses ${name}`, () => {
      assert.throws(() => formatMailParams(params), type)
    })
  }
  const badRcpt: [string, RcptParams, ErrorConstructor | RangeErrorConstructor][] = [
    ['an empty notify list', { notify: [] }, TypeError],
    ['a repeated notify condition', { notify: ['DELAY', 'DELAY'] }, TypeError],
    ['NEVER inside a list', { notify: ['NEVER' as never] }, TypeError],
    ['an address type with a semicolon', { orcpt: { addressType: 'rfc;822', address: 'a@b' } }, TypeError],
    ['an ORCPT address with a newline', { orcpt: { addressType: 'rfc822', address: 'a\n@b' } }, TypeError],
    ['an over-long ORCPT', { orcpt: { addressType: 'rfc822', address: 'x'.repeat(500) } }, RangeError],
  ]
  for (const [name, params, type] of badRcpt) {
    test(`formatRcptParams refuses ${name}`, () => {
      assert.throws(() => formatRcptParams(params), type)
    })
  }

  const printable = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => /^[ -~]+$/.test(s))
  const mailParams = fc.record(
    {
      size: fc.maxSafeNat(),
      body: fc.constantFrom('7BIT', '8BITMIME', 'BINARYMIME'),
      smtpUtf8: fc.constant(true),
      ret: fc.constantFrom('FULL', 'HDRS'),
      envid: printable,
      auth: fc.oneof(fc.constant('<>'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !/[\x00-\x1f\x7f-\x9f]/.test(s))),
      requireTls: fc.constant(true),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<MailParams>
  const rcptParams = fc.record(
    {
      notify: fc.oneof(fc.constant('NEVER' as const), fc.subarray(['SUCCESS', 'FAILURE', 'DELAY'] as const, { minLength: 1 }).chain((a) => fc.shuffledSubarray(a, { minLength: a.length }))),
      orcpt: fc.record({ addressType: fc.constantFrom('rfc822', 'x400', 'RFC822'), address: printable }),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<RcptParams>

  test('parseMailParams(formatMailParams(p)) deep-equals p', () => {
    fc.assert(
      fc.property(mailParams, (p) => {
        assert.deepEqual(parseMailParams(formatMailParams(p).join(' ')), { ...p })
      }),
      { numRuns: 500 },
    )
  })
  test('parseRcptParams(formatRcptParams(p)) deep-equals p', () => {
    fc.assert(
      fc.property(rcptParams, (p) => {
        assert.deepEqual(parseRcptParams(formatRcptParams(p).join(' ')), p.orcpt ? { ...p, orcpt: { ...p.orcpt } } : { ...p })
      }),
      { numRuns: 500 },
    )
  })
  test('parsing arbitrary text gives parameters or an SmtpError, nothing else', () => {
    const chars = fc.oneof(fc.constantFrom(' ', '=', '+', ',', ';', 'SIZE', 'NOTIFY', 'ORCPT', 'ENVID', '0', 'A'), fc.string({ maxLength: 2 }))
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 20 }).map((a) => a.join('')), (text) => {
        for (const parse of [parseMailParams, parseRcptParams]) {
          try {
            parse(text)
          } catch (err) {
            assert.ok(err instanceof SmtpError && (err.code === 501 || err.code === 555), String(err))
          }
        }
      }),
      { numRuns: 1000 },
    )
  })
})

describe('extensions of parameters', () => {
  test('map each keyword to the EHLO extension that enables it', () => {
    assert.equal(mailParamExtensions.BODY, '8BITMIME')
    assert.equal(mailParamExtensions.ENVID, 'DSN')
    assert.equal(rcptParamExtensions.ORCPT, 'DSN')
  })
  test('BODY=BINARYMIME needs BINARYMIME, not 8BITMIME', () => {
    assert.deepEqual(extensionsForMailParams({ body: 'BINARYMIME', size: 1 }).sort(), ['BINARYMIME', 'SIZE'])
    assert.deepEqual(extensionsForMailParams({ body: '7BIT', ret: 'FULL', envid: 'x', smtpUtf8: true }).sort(), ['8BITMIME', 'DSN', 'SMTPUTF8'])
    assert.deepEqual(extensionsForMailParams({ smtpUtf8: false }), [])
  })
})
