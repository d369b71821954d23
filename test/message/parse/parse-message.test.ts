import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { MessageParseError, parseMessage, type ParsedMessage } from '../../../src/message/index.ts'
import { splitAt } from '../../helpers/split-at.ts'

const crlf = (lines: readonly string[]): string => lines.join('\r\n')

const simple = crlf([
  'From: "Ada, Countess" <ada@example.test>',
  'To: bob@example.test, Team: carol@example.test, "Dave" <dave@example.test>;',
  'Cc: =?UTF-8?Q?J=C3=BCrgen?= <j@example.test>',
  'Subject: =?UTF-8?B?R3LDvMOfZQ==?= from',
  '  the kitchen',
  'Date: Mon, 02 Jun 2025 10:00:00 +0200 (CEST)',
  'Message-ID: <m1@example.test>',
  'In-Reply-To: <m0@example.test>',
  'References: <a@example.test>',
  ' <m0@example.test>',
  'X-Priority: 5 (Lowest)',
  'X-Custom: one',
  'x-custom: two',
  '',
  'Hello,',
  '.',
  'Bye',
  '',
])

describe('parseMessage: header fields', () => {
  test('reads the common fields decoded, and keeps every field in order, raw and decoded', async () => {
    const message = await parseMessage(simple)
    assert.deepEqual(message.from, [{ name: 'Ada, Countess', address: 'ada@example.test' }])
    assert.deepEqual(message.to, [
      { name: '', address: 'bob@example.test' },
      { group: 'Team', members: [{ name: '', address: 'carol@example.test' }, { name: 'Dave', address: 'dave@example.test' }] },
    ])
    assert.deepEqual(message.cc, [{ name: 'Jürgen', address: 'j@example.test' }])
    assert.equal(message.subject, 'Grüße from  the kitchen')
    assert.equal(message.date?.toISOString(), '2025-06-02T08:00:00.000Z')
    assert.equal(message.messageId, '<m1@example.test>')
    assert.equal(message.inReplyTo, '<m0@example.test>')
    assert.deepEqual(message.references, ['<a@example.test>', '<m0@example.test>'])
    assert.equal(message.priority, 'low')
    assert.deepEqual(message.headers.getAll('X-CUSTOM'), ['one', 'two'])
    assert.equal(message.headers.get('subject'), 'Grüße from  the kitchen')
    assert.equal(message.headers.getFields('subject')[0]!.raw, 'Subject: =?UTF-8?B?R3LDvMOfZQ==?= from\r\n  the kitchen')
    assert.deepEqual([...message.headers].map((field) => field.name).slice(0, 3), ['From', 'To', 'Cc'])
    assert.equal(message.text, 'Hello,\n.\nBye\n')
    assert.equal(message.html, undefined)
    assert.deepEqual(message.attachments, [])
    assert.deepEqual(message.defects, [])
  })

  const words: [string, string, string][] = [
    ['adjacent words lose the space between them', '=?utf-8?q?a?= =?utf-8?q?b?=', 'ab'],
    ['a character split across two words comes out whole', '=?utf-8?b?w6k=?= x =?UTF-8?B?4pw=?= =?UTF-8?B?kw==?=', 'é x ✓'],
    ['lower-case encoding letters and charset', '=?iso-8859-1?q?caf=e9?=', 'café'],
    ['a word touching text without spaces', 're:=?utf-8?q?caf=C3=A9?=!', 're:café!'],
    ['a language suffix (RFC 2231 §5)', '=?utf-8*en?q?hi?=', 'hi'],
    ['an unknown charset falls back without throwing', '=?x-unknown?q?caf=C3=A9?=', 'café'],
    ['ISO-2022-JP', '=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=', '日本語'],
    ['KOI8-R', '=?koi8-r?b?8NLJ18XU?=', 'Привет'],
    ['a broken word stays as it is', '=?utf-8?q?unterminated', '=?utf-8?q?unterminated'],
  ]
  for (const [name, encoded, decoded] of words) {
    test(`RFC 2047: ${name}`, async () => {
      assert.equal((await parseMessage(`Subject: ${encoded}\r\n\r\n`)).subject, decoded)
    })
  }

  test('raw UTF-8 header fields (RFC 6532) and raw Latin-1 ones are both read', async () => {
    const bytes = Buffer.concat([Buffer.from('Subject: Grüße\r\nX-Old: caf'), Buffer.from([0xe9]), Buffer.from('\r\n\r\n')])
    const message = await parseMessage(bytes)
    assert.equal(message.subject, 'Grüße')
    assert.equal(message.headers.get('x-old'), 'café')
  })

  test('an invalid address list is read item by item and reported', async () => {
    const message = await parseMessage('To: good@example.test, broken <not an address>, "Q" <q@example.test>\r\n\r\n')
    assert.deepEqual(message.to.map((item) => ('address' in item ? item.address : item.group)), ['good@example.test', 'not an address', 'q@example.test'])
    assert.match(message.defects.join('\n'), /to: invalid address list/)
  })
})

const multipart = crlf([
  'From: a@example.test',
  'Subject: parts',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'preamble',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=E9 soft=',
  'break   ',
  'end',
  '--inner',
  'Content-Type: multipart/related; boundary="rel"',
  '',
  '--rel',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<img src="cid:logo@x">',
  '--rel',
  'Content-Type: image/png',
  'Content-ID: <logo@x>',
  'Content-Transfer-Encoding: base64',
  '',
  'AAEC',
  '/w==',
  '--rel--',
  '--inner--',
  '--outer',
  'Content-Type: application/octet-stream; name="=?UTF-8?Q?fallback.bin?="',
  'Content-Disposition: attachment;',
  " filename*0*=utf-8''na%C3%AF;",
  ' filename*1="ve.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  'aGVs bG8=',
  '--outer--',
  'epilogue',
  '',
])

describe('parseMessage: structure', () => {
  test('multipart/mixed, alternative and related, QP and base64, RFC 2231 continuations, cid references', async () => {
    const message = await parseMessage(multipart)
    assert.equal(message.text, 'café softbreak\nend')
    assert.equal(message.html, '<img src="cid:logo@x">')
    assert.deepEqual(
      message.attachments.map((a) => [a.filename, a.contentType, a.disposition, a.contentId, a.isReferenced, a.content.toString('hex'), a.size]),
      [
        [undefined, 'image/png', undefined, 'logo@x', true, '000102ff', 4],
        ['naïve.bin', 'application/octet-stream', 'attachment', undefined, false, Buffer.from('hello').toString('hex'), 5],
      ],
    )
    assert.equal(message.attachments[1]!.checksum, createHash('sha256').update('hello').digest('hex'))
    assert.deepEqual(message.defects, [])
  })

  test('attachments of several megabytes, in base64, quoted-printable and binary, arrive byte for byte from 64 KiB chunks', async () => {
    // Past 1 MiB a kept body grows in place; these cross that point mid-chunk.
    const content = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 2654435761) >>> 24))
    const text = Buffer.from('line of text = with an equals sign\r\n'.repeat(80_000))
    const qp = text.toString('latin1').replace(/=/g, '=3D')
    const raw = Buffer.concat([
      Buffer.from(crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'see attached', '--b', 'Content-Type: application/octet-stream; name=a.bin', 'Content-Transfer-Encoding: base64', '', ''])),
      Buffer.from(content.toString('base64').replace(/.{76}/g, '$&\r\n')),
      Buffer.from(crlf(['', '--b', 'Content-Type: text/csv; name=b.csv', 'Content-Transfer-Encoding: quoted-printable', '', qp])),
      Buffer.from(crlf(['', '--b', 'Content-Type: application/octet-stream; name=c.bin', 'Content-Transfer-Encoding: binary', '', ''])),
      content,
      Buffer.from('\r\n--b--\r\n'),
    ])
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = 0; at < raw.length; at += 64 * 1024) yield raw.subarray(at, at + 64 * 1024)
    }
    const message = await parseMessage(chunks())
    assert.deepEqual(message.attachments.map((attachment) => attachment.filename), ['a.bin', 'b.csv', 'c.bin'])
    for (const [index, expected] of [content, text, content].entries()) {
      const attachment = message.attachments[index]!
      assert.ok(attachment.content.equals(expected), `${attachment.filename} has its exact bytes`)
      assert.equal(attachment.size, expected.length)
      assert.equal(attachment.checksum, createHash('sha256').update(expected).digest('hex'))
    }
  })

  test('LF-only and CR-only line ends parse like CRLF', async () => {
    const expected = summary(await parseMessage(multipart))
    assert.deepEqual(summary(await parseMessage(multipart.replace(/\r\n/g, '\n'))), expected)
    assert.deepEqual(summary(await parseMessage(multipart.replace(/\r\n/g, '\r'))), expected)
  })

  test('property: any chunking of the input gives the same message', async () => {
    const bytes = Buffer.from(multipart)
    const expected = summary(await parseMessage(bytes))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        assert.deepEqual(summary(await parseMessage(splitAt(bytes, cuts))), expected)
      }),
      { numRuns: 150 },
    )
  })

  test('property: any chunking of a message with bodies of many kilobytes gives the same message', async () => {
    // Chunks longer than the bytes a held line break or boundary start is joined with (4 KiB).
    const line = fc.constantFrom('text', '--b', '--bb', '--b-', '=', '=3D', '=\r\n', ' \t', 'x'.repeat(700), 'QUJD', 'é').map((piece) => piece)
    const lineEnd = fc.constantFrom('\r\n', '\n', '\r')
    const body = fc.array(fc.tuple(fc.array(line, { maxLength: 12 }), lineEnd).map(([pieces, end]) => pieces.join('') + end), { maxLength: 60 }).map((lines) => lines.join(''))
    const part = fc.tuple(fc.constantFrom('base64', 'quoted-printable', '8bit'), body).map(([encoding, text]) => `--b\r\nContent-Type: application/x-y\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${text}\r\n`)
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 200_000 }), { maxLength: 6 }), async (parts, cuts) => {
        const bytes = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`)
        assert.deepEqual(summary(await parseMessage(splitAt(bytes, cuts))), summary(await parseMessage(bytes)))
      }),
      { numRuns: 150 },
    )
  })

  test('a missing close-delimiter, a boundary never seen, a header with no body all parse', async () => {
    const unclosed = await parseMessage('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x')
    assert.equal(unclosed.text, 'first')
    assert.equal(unclosed.html, '<p>x')
    assert.match(unclosed.defects.join(), /without its close-delimiter/)
    const neverSeen = await parseMessage('Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts at all\r\n')
    assert.equal(neverSeen.text, undefined)
    assert.deepEqual(neverSeen.attachments, [])
    const headerOnly = await parseMessage('Subject: only a header')
    assert.equal(headerOnly.subject, 'only a header')
    assert.equal(headerOnly.text, '')
    const empty = await parseMessage('')
    assert.equal(empty.headers.size, 0)
  })

  test('a part with no blank line after its header, and a part that is only a boundary away', async () => {
    const message = await parseMessage('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nbody without blank line\r\n--b\r\n--b--\r\n')
    assert.equal(message.text, 'body without blank line')
  })

  test('a boundary that is a prefix of another line is not a delimiter', async () => {
    const message = await parseMessage('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx\r\n--b --\r\n-- b\r\n--b--\r\n')
    assert.equal(message.text, '--bx\n--b --\n-- b')
  })

  test('an attached message is parsed and kept raw', async () => {
    const inner = crlf(['From: inner@example.test', 'Subject: =?utf-8?q?inn=C3=A9r?=', 'Content-Type: text/plain', '', 'inner body'])
    const outer = crlf(['From: outer@example.test', 'Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'outer body', '--b', 'Content-Type: message/rfc822', '', inner, '--b--', ''])
    const message = await parseMessage(outer)
    assert.equal(message.text, 'outer body')
    assert.equal(message.attachments.length, 1)
    const attached = message.attachments[0]!
    assert.equal(attached.contentType, 'message/rfc822')
    assert.equal(attached.content.toString(), inner)
    assert.equal(attached.message?.subject, 'innér')
    assert.equal(attached.message?.text, 'inner body')
  })

  test('multipart/signed keeps the signed part exactly as it arrived', async () => {
    const signedPart = 'Content-Type: text/plain;\r\n  charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsigned =\r\ntext  \r\n'
    const raw = crlf(['Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary=s', '', '--s', signedPart, '--s', 'Content-Type: application/pgp-signature', '', 'SIG', '--s--', ''])
    const message = await parseMessage(raw)
    assert.equal(message.signed?.content.toString(), signedPart)
    assert.equal(message.signed?.signature.toString(), 'SIG')
    assert.equal(message.signed?.protocol, 'application/pgp-signature')
    assert.equal(message.signed?.micalg, 'pgp-sha256')
    assert.equal(message.text, 'signed text\n')
  })

  test('a delivery status notification gives a report with each recipient and the returned headers', async () => {
    const raw = crlf([
      'From: MAILER-DAEMON@mx.example.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.test',
      'Original-Envelope-Id: env-1',
      '',
      'Final-Recipient: rfc822; nobody@example.net',
      'Original-Recipient: rfc822;nobody@example.net',
      'Action: failed',
      'Status: 5.1.1',
      'Remote-MTA: dns; mx.example.net',
      'Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address',
      '    rejected: User unknown',
      '',
      'Final-Recipient: rfc822; slow@example.net',
      'Action: delayed',
      'Status: 4.4.1',
      '',
      '--r',
      'Content-Type: text/rfc822-headers',
      '',
      'From: me@example.test',
      'Subject: the original',
      '',
      '--r--',
      '',
    ])
    const { report } = await parseMessage(raw)
    assert.equal(report?.reportingMta, 'mx.example.test')
    assert.equal(report?.originalEnvelopeId, 'env-1')
    assert.deepEqual(
      report?.recipients.map((r) => [r.finalRecipient, r.originalRecipient, r.action, r.status, r.remoteMta, r.diagnosticCode]),
      [
        ['nobody@example.net', 'nobody@example.net', 'failed', '5.1.1', 'mx.example.net', '550 5.1.1 <nobody@example.net>: Recipient address    rejected: User unknown'],
        ['slow@example.net', undefined, 'delayed', '4.4.1', undefined, undefined],
      ],
    )
    assert.equal(report?.returnedHeaders?.get('subject'), 'the original')
  })

  test('charsets Node knows are decoded; an unknown one falls back and says so', async () => {
    const sjis = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), Buffer.from([0x93, 0xfa, 0x96, 0x7b])])
    assert.equal((await parseMessage(sjis)).text, '日本')
    const unknown = await parseMessage(Buffer.from('Content-Type: text/plain; charset=x-martian\r\n\r\ncafé'))
    assert.equal(unknown.text, 'café')
    assert.match(unknown.defects.join(), /unknown charset "x-martian", read as UTF-8/)
  })

  // Bytes as Python's codecs write them; Node's TextDecoder (full ICU) reads every one, no iconv.
  const charsets: [string, string, string][] = [
    ['GB18030', 'd6d0cec4d3cabcfe', '中文邮件'],
    ['Big5', 'a4a4a4e5b66ca5f3', '中文郵件'],
    ['EUC-KR', 'c7d1b1b9beee', '한국어'],
    ['ISO-2022-JP', '1b2442467c4b5c386c1b2842', '日本語'],
    ['Shift_JIS', '93fa967b8cea', '日本語'],
    ['KOI8-R', 'f0d2c9d7c5d4', 'Привет'],
    ['windows-1251', 'cff0e8e2e5f2', 'Привет'],
    ['windows-1252', '636166e92080', 'café €'],
    ['ISO-8859-15', 'a475726f', '€uro'],
    ['cp932', '93fa967b8cea', '日本語'],
  ]
  for (const [charset, hex, text] of charsets) {
    test(`${charset} in a body, an encoded-word and an RFC 2231 parameter`, async () => {
      const bytes = Buffer.from(hex, 'hex')
      const message = await parseMessage(Buffer.concat([
        Buffer.from(`Subject: =?${charset}?B?${bytes.toString('base64')}?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`),
        bytes,
        Buffer.from(`\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=${charset}''${[...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}.txt\r\n\r\nx\r\n--b--\r\n`),
      ]))
      assert.equal(message.subject, text)
      assert.equal(message.text, text)
      assert.equal(message.attachments[0]?.filename, `${text}.txt`)
      assert.deepEqual(message.defects, [])
    })
  }

  test('an unknown charset in a header field or an RFC 2231 parameter falls back and says where', async () => {
    const message = await parseMessage(crlf([
      'Subject: =?x-martian?q?caf=C3=A9?=',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      "Content-Type: application/octet-stream; name*=x-venusian''na%C3%AFve.bin",
      "Content-Disposition: attachment; filename*=x-venusian''na%C3%AFve.bin",
      '',
      'x',
      '--b--',
      '',
    ]))
    assert.equal(message.subject, 'café')
    assert.equal(message.attachments[0]?.filename, 'naïve.bin')
    assert.match(message.defects.join('\n'), /^part \(message\): Subject: unknown charset "x-martian", read as UTF-8$/m)
    assert.match(message.defects.join('\n'), /^part 1: parameter name: unknown charset "x-venusian", read as UTF-8$/m)
    assert.match(message.defects.join('\n'), /^part 1: parameter filename: unknown charset "x-venusian", read as UTF-8$/m)
  })
})

describe('parseMessage: text in UTF-8', () => {
  test('property: a UTF-8 body reads as TextDecoder reads it (a leading byte order mark dropped, each bad sequence replaced)', async () => {
    const decoder = new TextDecoder('utf-8')
    const bom = await parseMessage(Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\n\xef\xbb\xbfa\xff', 'latin1'))
    assert.equal(bom.text, 'a\ufffd')
    const byte = fc.constantFrom(0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xf4, 0x90, 0xc0, 0xf5, 0xff, 0x41, 0x80, 0x0d, 0x0a)
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.array(byte, { maxLength: 30 }).map((bytes) => Uint8Array.from(bytes))), async (body) => {
        const header = Buffer.from('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n')
        const message = await parseMessage(Buffer.concat([header, body]))
        assert.equal(message.text, decoder.decode(body).replace(/\r\n?/g, '\n'))
      }),
      { numRuns: 2000 },
    )
  })
})

describe('parseMessage: bounds on hostile input', () => {
  test('nesting beyond maxDepth is kept as an opaque part and flagged', async () => {
    let raw = 'leaf\r\n'
    for (let depth = 5; depth >= 0; depth--) raw = `Content-Type: multipart/mixed; boundary=b${depth}\r\n\r\n--b${depth}\r\n${raw}--b${depth}--\r\n`
    const message = await parseMessage(raw, { maxDepth: 3 })
    assert.equal(message.isTruncated, true)
    assert.equal(message.attachments[0]?.contentType, 'multipart/mixed')
    assert.match(message.defects.join(), /deeper than maxDepth \(3\)/)
    assert.equal((await parseMessage(raw)).text, 'leaf')
  })

  test('parts beyond maxParts are skipped and flagged', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => `--b\r\nContent-Type: application/x-n\r\n\r\n${i}\r\n`).join('')
    const message = await parseMessage(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`, { maxParts: 10 })
    assert.equal(message.attachments.length, 9)
    assert.equal(message.isTruncated, true)
  })

  test('a header block over maxHeaderBytes keeps the fields that fit and is flagged', async () => {
    const message = await parseMessage(`Subject: kept\r\nX-Big: ${'x'.repeat(5000)}\r\nX-After: dropped\r\n\r\nbody`, { maxHeaderBytes: 1024 })
    assert.equal(message.subject, 'kept')
    assert.equal(message.headers.get('x-after'), undefined)
    assert.equal(message.text, 'body')
    assert.equal(message.isTruncated, true)
  })

  test('a header line without end is not held beyond maxLineBytes', async () => {
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('Subject: ')
      for (let i = 0; i < 200; i++) yield Buffer.alloc(10_000, 0x61)
      yield Buffer.from('\r\n\r\nbody')
    }
    const message = await parseMessage(endless(), { maxLineBytes: 4096 })
    assert.equal(message.subject, undefined)
    assert.equal(message.text, 'body')
    assert.equal(message.isTruncated, true)
  })

  test('more decoded content than maxDecodedBytes rejects with ERR_MESSAGE_TOO_LARGE', async () => {
    const raw = `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(3000).toString('base64')}`
    await assert.rejects(parseMessage(raw, { maxDecodedBytes: 1000 }), (error: unknown) => error instanceof MessageParseError && error.code === 'ERR_MESSAGE_TOO_LARGE')
  })

  test('maxDecodedBytes holds for a body of many megabytes, and across parts', async () => {
    const body = Buffer.alloc(3 << 20, 7).toString('base64').replace(/.{76}/g, '$&\r\n')
    const one = `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}`
    const tooLarge = (error: unknown): boolean => error instanceof MessageParseError && error.code === 'ERR_MESSAGE_TOO_LARGE'
    await assert.rejects(parseMessage(one, { maxDecodedBytes: 2 << 20 }), tooLarge)
    assert.equal((await parseMessage(one, { maxDecodedBytes: 3 << 20 })).attachments[0]!.size, 3 << 20)
    const part = `--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`
    await assert.rejects(parseMessage(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${part}${part}--b--\r\n`, { maxDecodedBytes: 5 << 20 }), tooLarge)
  })

  test('options: unknown keys and wrong types are a TypeError naming them', async () => {
    await assert.rejects(parseMessage('', { maxDepht: 3 } as never), { name: 'TypeError', message: /"maxDepht".*did you mean "maxDepth"/ })
    await assert.rejects(parseMessage('', { maxParts: '3' } as never), { name: 'TypeError', message: /"maxParts" must be number/ })
    await assert.rejects(parseMessage('', { maxParts: 0 }), RangeError)
  })

  // Each source is 32 MiB of one hostile pattern after a header, handed out as the same 64 KiB
  // buffer again and again: whatever the parser holds of it shows in arrayBuffers.
  const hostile: [string, string, string][] = [
    ['a boundary prefix on every line', 'Content-Type: multipart/mixed; boundary=bbbbbbbbbbbbbbbbbbbb\r\n\r\n', '\r\n--bbbbbbbbbbbbbbbbbbb'],
    ['transport padding that never ends', 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b', ' '],
    ['a part header that never ends', 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-A: a\r\n', ' continued\r\n'],
    ['a quoted-printable line that never ends', 'Content-Type: application/x-y\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n', '=4'],
    ['empty parts without end', 'Content-Type: multipart/mixed; boundary=b\r\n\r\n', '--b\r\n\r\n'],
    ['multiparts nested without end', 'Content-Type: multipart/mixed; boundary=b\r\n\r\n', '--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'],
    ['a text body larger than maxDecodedBytes', 'Content-Type: text/plain\r\n\r\n', 'text '],
  ]
  for (const [name, header, pattern] of hostile) {
    test(`hostile input, ${name}: parses or rejects with ERR_MESSAGE_TOO_LARGE, holding no more than a few chunks`, async () => {
      const chunk = Buffer.from(pattern.repeat(Math.ceil(65536 / pattern.length)))
      const baseline = process.memoryUsage().arrayBuffers
      let held = 0
      async function* source(): AsyncGenerator<Buffer> {
        yield Buffer.from(header)
        for (let sent = 0; sent < 32 << 20; sent += chunk.length) {
          held = Math.max(held, process.memoryUsage().arrayBuffers - baseline)
          yield chunk
        }
      }
      try {
        const message = await parseMessage(source(), { maxDecodedBytes: 1 << 20 })
        assert.ok(message.attachments.length <= 1000)
      } catch (error) {
        assert.ok(error instanceof MessageParseError && error.code === 'ERR_MESSAGE_TOO_LARGE', String(error))
      }
      assert.ok(held < 8 << 20, `held ${held} bytes of buffers`)
    })
  }

  test('property: arbitrary bytes parse without throwing', async () => {
    const pieces = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom('\r\n', '\n', '\r', '--b', '--b--', 'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: message/rfc822\r\n', 'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: quoted-printable\r\n', '=?utf-8?b?', '?=', '=', ':', ' ').map((text) => Buffer.from(text)),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(pieces, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), async (parts, cuts) => {
        const bytes = Buffer.concat(parts)
        const whole = summary(await parseMessage(bytes))
        assert.deepEqual(summary(await parseMessage(splitAt(bytes, cuts))), whole)
      }),
      { numRuns: 300 },
    )
  })
})

function summary(message: ParsedMessage): unknown {
  return {
    headers: [...message.headers].map((field) => [field.name, field.value, field.raw]),
    text: message.text,
    html: message.html,
    attachments: message.attachments.map((a) => [a.filename, a.contentType, a.contentId, a.content.toString('hex'), a.message === undefined ? null : summary(a.message)]),
    defects: message.defects,
    report: message.report,
    signed: message.signed,
  }
}
