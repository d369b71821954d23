import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { domainToASCII, domainToUnicode } from 'node:url'
import fc from 'fast-check'
import { formatAddressField, parseAddressList, parseReceivedAddressListFully, phrasePieces, readSimpleMailboxList, type AddressItem } from '../../src/message/address-header.ts'
import { decodeWords } from '../../src/message/parse/decode-words.ts'

const lists = { smtpUtf8: false, allowGroups: true }
const parse = (input: unknown, options = lists): AddressItem[] => parseAddressList(input, 'to', options)

describe('parseAddressList', () => {
  const valid: Array<[string, AddressItem[]]> = [
    ['a@b.example', [{ name: '', address: 'a@b.example' }]],
    ['<a@b.example>', [{ name: '', address: 'a@b.example' }]],
    ['Name <a@b.example>', [{ name: 'Name', address: 'a@b.example' }]],
    ['"Doe, Jane" <jane@b.example>', [{ name: 'Doe, Jane', address: 'jane@b.example' }]],
    ['John Q. Public <jqp@b.example>', [{ name: 'John Q. Public', address: 'jqp@b.example' }]],
    ['  Spaced   Out  <s@b.example>  ', [{ name: 'Spaced Out', address: 's@b.example' }]],
    ['"two  spaces\tand tab " <t@b.example>', [{ name: 'two spaces and tab', address: 't@b.example' }]],
    ['"a \\"quoted\\" \\\\ name" <q@b.example>', [{ name: 'a "quoted" \\ name', address: 'q@b.example' }]],
    ['a@b.example (Comment Name)', [{ name: 'Comment Name', address: 'a@b.example' }]],
    ['Name (ignored (nested)) <a@b.example>', [{ name: 'Name', address: 'a@b.example' }]],
    ['Jörg Müller <j@bücher.example>', [{ name: 'Jörg Müller', address: 'j@xn--bcher-kva.example' }]],
    ['j@XN--Bcher-kva.example', [{ name: '', address: 'j@xn--bcher-kva.example' }]],
    ['UPPER@EXAMPLE.COM', [{ name: '', address: 'UPPER@example.com' }]],
    // Spaces other than SP and HTAB are characters, not separators (they once looped forever).
    ['Jane\u00a0Doe <jane@b.example>', [{ name: 'Jane Doe', address: 'jane@b.example' }]],
    ['山田\u3000太郎 <t@b.example>', [{ name: '山田 太郎', address: 't@b.example' }]],
    ['"john doe"@b.example', [{ name: '', address: '"john doe"@b.example' }]],
    ['"plain"@b.example', [{ name: '', address: 'plain@b.example' }]],
    ['a@[192.0.2.1], b@[IPv6:2001:db8::1]', [{ name: '', address: 'a@[192.0.2.1]' }, { name: '', address: 'b@[IPv6:2001:db8::1]' }]],
    [
      'a@b.example, "x, y" <c@d.example>,, e@f.example,',
      [
        { name: '', address: 'a@b.example' },
        { name: 'x, y', address: 'c@d.example' },
        { name: '', address: 'e@f.example' },
      ],
    ],
    ['Team: a@b.example, Cee <c@d.example>;', [{ group: 'Team', members: [{ name: '', address: 'a@b.example' }, { name: 'Cee', address: 'c@d.example' }] }]],
    ['Undisclosed recipients:;, x@y.example', [{ group: 'Undisclosed recipients', members: [] }, { name: '', address: 'x@y.example' }]],
  ]
  for (const [input, want] of valid) {
    test(`parses ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parse(input), want)
    })
  }

  test('takes { name, address } objects and arrays mixing both forms', () => {
    assert.deepEqual(parse([{ name: 'Zoë', address: 'z@bücher.example' }, 'b@c.example', { address: '<d@e.example>' }]), [
      { name: 'Zoë', address: 'z@xn--bcher-kva.example' },
      { name: '', address: 'b@c.example' },
      { name: '', address: 'd@e.example' },
    ])
  })

  const invalid: Array<[unknown, RegExp]> = [
    ['plainword', /has no @domain/],
    ['a@', /missing domain/],
    ['@b.example', /missing local part/],
    ['a@b@c.example', /unexpected '@'/],
    ['John Doe j@b.example', /display name must be followed by <address>/],
    ['a..b@c.example', /invalid local part/],
    ['.a@c.example', /invalid local part/],
    ['a@-bad.example', /invalid domain/],
    ['a@b..example', /invalid domain/],
    ['a@under_score.example', /invalid domain/],
    ['a@[300.1.1.1]', /invalid address literal/],
    ['a@[IPv6:::::::]', /invalid address literal/],
    // domainToASCII would make these 0.0.0.123, 127.0.0.1 and example.com: not what was written.
    ['a@123', /invalid domain/],
    ['a@0x7f.1', /invalid domain/],
    ['a@1.2.3.4', /invalid domain/],
    ['a@exa\u00admple.com', /invalid domain/],
    ['a@\uff45xample.com', /invalid domain/],
    ['"unterminated <a@b.example>', /unterminated quoted string/],
    ['a@b.example (unterminated', /unterminated comment/],
    ['<a@b.example', /expected '>'/],
    ['<>', /missing local part/],
    ['Team: a@b.example', /not closed/],
    ['Team: Inner: a@b.example;;', /group is not allowed/],
    ['jörg@b.example', /needs smtpUtf8/],
    [`${'x'.repeat(65)}@b.example`, /longer than 64/],
    ['a@b.example\r\nBcc: evil@x.example', /must not contain CR/],
    ['a@b.example\nX: y', /must not contain LF/],
    [{ address: 'a@b.example, c@d.example' }, /exactly one address/],
    [{ name: 'x\r\ny', address: 'a@b.example' }, /to name must not contain CR/],
    [42, /must be an address string or a \{ name, address \} object/],
    [{ name: 'no address' }, /must be an address string/],
  ]
  for (const [input, pattern] of invalid) {
    test(`refuses ${JSON.stringify(input)} with a TypeError naming the field`, () => {
      assert.throws(
        () => parse(input),
        (error: unknown) => error instanceof TypeError && /\bto\b/.test(error.message) && pattern.test(error.message),
      )
    })
  }

  test('a no-break space in a local part is a non-ASCII character, refused without smtpUtf8', () => {
    assert.throws(() => parse('a\u00a0b@b.example'), /needs smtpUtf8/)
  })

  test('refuses groups where only mailboxes are allowed', () => {
    assert.throws(() => parseAddressList('Team: a@b.example;', 'from', { smtpUtf8: false, allowGroups: false }), /invalid address in from: .*group is not allowed/)
  })

  test('accepts a non-ASCII local part with smtpUtf8', () => {
    assert.deepEqual(parse('Jörg <jörg@bücher.example>', { smtpUtf8: true, allowGroups: true }), [{ name: 'Jörg', address: 'jörg@xn--bcher-kva.example' }])
  })
})

describe('phrasePieces', () => {
  const ascii = { smtpUtf8: false }
  test('writes atoms as they are', () => {
    assert.deepEqual(phrasePieces('Jane Doe', ascii), ['Jane', 'Doe'])
  })
  test('quotes names with specials, escaping quotes and backslashes', () => {
    assert.deepEqual(phrasePieces('Doe, "J" \\o/', ascii), ['"Doe, \\"J\\" \\\\o/"'])
    assert.deepEqual(phrasePieces('John Q. Public', ascii), ['"John Q. Public"'])
  })
  test('encodes non-ASCII names, and names that would read as encoded-words', () => {
    assert.deepEqual(phrasePieces('Zoë', ascii), ['=?UTF-8?Q?Zo=C3=AB?='])
    assert.deepEqual(phrasePieces('=?UTF-8?Q?x?=', ascii), ['=?UTF-8?B?PT9VVEYtOD9RP3g/PQ==?='])
  })
  test('writes non-ASCII names raw with smtpUtf8', () => {
    assert.deepEqual(phrasePieces('Zoë Ünal', { smtpUtf8: true }), ['Zoë', 'Ünal'])
    assert.deepEqual(phrasePieces('Zoë, Ünal', { smtpUtf8: true }), ['"Zoë, Ünal"'])
  })
})

describe('formatAddressField', () => {
  test('separates addresses with commas and folds between them at 78 octets', () => {
    const items = Array.from({ length: 8 }, (_, index) => ({ name: `Person ${index}`, address: `person${index}@example.test` }))
    const field = formatAddressField('To', items, { smtpUtf8: false })
    for (const line of field.split('\r\n')) assert.ok(line.length <= 78, line)
    assert.equal(field.replaceAll('\r\n', ''), `To: ${items.map((item) => `${item.name} <${item.address}>`).join(', ')}`)
  })
  test('writes groups with their members, and empty groups as name:;', () => {
    const field = formatAddressField('To', [{ group: 'Team', members: [{ name: '', address: 'a@b.example' }, { name: 'Cee', address: 'c@d.example' }] }, { group: 'Nobody', members: [] }], { smtpUtf8: false })
    assert.equal(field, 'To: Team: a@b.example, Cee <c@d.example>;, Nobody:;')
  })
})

describe('domains', () => {
  // What the URL parser's two-way conversion accepts, and gives back, for a domain.
  const viaUrlParser = (domain: string): string | undefined => {
    const ascii = domainToASCII(domain)
    const ldh = ascii !== '' && ascii.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label))
    const same = domainToUnicode(ascii) === domain.toLowerCase() || ascii === domain.toLowerCase()
    return ldh && same && !/^\d+\.\d+\.\d+\.\d+$/.test(ascii) ? ascii : undefined
  }

  test('a plain ASCII domain is read as the URL parser reads it, numbers, hex, A-labels and bad hyphens included', () => {
    const piece = fc.constantFrom('a', 'Z', '0', '9', '.', '-', 'x', 'n', '0x', 'xn--', 'com', '1.2')
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }).map((pieces) => pieces.join('')), (domain) => {
        let ours: string | undefined
        try {
          const [item] = parseAddressList(`a@${domain}`)
          ours = item && 'address' in item ? item.address : undefined
        } catch {
          ours = undefined
        }
        const expected = viaUrlParser(domain)
        assert.equal(ours, expected === undefined ? undefined : `a@${expected}`, domain)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('received address lists', () => {
  const parseFully = (text: string): AddressItem[] | string => {
    try {
      return parseReceivedAddressListFully(text, decodeWords)
    } catch (error) {
      return (error as Error).message
    }
  }

  test('property: a list read by the shortcut for simple lists is the list the parser reads', () => {
    const piece = fc.constantFrom(
      'a@b.test', 'x.y@Example.TEST', '<c@d.test>', 'Bob', 'Bob Builder', '"Bob, B."', '""', '"q\\"', '=?utf-8?q?J=C3=B6rg?=', '=?utf-8?b?w6k=?=', 'J\u00f6rg', ' ', '  ', '\t', ',', ', ', '<', '>', '@', '"', '(c)', ':', ';', '.', 'a', 'xn--bcher-kva.example', 'b\u00fccher.example', '1.2.3.4', '[1.2.3.4]', 'a'.repeat(65), '\r', '\u00a0',
    )
    let simple = 0
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }).map((pieces) => pieces.join('')), (text) => {
        const read = readSimpleMailboxList(text, decodeWords)
        if (read === undefined) return
        simple++
        assert.deepEqual(read, parseFully(text), text)
      }),
      { numRuns: 20000 },
    )
    // Most lists here are not simple; enough are for the comparison to mean something.
    assert.ok(simple > 1000, `only ${simple} simple lists`)
  })

  test('reads the common shapes with the shortcut', () => {
    for (const text of ['a@b.test', 'Bob Builder <bob@example.test>, =?UTF-8?Q?Carol_=C3=87elik?= <carol@example.test>', '"Doe, Jane" <jane@Example.Test>,, x@y.test ,']) {
      assert.deepEqual(readSimpleMailboxList(text, decodeWords), parseFully(text), text)
    }
    assert.deepEqual(readSimpleMailboxList('"Doe, Jane" <jane@Example.Test>', decodeWords), [{ name: 'Doe, Jane', address: 'jane@example.test' }])
  })

  test('a long list that is almost simple takes time linear in its length', () => {
    // Each of these fails the shortcut's pattern only at its end.
    for (const text of [`${'a '.repeat(100_000)}x`, `${'a'.repeat(200_000)}@`, `${'"a" '.repeat(50_000)}<a@b`, `${'a@b.test, '.repeat(20_000)}(`]) {
      const started = process.hrtime.bigint()
      readSimpleMailboxList(text, decodeWords)
      assert.ok(process.hrtime.bigint() - started < 5_000_000_000n, `${text.slice(0, 20)}...: too slow (a quadratic pattern takes minutes)`)
    }
  })
})
