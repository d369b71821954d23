import { isIPv4 } from 'node:net'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  formatPath,
  isValidAddress,
  needsSmtpUtf8,
  parseMailbox,
  parsePath,
  splitPathAndParams,
  toAsciiAddress,
  toAsciiDomain,
  unquoteLocalPart,
} from '../../src/protocol/address.ts'
import type { AddressOptions } from '../../src/protocol/address.ts'
import { ProtocolError } from '../../src/protocol/errors.ts'

function badAddress(message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`)
    assert.equal(err.code, 'ERR_SMTP_BAD_ADDRESS')
    assert.match(err.message, message)
    return true
  }
}

const utf8: AddressOptions = { allowUtf8: true }

describe('parsePath', () => {
  const good: [string, AddressOptions, string, string, string, boolean][] = [
    ['<a@b.example>', {}, 'a@b.example', 'a', 'b.example', false],
    ['<First.Last+tag@Sub.Example.COM>', {}, 'First.Last+tag@Sub.Example.COM', 'First.Last+tag', 'Sub.Example.COM', false],
    ["<!#$%&'*+-/=?^_`{|}~@x.example>", {}, "!#$%&'*+-/=?^_`{|}~@x.example", "!#$%&'*+-/=?^_`{|}~", 'x.example', false],
    ['<"john doe"@example.com>', {}, '"john doe"@example.com', '"john doe"', 'example.com', false],
    ['<"a\\"b\\\\c"@x.example>', {}, '"a\\"b\\\\c"@x.example', '"a\\"b\\\\c"', 'x.example', false],
    ['<"a>b@c"@x.example>', {}, '"a>b@c"@x.example', '"a>b@c"', 'x.example', false],
    ['<""@x.example>', {}, '""@x.example', '""', 'x.example', false],
    ['<user@localhost>', {}, 'user@localhost', 'user', 'localhost', false],
    ['<user@[192.0.2.1]>', {}, 'user@[192.0.2.1]', 'user', '[192.0.2.1]', false],
    ['<user@[IPv6:2001:db8::1]>', {}, 'user@[IPv6:2001:db8::1]', 'user', '[IPv6:2001:db8::1]', false],
    ['<user@[ipv6:::ffff:192.0.2.1]>', {}, 'user@[ipv6:::ffff:192.0.2.1]', 'user', '[ipv6:::ffff:192.0.2.1]', false],
    ['<@a.example,@b.example:user@c.example>', {}, 'user@c.example', 'user', 'c.example', false],
    ['<>', { allowNull: true }, '', '', '', false],
    ['<Postmaster>', { allowPostmaster: true }, 'Postmaster', 'Postmaster', '', false],
    ['<POSTMASTER>', { allowPostmaster: true }, 'POSTMASTER', 'POSTMASTER', '', false],
    ['<jösé@bücher.example>', utf8, 'jösé@bücher.example', 'jösé', 'bücher.example', true],
    ['<用户@例子.广告>', utf8, '用户@例子.广告', '用户', '例子.广告', true],
    ['<"ü x"@example.com>', utf8, '"ü x"@example.com', '"ü x"', 'example.com', true],
  ]
  for (const [text, options, address, localPart, domain, isUtf8] of good) {
    test(`accepts ${text}`, () => {
      assert.deepEqual({ ...parsePath(text, options) }, { address, localPart, domain, isUtf8 })
    })
  }

  const bad: [string, AddressOptions, RegExp][] = [
    ['a@b.example', {}, /start with '<'/],
    ['<a@b.example', {}, /end with '>'/],
    ['<a@b.example> ', {}, /end with '>'/],
    ['<', {}, /end with '>'/],
    ['<>', {}, /null path/],
    ['<Postmaster>', {}, /no '@'/],
    ['<a>', {}, /no '@'/],
    ['<@b.example>', {}, /source route/],
    ['<@b.example,c.example:a@d.example>', {}, /hops/],
    ['<@b..example:a@d.example>', {}, /source route domain has an empty label/],
    ['<@a.example>', {}, /source route/],
    ['<a@>', {}, /domain is empty/],
    ['<@>', {}, /source route/],
    ['<.a@b.example>', {}, /dot/],
    ['<a.@b.example>', {}, /dot/],
    ['<a..b@c.example>', {}, /two dots/],
    ['<a b@c.example>', {}, /U\+0020/],
    ['<a\0b@c.example>', {}, /U\+0000/],
    ['<a"b@c.example>', {}, /'"'/],
    ['<a@b..example>', {}, /empty label/],
    ['<a@b.example.>', {}, /empty label/],
    ['<a@-b.example>', {}, /hyphen/],
    ['<a@b-.example>', {}, /hyphen/],
    ['<a@b_c.example>', {}, /letters, digits and hyphens/],
    ['<a@b@c.example>', {}, /domain contains '@'/],
    ['<a@192.0.2.1>', {}, /address literal like \[192.0.2.1\]/],
    ['<a@[1.2.3]>', {}, /IPv4/],
    ['<a@[01.2.3.4]>', {}, /IPv4/],
    ['<a@[1.2.3.4>', {}, /closing bracket/],
    ['<a@[IPv6:1::2::3]>', {}, /IPv6/],
    ['<a@[IPv6:fe80::1%eth0]>', {}, /IPv6/],
    ['<a@[x400:foo]>', {}, /unknown tag/],
    ['<"abc@x.example>', {}, /closing quote/],
    ['<"a"b@x.example>', {}, /followed by '@'/],
    ['<"a"@>', {}, /domain is empty/],
    ['<"a\u0001"@x.example>', {}, /U\+0001/],
    ['<"a\\\u0001"@x.example>', {}, /backslash/],
    ['<jösé@x.example>', {}, /local part has non-ASCII.*SMTPUTF8/],
    ['<a@bücher.example>', {}, /domain has non-ASCII.*SMTPUTF8/],
    ['<a@ａｂｃ.example>', utf8, /internationalized/],
    ['<a@a。example>', utf8, /internationalized/],
    ['<a@-ü.example>', utf8, /internationalized/],
    ['<a@ü\r.example>', utf8, /internationalized/],
    ['<a@ü\n.example>', utf8, /internationalized/],
    ['<a@\tü.example>', utf8, /internationalized/],
    ['<a@b\u00adü.example>', utf8, /internationalized/],
    ['<\ufffd@x.example>', utf8, /U\+FFFD/],
    ['<a\u0085@x.example>', utf8, /U\+0085/],
    [`<${'a'.repeat(65)}@x.example>`, {}, /local part is longer than 64/],
    [`<${'ü'.repeat(33)}@x.example>`, utf8, /local part is longer than 64/],
    [`<a@${'b'.repeat(64)}.example>`, {}, /longer than 63/],
    [`<${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}>`, {}, /path is longer than 256/],
  ]
  for (const [text, options, message] of bad) {
    test(`rejects ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} saying what is wrong`, () => {
      assert.throws(() => parsePath(text, options), badAddress(message))
    })
  }

  test('accepts a path of exactly 256 octets and parts at their limits', () => {
    const text = `<${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}>`
    assert.equal(Buffer.byteLength(text), 256)
    assert.equal(parsePath(text).localPart.length, 64)
  })

  test('arbitrary text is either a path that formats back to itself, or a bad-address error', () => {
    const chars = fc.oneof(fc.constantFrom('a', '.', '@', '"', '\\', ' ', '[', ']', ':', ',', '<', '>', '-', 'ü', '\r', '\n', '\t', '\0', '\u00ad'), fc.string({ maxLength: 1 }))
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }).map((a) => a.join('')), (inner) => {
        const text = `<${inner}>`
        let path
        try {
          path = parsePath(text, { allowUtf8: true })
        } catch (err) {
          assert.ok(err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_ADDRESS', String(err))
          return
        }
        if (!inner.startsWith('@')) assert.equal(formatPath(path.address), text)
        assert.ok(!/[\x00-\x1f\x7f]/.test(path.address), 'no control characters')
      }),
      { numRuns: 5000 },
    )
  })

  test('plain ASCII paths (its fast path) parse exactly as the full mailbox parser does', () => {
    const part = (max: number) => fc.array(fc.constantFrom('a', 'Z', '9', '-', '.', '+', '_', '0'), { minLength: 1, maxLength: max }).map((a) => a.join(''))
    const domain = fc.oneof(
      fc.array(part(66), { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.')),
      fc.constantFrom('192.0.2.1', '1.2.3', 'a.1.2.3.4', `${'b'.repeat(63)}.test`, `${'b'.repeat(64)}.test`, `${'c'.repeat(63)}.`.repeat(4) + 'd'),
    )
    const local = fc.oneof(part(70), fc.constantFrom('a'.repeat(64), 'a'.repeat(65), '.a', 'a.', 'a..b'))
    const outcome = (parse: () => unknown): unknown => {
      try {
        return parse()
      } catch (err) {
        return err instanceof ProtocolError ? err.code : err
      }
    }
    fc.assert(
      fc.property(local, domain, (l, d) => {
        const mailbox = `${l}@${d}`
        const expected = Buffer.byteLength(`<${mailbox}>`) > 256 ? 'ERR_SMTP_BAD_ADDRESS' : outcome(() => parseMailbox(mailbox))
        assert.deepEqual(outcome(() => parsePath(`<${mailbox}>`)), expected)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('parseMailbox and isValidAddress', () => {
  test('parse a bare mailbox without brackets', () => {
    assert.deepEqual({ ...parseMailbox('a@b.example') }, { address: 'a@b.example', localPart: 'a', domain: 'b.example', isUtf8: false })
    assert.throws(() => parseMailbox(''), badAddress(/empty/))
    assert.throws(() => parseMailbox('@b.example'), badAddress(/empty local part/))
    assert.throws(() => parseMailbox(`a@${'b.'.repeat(127)}cc`), badAddress(/domain is longer than 255/))
  })
  test('isValidAddress allows UTF-8 by default and reports false rather than throwing', () => {
    assert.equal(isValidAddress('jösé@bücher.example'), true)
    assert.equal(isValidAddress('jösé@bücher.example', {}), false)
    assert.equal(isValidAddress('no at sign'), false)
  })
})

describe('splitPathAndParams', () => {
  const good: [string, string, string][] = [
    ['<a@b.example>', '<a@b.example>', ''],
    ['<> SIZE=10', '<>', 'SIZE=10'],
    ['<a@b.example> SIZE=10 BODY=8BITMIME', '<a@b.example>', 'SIZE=10 BODY=8BITMIME'],
    ['<"a> b"@c.example> SIZE=1', '<"a> b"@c.example>', 'SIZE=1'],
    ['<"a\\"> b"@c.example> X', '<"a\\"> b"@c.example>', 'X'],
    ['<a@b.example>  SIZE=1', '<a@b.example>', ' SIZE=1'],
  ]
  for (const [rest, path, params] of good) {
    test(`splits ${JSON.stringify(rest)}`, () => {
      assert.deepEqual(splitPathAndParams(rest), { path, params })
    })
  }
  const bad: [string, RegExp][] = [
    ['a@b.example', /expected '<'/],
    [' <a@b.example>', /expected '<'/],
    ['', /expected '<'/],
    ['<a@b.example', /no closing '>'/],
    ['<"a>@b.example', /no closing '>'/],
    ['<a@b.example>SIZE=1', /space or the end/],
  ]
  for (const [rest, message] of bad) {
    test(`rejects ${JSON.stringify(rest)}`, () => {
      assert.throws(() => splitPathAndParams(rest), badAddress(message))
    })
  }
})

// Generators of valid addresses for round trips.
const atext = fc.constantFrom(...'abcXYZ019!#$%&\'*+-/=?^_`{|}~'.split(''), 'ü', '字')
const atom = fc.array(atext, { minLength: 1, maxLength: 6 }).map((a) => a.join(''))
const dotString = fc.array(atom, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'))
const qcontent = fc.oneof(fc.constantFrom(' ', '!', '#', '@', '>', '<', 'a', '[', ']', 'é'), fc.constantFrom('\\"', '\\\\', '\\ ', '\\a'))
const quoted = fc.array(qcontent, { maxLength: 8 }).map((a) => `"${a.join('')}"`)
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/)
const domain = fc.oneof(
  fc
    .array(fc.oneof(label, fc.constantFrom('bücher', '例子')), { minLength: 1, maxLength: 4 })
    .map((a) => a.join('.'))
    // A dotted quad is an IPv4 address, which must be written as a literal: not a domain.
    .filter((d) => !isIPv4(d)),
  fc.constantFrom('[192.0.2.1]', '[IPv6:2001:db8::1]'),
)
const address = fc.tuple(fc.oneof(dotString, quoted), domain).map(([l, d]) => `${l}@${d}`)

describe('formatPath', () => {
  test('brackets an address and writes the null path as <>', () => {
    assert.equal(formatPath('a@b.example'), '<a@b.example>')
    assert.equal(formatPath('"a b"@b.example'), '<"a b"@b.example>')
    assert.equal(formatPath('jösé@bücher.example'), '<jösé@bücher.example>')
    assert.equal(formatPath(''), '<>')
  })
  for (const evil of ['a@b.example>\r\nRCPT TO:<c@d.example', 'a\n@b.example', 'a@b.example\0', 'a@b.example> SIZE=1', '<a@b.example>', 'a b@c.example', 'a@b..c', 'x'.repeat(65) + '@b.example', 'a@\ud800.example']) {
    test(`refuses ${JSON.stringify(evil.slice(0, 40))} with a TypeError (no command injection)`, () => {
      assert.throws(() => formatPath(evil), TypeError)
    })
  }
  test('any output is a single safe token that parses back to the same address', () => {
    fc.assert(
      fc.property(address, (addr) => {
        const path = formatPath(addr)
        assert.equal(parsePath(path, utf8).address, addr)
        assert.equal(splitPathAndParams(`${path} SIZE=1`).path, path)
        assert.equal(parsePath(path, utf8).isUtf8, needsSmtpUtf8(addr))
      }),
      { numRuns: 1000 },
    )
  })
  test('arbitrary strings are refused or give a path without CR, LF or NUL', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        try {
          assert.ok(!/[\r\n\0]/.test(formatPath(s)))
        } catch (err) {
          assert.ok(err instanceof TypeError, String(err))
        }
      }),
    )
  })
})

describe('UTF-8 and IDN helpers', () => {
  test('needsSmtpUtf8 is true for any non-ASCII character', () => {
    assert.equal(needsSmtpUtf8('a@b.example'), false)
    assert.equal(needsSmtpUtf8('a@bücher.example'), true)
    assert.equal(needsSmtpUtf8('用户@x.example'), true)
  })
  test('toAsciiDomain turns U-labels into A-labels and leaves ASCII alone', () => {
    assert.equal(toAsciiDomain('bücher.example'), 'xn--bcher-kva.example')
    assert.equal(toAsciiDomain('Mail.例子.广告'), 'Mail.xn--fsqu00a.xn--4rr70v')
    assert.equal(toAsciiDomain('[192.0.2.1]'), '[192.0.2.1]')
    assert.throws(() => toAsciiDomain('ａｂｃ.example'), TypeError)
  })
  test('toAsciiAddress converts the domain but cannot convert a UTF-8 local part', () => {
    assert.equal(toAsciiAddress('a@bücher.example'), 'a@xn--bcher-kva.example')
    assert.equal(toAsciiAddress('a@b.example'), 'a@b.example')
    assert.throws(
      () => toAsciiAddress('jösé@b.example'),
      (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_UNSUPPORTED' && /SMTPUTF8/.test(err.message),
    )
  })
  test('unquoteLocalPart removes quotes and escapes', () => {
    assert.equal(unquoteLocalPart('"a\\ b\\"c"'), 'a b"c')
    assert.equal(unquoteLocalPart('plain.part'), 'plain.part')
  })
})
