import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, describe, test } from 'node:test'
import { compose, type Message, type MessageInput } from '../../src/message/index.ts'
import { assertParsesAs, PythonParser, readTwice, type Expected } from './round-trip.ts'

const python = new PythonParser()
after(() => python.close())

async function check(input: MessageInput, expected: Expected): Promise<{ message: Message; raw: string }> {
  const message = compose(input)
  const bytes = await readTwice(message)
  await assertParsesAs(bytes, expected, python)
  return { message, raw: bytes.toString('utf8') }
}

function headerBlock(raw: string): string {
  return raw.slice(0, raw.indexOf('\r\n\r\n'))
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path)
  } catch {
    return undefined
  }
}

const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex')

describe('compose: MIME structure', () => {
  test('writes a text-only message as one text/plain part in 7bit', async () => {
    const { raw } = await check(
      { from: 'a@sender.example', to: 'b@rcpt.example', subject: 'Hi', text: 'Hello\n.\nBye' },
      { subject: 'Hi', text: 'Hello\n.\nBye', structure: 'text/plain', from: [{ name: '', address: 'a@sender.example' }] },
    )
    assert.match(raw, /\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello\r\n\.\r\nBye\r\n$/)
  })

  test('writes an HTML-only message as one text/html part', async () => {
    await check({ from: 'a@sender.example', html: '<p>Hi</p>' }, { html: '<p>Hi</p>', structure: 'text/html' })
  })

  test('puts text and HTML in multipart/alternative, text first', async () => {
    await check({ from: 'a@sender.example', text: 'plain', html: '<b>rich</b>' }, { text: 'plain', html: '<b>rich</b>', structure: 'multipart/alternative(text/plain,text/html)' })
  })

  test('puts attachments in multipart/mixed after the body', async () => {
    await check(
      { from: 'a@sender.example', text: 'see attached', attachments: [{ filename: 'data.bin', content: Buffer.from([0, 1, 2, 255]) }, { filename: 'notes.txt', content: 'line 1\r\nline 2\r\n' }] },
      {
        text: 'see attached',
        structure: 'multipart/mixed(text/plain,application/octet-stream,text/plain)',
        attachments: [
          { filename: 'data.bin', contentType: 'application/octet-stream', content: Buffer.from([0, 1, 2, 255]) },
          { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('line 1\r\nline 2\r\n') },
        ],
      },
    )
  })

  test('nests inline images in multipart/related around the HTML, inside alternative, inside mixed', async () => {
    const { raw } = await check(
      {
        from: 'a@sender.example',
        text: 'text version',
        html: '<p><img src="cid:logo@sender.example"></p>',
        attachments: [
          { filename: 'logo.png', content: png, cid: 'logo@sender.example' },
          { filename: 'report.pdf', content: Buffer.from('%PDF-1.4 binary \x00\xff', 'latin1') },
        ],
      },
      {
        text: 'text version',
        html: '<p><img src="cid:logo@sender.example"></p>',
        structure: 'multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/pdf)',
        attachments: [
          { filename: 'logo.png', contentType: 'image/png', content: png, cid: 'logo@sender.example' },
          { filename: 'report.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 binary \x00\xff', 'latin1') },
        ],
      },
    )
    assert.match(raw, /Content-Type: multipart\/related; type="text\/html";/)
    assert.match(raw, /Content-ID: <logo@sender\.example>/)
  })

  test('writes multipart/related alone when the HTML has only inline images', async () => {
    await check(
      { from: 'a@sender.example', html: '<img src="cid:x1">', attachments: [{ filename: 'x.png', content: png, cid: 'x1' }] },
      { structure: 'multipart/related(text/html,image/png)', attachments: [{ filename: 'x.png', contentType: 'image/png', content: png, cid: 'x1' }] },
    )
  })

  test('keeps cid attachments in multipart/mixed when there is no HTML', async () => {
    await check(
      { from: 'a@sender.example', text: 'no html', attachments: [{ filename: 'x.png', content: png, cid: 'x1' }] },
      { structure: 'multipart/mixed(text/plain,image/png)', attachments: [{ filename: 'x.png', contentType: 'image/png', content: png, cid: 'x1', disposition: 'inline' }] },
    )
  })

  test('writes an empty text/plain body when there is nothing else', async () => {
    await check({ from: 'a@sender.example', subject: 'empty' }, { subject: 'empty', structure: 'text/plain' })
  })

  test('writes a message of attachments only as multipart/mixed', async () => {
    await check(
      { from: 'a@sender.example', attachments: [{ filename: 'a.bin', content: Buffer.from([7]) }] },
      { structure: 'multipart/mixed(application/octet-stream)', attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.from([7]) }] },
    )
  })
})

describe('compose: header fields', () => {
  test('writes the fields in order: Date, From, Sender, Reply-To, To, Cc, Subject, Message-ID, In-Reply-To, References, priority, MIME-Version, custom, Content-*', async () => {
    const { message } = await check(
      {
        from: 'Author <author@sender.example>',
        sender: 'secretary@sender.example',
        replyTo: 'replies@sender.example',
        to: 'to@rcpt.example',
        cc: 'cc@rcpt.example',
        bcc: 'hidden@rcpt.example',
        subject: 'Order',
        inReplyTo: '<parent@sender.example>',
        references: ['<root@sender.example>', 'parent@sender.example'],
        priority: 'high',
        headers: { 'X-Mailer': 'smtpkit' },
        text: 'x',
      },
      { subject: 'Order', sender: [{ name: '', address: 'secretary@sender.example' }], replyTo: [{ name: '', address: 'replies@sender.example' }], headers: [['X-Mailer', 'smtpkit']] },
    )
    assert.deepEqual(
      message.headers.map(([name]) => name),
      ['Date', 'From', 'Sender', 'Reply-To', 'To', 'Cc', 'Subject', 'Message-ID', 'In-Reply-To', 'References', 'X-Priority', 'X-MSMail-Priority', 'Importance', 'MIME-Version', 'X-Mailer', 'Content-Type', 'Content-Transfer-Encoding'],
    )
    assert.deepEqual(message.headers.find(([name]) => name === 'References'), ['References', '<root@sender.example> <parent@sender.example>'])
    assert.deepEqual(message.headers.find(([name]) => name === 'X-Priority'), ['X-Priority', '1 (Highest)'])
  })

  test('never writes Bcc, but puts Bcc recipients in the envelope', async () => {
    const { message, raw } = await check({ from: 'a@sender.example', to: 'b@rcpt.example', bcc: ['secret@rcpt.example', 'Team: t1@rcpt.example;'], text: 'x' }, { to: [{ name: '', address: 'b@rcpt.example' }] })
    assert.doesNotMatch(raw, /secret|t1@|^Bcc/im)
    assert.deepEqual(message.envelope(), { from: 'a@sender.example', to: ['b@rcpt.example', 'secret@rcpt.example', 't1@rcpt.example'] })
  })

  test('builds the envelope from Sender when given, and lists each recipient once', async () => {
    const { message } = await check(
      { from: ['a@sender.example', 'b@sender.example'], sender: 's@sender.example', to: ['x@rcpt.example', 'x@RCPT.example'], cc: 'x@rcpt.example, y@rcpt.example', bcc: 'y@rcpt.example' },
      { from: [{ name: '', address: 'a@sender.example' }, { name: '', address: 'b@sender.example' }], sender: [{ name: '', address: 's@sender.example' }] },
    )
    assert.deepEqual(message.envelope(), { from: 's@sender.example', to: ['x@rcpt.example', 'y@rcpt.example'] })
  })

  test('generates Date and a Message-ID at the From domain, fixed for every stream()', async () => {
    const before = Date.now()
    const message = compose({ from: 'a@Sender.Example', text: 'x' })
    const date = message.headers.find(([name]) => name === 'Date')![1]
    assert.ok(Math.abs(Date.parse(date) - before) < 5000)
    const messageId = message.headers.find(([name]) => name === 'Message-ID')![1]
    assert.match(messageId, /^<[0-9a-f]{32}@sender\.example>$/)
    await assertParsesAs(await readTwice(message), { messageId, date: new Date(Date.parse(date)) }, python)
  })

  test('uses the given Date and Message-ID', async () => {
    const date = new Date(Date.UTC(2024, 1, 29, 23, 5, 9))
    const { message } = await check({ from: 'a@sender.example', date, messageId: 'fixed.1@sender.example', text: 'x' }, { date, messageId: '<fixed.1@sender.example>' })
    assert.deepEqual(message.headers.slice(0, 1), [['Date', 'Thu, 29 Feb 2024 23:05:09 +0000']])
    assert.deepEqual(message.headers.find(([name]) => name === 'Message-ID'), ['Message-ID', '<fixed.1@sender.example>'])
  })

  test('keeps every line within 998 octets when words are too long to fold', async () => {
    const long = 'x'.repeat(2000)
    const references = Array.from({ length: 40 }, (_, index) => `<${index}.${'r'.repeat(60)}@sender.example>`)
    const { raw } = await check(
      {
        from: { name: long, address: 'a@sender.example' },
        to: { name: `"${long}"`, address: 'b@rcpt.example' },
        subject: `${long} ${'ü'.repeat(500)}`,
        references,
        headers: { 'X-Long': long },
        html: '<img src="cid:c">',
        attachments: [{ filename: `${long}.png`, content: Buffer.from([1]), cid: `${'c'.repeat(800)}@x` }],
      },
      {
        from: [{ name: long, address: 'a@sender.example' }],
        to: [{ name: `"${long}"`, address: 'b@rcpt.example' }],
        subject: `${long} ${'ü'.repeat(500)}`,
        headers: [['X-Long', long]],
        attachments: [{ filename: `${long}.png`, contentType: 'image/png', content: Buffer.from([1]), cid: `${'c'.repeat(800)}@x` }],
      },
    )
    assert.ok(raw.split('\r\n').every((line) => Buffer.byteLength(line) <= 998))
  })

  test('encodes non-ASCII subjects and display names, quotes names with specials, and converts IDN domains to A-labels', async () => {
    const { message } = await check(
      {
        from: { name: 'Zoë Ünal', address: 'zoe@bücher.example' },
        to: ['"Doe, Jane" <jane@rcpt.example>', 'Pörtner <p@mañana.example>', { name: 'Q. Public', address: 'q@rcpt.example' }],
        subject: 'Grüße — 日本語 and plain words',
        text: 'x',
      },
      {
        subject: 'Grüße — 日本語 and plain words',
        from: [{ name: 'Zoë Ünal', address: 'zoe@xn--bcher-kva.example' }],
        to: [
          { name: 'Doe, Jane', address: 'jane@rcpt.example' },
          { name: 'Pörtner', address: 'p@xn--maana-pta.example' },
          { name: 'Q. Public', address: 'q@rcpt.example' },
        ],
      },
    )
    assert.equal(message.smtpUtf8, false)
    assert.equal(message.eightBit, false)
    assert.deepEqual(message.envelope().to, ['jane@rcpt.example', 'p@xn--maana-pta.example', 'q@rcpt.example'])
  })

  test('folds a long subject and long address lists within 78 octets', async () => {
    const subject = 'Ünïcödé '.repeat(20).trim()
    const to = Array.from({ length: 20 }, (_, index) => ({ name: `Recipient Number ${index}`, address: `r${index}@rcpt.example` }))
    const { raw } = await check({ from: 'a@sender.example', to, subject, text: 'x' }, { subject, to })
    for (const line of headerBlock(raw).split('\r\n')) assert.ok(line.length <= 78, `${line.length}: ${line}`)
  })

  test('writes groups in To and Cc', async () => {
    await check(
      { from: 'a@sender.example', to: 'Friends: x@rcpt.example, Wye <y@rcpt.example>;', cc: 'Undisclosed recipients:;', text: 'x' },
      { to: [{ group: 'Friends', members: [{ name: '', address: 'x@rcpt.example' }, { name: 'Wye', address: 'y@rcpt.example' }] }], cc: [{ group: 'Undisclosed recipients', members: [] }] },
    )
  })

  test('writes custom headers from an object or an array, repeating array values and encoding non-ASCII', async () => {
    const { message } = await check(
      { from: 'a@sender.example', headers: { 'X-One': '1', 'X-Many': ['a', 'b'], 'X-Text': 'Grüße aus Köln' }, text: 'x' },
      { headers: [['X-One', '1'], ['X-Many', 'a'], ['X-Many', 'b'], ['X-Text', 'Grüße aus Köln']] },
    )
    assert.equal(message.headers.filter(([name]) => name === 'X-Many').length, 2)
    const second = await check({ from: 'a@sender.example', headers: [['List-Unsubscribe', '<mailto:u@sender.example>']] }, { headers: [['List-Unsubscribe', '<mailto:u@sender.example>']] })
    assert.deepEqual(second.message.headers.find(([name]) => name === 'List-Unsubscribe'), ['List-Unsubscribe', '<mailto:u@sender.example>'])
  })

  test('refuses custom headers that compose() writes itself, or that clash with priority', async () => {
    for (const name of ['Subject', 'from', 'BCC', 'Content-Type', 'MIME-Version', 'Message-ID']) {
      assert.throws(() => compose({ from: 'a@sender.example', headers: { [name]: 'x' } }), (error: unknown) => error instanceof TypeError && error.message.includes(name))
    }
    assert.throws(() => compose({ from: 'a@sender.example', priority: 'low', headers: { 'X-Priority': '1' } }), /conflicts with the priority/)
    await check({ from: 'a@sender.example', headers: { 'X-Priority': '1' } }, { headers: [['X-Priority', '1']] })
  })
})

describe('compose: refusing header injection and bad input', () => {
  const base = { from: 'a@sender.example' }
  const attempts: Array<[string, MessageInput]> = [
    ['a subject with CRLF', { ...base, subject: 'hi\r\nBcc: victim@x.example' }],
    ['a subject with a bare LF', { ...base, subject: 'hi\nBcc: victim@x.example' }],
    ['a subject with NUL', { ...base, subject: 'hi\0' }],
    ['a display name with CRLF', { from: { name: 'Eve\r\nBcc: v@x.example', address: 'e@sender.example' } }],
    ['an address string with CRLF', { ...base, to: 'b@rcpt.example\r\nBcc: v@x.example' }],
    ['an address object with LF', { ...base, to: { address: 'b@rcpt.example\nBcc: v@x.example' } }],
    ['a custom header value with CRLF', { ...base, headers: { 'X-A': 'ok\r\nBcc: v@x.example' } }],
    ['a custom header value with a bare CR', { ...base, headers: { 'X-A': 'ok\rBcc: v@x.example' } }],
    ['a custom header name with CRLF', { ...base, headers: { 'X-A\r\nBcc': 'v@x.example' } }],
    ['a custom header name with a colon', { ...base, headers: [['Bcc: v@x.example\r\nX', 'y']] }],
    ['a message id with CRLF', { ...base, messageId: '<a@b>\r\nBcc: v@x.example' }],
    ['references with CRLF', { ...base, references: ['<a@b>\r\nBcc: v@x.example'] }],
    ['a filename with CRLF', { ...base, attachments: [{ filename: 'a\r\nBcc: v@x.example', content: 'x' }] }],
    ['a content type with CRLF', { ...base, attachments: [{ contentType: 'text/plain\r\nBcc: v@x.example', content: 'x' }] }],
    ['a cid with CRLF', { ...base, attachments: [{ cid: 'x\r\nBcc: v@x.example', content: 'x' }] }],
    ['a cid with angle brackets', { ...base, attachments: [{ cid: 'x>\tBcc', content: 'x' }] }],
  ]
  for (const [what, input] of attempts) {
    test(`refuses ${what} with a TypeError`, () => {
      assert.throws(() => compose(input), TypeError)
    })
  }

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a missing from', {}, /from is required/],
    ['an unknown field', { ...base, replyto: 'x@y.example' }, /^compose\(\): unknown option "replyto"; did you mean "replyTo"\?$/],
    ['nodemailer\'s envelope', { ...base, envelope: { from: 'a@x.example' } }, /unknown option "envelope"; compose\(\) writes headers only; give the envelope to sendMail/],
    ['nodemailer\'s dkim', { ...base, dkim: {} }, /unknown option "dkim"; sign the composed message with dkimSign/],
    ['a non-boolean smtpUtf8', { ...base, smtpUtf8: 'yes' }, /option "smtpUtf8" must be boolean, got string/],
    ['attachments that are not an array', { ...base, attachments: { path: '/x' } }, /option "attachments" must be array, got object/],
    ['several From mailboxes without Sender', { from: 'a@x.example, b@x.example' }, /sender is required/],
    ['a group in From', { from: 'Team: a@x.example;' }, /invalid address in from/],
    ['a non-ASCII local part without smtpUtf8', { from: 'jörg@x.example' }, /needs smtpUtf8/],
    ['an invalid date', { ...base, date: 'not a date' }, /date is not a valid date/],
    ['an unknown priority', { ...base, priority: 'urgent' }, /priority must be/],
    ['text that is not UTF-8', { ...base, text: Buffer.from([0xff, 0xfe]) }, /text bytes are not valid UTF-8/],
    ['a text with a lone surrogate', { ...base, text: 'a\ud800' }, /well-formed/],
    ['an attachment with both content and path', { ...base, attachments: [{ content: 'x', path: '/x' }] }, /exactly one of content and path/],
    ['an attachment with neither', { ...base, attachments: [{ filename: 'x' }] }, /exactly one of content and path/],
    ['an empty file name', { ...base, attachments: [{ filename: '', content: 'x' }] }, /filename must not be empty/],
    ['a file name with a control character', { ...base, attachments: [{ filename: 'a\x1b[31m.txt', content: 'x' }] }, /must not contain control characters/],
    ['an attachment with an unknown field', { ...base, attachments: [{ content: 'x', contentTyp: 'text/plain' }] }, /^compose\(\) attachments\[0\]: unknown option "contentTyp"; did you mean "contentType"\?$/],
    ['nodemailer\'s href', { ...base, attachments: [{ filename: 'a.pdf', href: 'https://x.example/a.pdf' }] }, /attachments\[0\]: unknown option "href"; compose\(\) does not fetch URLs: download the file first and give content \(bytes, or a function returning a fresh stream of it\) or path/],
    ['a multipart attachment type', { ...base, attachments: [{ content: 'x', contentType: 'multipart/mixed' }] }, /attachments are leaf parts/],
    ['a malformed content type', { ...base, attachments: [{ content: 'x', contentType: 'text' }] }, /not a valid media type/],
    ['7bit for 8-bit content', { ...base, attachments: [{ content: 'é', contentTransferEncoding: '7bit' }] }, /cannot be sent as 7bit: it contains non-ASCII/],
    ['8bit without allow8bit', { ...base, attachments: [{ content: 'é', contentTransferEncoding: '8bit' }] }, /needs allow8bit/],
    ['7bit for a stream', { ...base, attachments: [{ content: () => Readable.from([]), contentTransferEncoding: '7bit' }] }, /must be given as a string or bytes/],
    ['base64 for message/rfc822', { ...base, attachments: [{ content: 'x', contentType: 'message/rfc822', contentTransferEncoding: 'base64' }] }, /RFC 2046 §5.2.1/],
    ['encoding with bytes content', { ...base, attachments: [{ content: Buffer.from('x'), encoding: 'base64' }] }, /needs string content/],
    ['content of a wrong type', { ...base, attachments: [{ content: 42 }] }, /content must be a string, bytes/],
  ]
  for (const [what, input, pattern] of invalid) {
    test(`refuses ${what}`, () => {
      assert.throws(() => compose(input as MessageInput), (error: unknown) => error instanceof TypeError && pattern.test(error.message))
    })
  }
})

describe('compose: bodies and transfer encodings', () => {
  test('keeps lone dots and normalises every line break in text to CRLF', async () => {
    const text = '.\nfirst\r\n.\rsecond\n..\n'
    const { raw } = await check({ from: 'a@sender.example', text, html: '<p>\n.\n</p>' }, { text, html: '<p>\n.\n</p>' })
    assert.ok(raw.includes('\r\n\r\n.\r\nfirst\r\n.\r\nsecond\r\n..\r\n'))
  })

  test('uses quoted-printable for text with lines over 998 octets', async () => {
    const text = `${'long '.repeat(300)}\nshort`
    const { raw } = await check({ from: 'a@sender.example', text }, { text })
    assert.match(raw, /Content-Transfer-Encoding: quoted-printable/)
  })

  test('uses base64 for mostly non-ASCII text and quoted-printable for mostly ASCII', async () => {
    const { raw } = await check({ from: 'a@sender.example', text: 'Grüße aus Köln, wie geht es dir heute?', html: '<p>日本語のテキストです</p>' }, { text: 'Grüße aus Köln, wie geht es dir heute?', html: '<p>日本語のテキストです</p>' })
    assert.match(raw, /text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/)
    assert.match(raw, /text\/html; charset=utf-8\r\nContent-Transfer-Encoding: base64/)
  })

  test('sends non-ASCII text as 8bit only when allow8bit, and says so in eightBit', async () => {
    const text = 'Grüße'
    const allowed = await check({ from: 'a@sender.example', text, allow8bit: true }, { text })
    assert.match(allowed.raw, /Content-Transfer-Encoding: 8bit/)
    assert.equal(allowed.message.eightBit, true)
    assert.equal(allowed.message.smtpUtf8, false)
    const plain = await check({ from: 'a@sender.example', text }, { text })
    assert.equal(plain.message.eightBit, false)
  })

  test('writes raw UTF-8 headers with smtpUtf8, and reports that sending needs SMTPUTF8 and 8BITMIME', async () => {
    const { message, raw } = await check(
      { from: 'Jörg <jörg@bücher.example>', to: 'Zoë <zoë@rcpt.example>', subject: 'Grüße aus Köln', text: 'Grüße', smtpUtf8: true },
      { subject: 'Grüße aus Köln', from: [{ name: 'Jörg', address: 'jörg@xn--bcher-kva.example' }], to: [{ name: 'Zoë', address: 'zoë@rcpt.example' }], text: 'Grüße', smtpUtf8: true },
    )
    assert.match(headerBlock(raw), /^Subject: Grüße aus Köln$/m)
    assert.match(headerBlock(raw), /^From: Jörg <jörg@xn--bcher-kva\.example>$/m)
    assert.equal(message.smtpUtf8, true)
    assert.equal(message.eightBit, true)
    assert.deepEqual(message.envelope(), { from: 'jörg@xn--bcher-kva.example', to: ['zoë@rcpt.example'] })
  })

  test('does not ask for SMTPUTF8 when smtpUtf8 is allowed but everything is ASCII', async () => {
    const { message } = await check({ from: 'a@sender.example', subject: 'plain', smtpUtf8: true }, { subject: 'plain' })
    assert.equal(message.smtpUtf8, false)
    assert.equal(message.eightBit, false)
  })
})

describe('compose: attachments', () => {
  test('encodes long and non-ASCII file names per RFC 2231, with an RFC 2047 name= fallback', async () => {
    const filename = 'Überweisungsbestätigung für das Quartal — sehr langer Dateiname, mit Komma.pdf'
    const { raw } = await check(
      { from: 'a@sender.example', attachments: [{ filename, content: Buffer.from([1, 2, 3]) }] },
      { attachments: [{ filename, contentType: 'application/pdf', content: Buffer.from([1, 2, 3]) }] },
    )
    assert.match(raw, /filename\*0\*=utf-8''%C3%9Cberweisungsbest%C3%A4tigung/)
    assert.match(raw, /filename\*1\*=/)
    assert.match(raw, /name="=\?UTF-8\?/)
  })

  test('quotes ASCII file names with spaces and specials', async () => {
    const { raw } = await check(
      { from: 'a@sender.example', attachments: [{ filename: 'my "quoted" file (1).txt', content: 'x' }] },
      { attachments: [{ filename: 'my "quoted" file (1).txt', contentType: 'text/plain', content: Buffer.from('x') }] },
    )
    assert.match(raw, /filename="my \\"quoted\\" file \(1\)\.txt"/)
  })

  test('decodes string content with the given Buffer encoding, and marks UTF-8 text as such', async () => {
    const { raw } = await check(
      { from: 'a@sender.example', attachments: [{ filename: 'b.bin', content: 'AAEC/w==', encoding: 'base64' }, { filename: 'u.txt', content: 'ünï\r\n' }] },
      {
        attachments: [
          { filename: 'b.bin', contentType: 'application/octet-stream', content: Buffer.from([0, 1, 2, 255]) },
          { filename: 'u.txt', contentType: 'text/plain', content: Buffer.from('ünï\r\n') },
        ],
      },
    )
    assert.match(raw, /Content-Type: text\/plain; charset=utf-8; name=u\.txt/)
  })

  test('keeps explicit content-type parameters', async () => {
    const { raw } = await check(
      { from: 'a@sender.example', attachments: [{ filename: 'invite.ics', content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', contentType: 'text/calendar; method=REQUEST; charset="utf-8"' }] },
      { attachments: [{ filename: 'invite.ics', contentType: 'text/calendar', content: Buffer.from('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n') }] },
    )
    assert.match(raw, /Content-Type: text\/calendar; method=REQUEST; charset=utf-8; name=invite\.ics/)
  })

  test('writes message/rfc822 attachments unencoded, as RFC 2046 requires', async () => {
    const inner = 'From: x@y.example\r\nSubject: inner\r\n\r\nbody\r\n'
    const { raw } = await check({ from: 'a@sender.example', text: 'fwd', attachments: [{ filename: 'fwd.eml', content: inner, contentType: 'message/rfc822' }] }, { text: 'fwd' })
    assert.match(raw, /Content-Type: message\/rfc822; name=fwd\.eml\r\nContent-Transfer-Encoding: 7bit/)
    assert.ok(raw.includes(inner))
  })

  test('honours contentTransferEncoding, keeping exact bytes with quoted-printable for non-text types', async () => {
    const bytes = Buffer.from('line\nwith bare LF and = sign\r\n', 'latin1')
    const { raw } = await check(
      { from: 'a@sender.example', attachments: [{ filename: 'x.bin', content: bytes, contentTransferEncoding: 'quoted-printable' }] },
      { attachments: [{ filename: 'x.bin', contentType: 'application/octet-stream', content: bytes }] },
    )
    assert.match(raw, /line=0Awith bare LF and =3D sign=0D=0A/)
  })

  test('reads path attachments afresh on every stream(), so the message can be re-read', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-message-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'Résumé.pdf')
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, index) => (index * 7) % 256))
    writeFileSync(path, bytes)
    const { message } = await check({ from: 'a@sender.example', text: 'cv', attachments: [{ path }] }, { attachments: [{ filename: 'Résumé.pdf', contentType: 'application/pdf', content: bytes }] })
    assert.equal(message.isRereadable, true)
  })

  test('reads path attachments of any size exactly: empty, one byte, and whole or partial multiples of the 64 KiB read', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-message-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    for (const size of [0, 1, 65_536, 131_077]) {
      const path = join(dir, `f${size}.bin`)
      const bytes = Buffer.from(Array.from({ length: size }, (_, index) => (index * 31 + 7) % 256))
      writeFileSync(path, bytes)
      await check({ from: 'a@sender.example', attachments: [{ path }] }, { attachments: [{ filename: `f${size}.bin`, contentType: 'application/octet-stream', content: bytes }] })
    }
  })

  test('closes a path attachment\'s file when the reader stops early', { skip: !existsSync('/proc/self/fd') }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-message-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'big.bin')
    writeFileSync(path, Buffer.alloc(1 << 20, 0x5a))
    const message = compose({ from: 'a@sender.example', attachments: [{ path }] })
    const openFiles = (): number => readdirSync('/proc/self/fd').filter((fd) => readlinkSafe(`/proc/self/fd/${fd}`) === path).length
    let stoppedWhileOpen = false
    for await (const chunk of message.stream()) {
      assert.ok(chunk.length > 0)
      if (openFiles() === 1) {
        stoppedWhileOpen = true
        break
      }
    }
    assert.ok(stoppedWhileOpen)
    assert.equal(openFiles(), 0)
  })

  test('calls factory attachments on every stream(), accepting string chunks too', async () => {
    let calls = 0
    const content = (): Readable => {
      calls++
      return Readable.from(['hello ', Buffer.from('world')])
    }
    await check({ from: 'a@sender.example', attachments: [{ filename: 'f.bin', content }] }, { attachments: [{ filename: 'f.bin', contentType: 'application/octet-stream', content: Buffer.from('hello world') }] })
    assert.equal(calls, 2)
  })

  test('makes a message with a one-shot stream single-use: a second stream() throws a clear Error', async () => {
    const message = compose({ from: 'a@sender.example', attachments: [{ filename: 'once.bin', content: Readable.from([Buffer.from('only once')]) }] })
    assert.equal(message.isRereadable, false)
    await assertParsesAs(await message.toBuffer(), { attachments: [{ filename: 'once.bin', contentType: 'application/octet-stream', content: Buffer.from('only once') }] }, python)
    assert.throws(() => message.stream(), /can be streamed only once: attachments\[0\] is a one-shot stream/)
  })

  test('passes on errors from a failing attachment stream', async () => {
    const message = compose({
      from: 'a@sender.example',
      attachments: [
        {
          content: async function* () {
            yield Buffer.from('start')
            throw new Error('disk on fire')
          },
        },
      ],
    })
    await assert.rejects(message.toBuffer(), /disk on fire/)
    const missing = compose({ from: 'a@sender.example', attachments: [{ path: join(tmpdir(), 'smtpkit-no-such-file-here') }] })
    await assert.rejects(missing.toBuffer(), { code: 'ENOENT' })
  })

  test('refuses chunks that are not bytes', async () => {
    const message = compose({ from: 'a@sender.example', attachments: [{ content: () => [42 as unknown as Uint8Array] }] })
    await assert.rejects(message.toBuffer(), /attachments\[0\] yielded a number chunk/)
  })
})
