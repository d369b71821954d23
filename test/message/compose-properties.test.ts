// Property tests: random messages composed and read back by Python's email package and by
// mailparser, which must both find exactly what went in.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import fc from 'fast-check'
import { compose, type Attachment } from '../../src/message/index.ts'
import { assertParsesAs, PythonParser, readTwice, type ExpectedAttachment } from './round-trip.ts'

const python = new PythonParser()
after(() => python.close())

// Runs per property; set MESSAGE_PROPERTY_RUNS=1000 for a longer hunt (about half a minute per
// thousand with both parsers).
const RUNS = Number(process.env.MESSAGE_PROPERTY_RUNS ?? 40)

// Header text: any Unicode but control characters (tab aside) and lone surrogates, with the
// characters that stress quoting, encoded-words and folding mixed in.
const headerText = (maxPieces: number): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
        { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
        { weight: 2, arbitrary: fc.constantFrom(' ', '  ', '"', '\\', ',', ';', '<', '>', '(', ')', '@', ':', '=?', '?=', '=?UTF-8?Q?x?=', '\t', '.', 'é', '日本', '😀', 'word') },
        { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100), 'ü'.repeat(60)) },
      ),
      { maxLength: maxPieces },
    )
    .map((parts) => parts.join('').replace(/[\x00-\x08\x0a-\x1f\x7f]|[\ud800-\udfff]/gu, ''))

// Labels with '--' could be malformed A-labels (xn--), which compose() rightly refuses.
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/).filter((text) => !text.includes('--'))
const domain = fc.oneof(
  fc.tuple(label, fc.constantFrom('example', 'test', 'co.uk')).map(([name, tld]) => `${name}.${tld}`),
  fc.constantFrom('bücher.example', 'mañana.test', '日本.example', 'пример.test'),
)
const localPart = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(?:\.[A-Za-z0-9_-]{1,8})?$/)
const mailbox = fc.record({ name: headerText(6), address: fc.tuple(localPart, domain).map(([local, host]) => `${local}@${host}`) })

// Bodies with long lines, lone dots, mixed CR/LF/CRLF, trailing whitespace and Unicode.
const body = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
      { weight: 3, arbitrary: fc.constantFrom('\r\n', '\n', '\r', '.', '\n.\n', '\r\n.\r\n', ' ', '\t', '=', 'From ', '--', '--=_') },
      { weight: 1, arbitrary: fc.constantFrom('a'.repeat(1200), 'ä'.repeat(700), `${'word '.repeat(250)}`) },
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join('').replace(/\0|[\ud800-\udfff]/gu, ''))

const attachment = fc.record({
  filename: headerText(5)
    .map((name) => name.replace(/[\x00-\x1f\x7f]/g, ''))
    .filter((name) => name.trim() !== ''),
  bytes: fc.oneof(fc.uint8Array({ maxLength: 3000 }), body.map((text) => new Uint8Array(Buffer.from(text)))),
  contentType: fc.constantFrom('application/octet-stream', 'image/png', 'text/plain', 'application/pdf'),
  inline: fc.boolean(),
})

test('random subjects, display names, bodies and attachments round-trip through Python and mailparser', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        subject: headerText(12),
        from: mailbox,
        to: fc.array(mailbox, { minLength: 1, maxLength: 3 }),
        cc: fc.array(mailbox, { maxLength: 2 }),
        text: fc.option(body, { nil: undefined }),
        html: fc.option(body, { nil: undefined }),
        attachments: fc.array(attachment, { maxLength: 3 }),
        custom: headerText(8),
      }),
      async (input) => {
        // An inline text/plain part is body text to mailparser, an attachment to Python: both
        // fair readings, so only other types are made inline.
        for (const a of input.attachments) a.inline &&= a.contentType !== 'text/plain'
        const attachments: Attachment[] = input.attachments.map((a, index) => ({
          filename: a.filename,
          content: a.bytes,
          contentType: a.contentType,
          ...(a.inline ? { cid: `part${index}@test` } : {}),
        }))
        const message = compose({
          from: input.from,
          to: input.to,
          ...(input.cc.length > 0 ? { cc: input.cc } : {}),
          subject: input.subject,
          ...(input.text !== undefined ? { text: input.text } : {}),
          ...(input.html !== undefined ? { html: input.html } : {}),
          attachments,
          headers: { 'X-Random': input.custom },
        })
        const expectedAttachments: ExpectedAttachment[] = input.attachments.map((a, index) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: a.bytes,
          ...(a.inline ? { cid: `part${index}@test` } : {}),
        }))
        // compose() trims display names and collapses their whitespace, as readers do.
        const trimmed = (box: { name: string; address: string }): { name: string; address: string } => ({ name: box.name.replace(/\s+/gu, ' ').trim(), address: box.address })
        await assertParsesAs(
          await readTwice(message),
          {
            subject: input.subject,
            from: [trimmed(input.from)],
            to: input.to.map(trimmed),
            ...(input.cc.length > 0 ? { cc: input.cc.map(trimmed) } : {}),
            ...(input.text !== undefined ? { text: input.text } : {}),
            ...(input.html !== undefined ? { html: input.html } : {}),
            attachments: expectedAttachments,
            headers: [['X-Random', input.custom]],
          },
          python,
        )
      },
    ),
    { numRuns: RUNS },
  )
})

// mailparser trims raw header text as latin1 before decoding it as UTF-8, so a raw UTF-8 value
// whose last byte is 0xA0 (NBSP in latin1; 'à' is C3 A0) loses that byte. Not our bug; such
// values are left out of the raw UTF-8 test.
const rawText = (maxPieces: number): fc.Arbitrary<string> => headerText(maxPieces).filter((text) => Buffer.from(text).at(-1) !== 0xa0)

test('random UTF-8 headers written raw with smtpUtf8 round-trip through Python and mailparser', async () => {
  const utf8Local = fc.stringMatching(/^[a-z0-9]{1,6}$/).chain((ascii) => fc.constantFrom('jörg', 'δοκιμή', '测试', 'zoë').map((word) => `${word}${ascii}`))
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        subject: rawText(12),
        from: fc.record({ name: rawText(6), address: fc.tuple(utf8Local, domain).map(([local, host]) => `${local}@${host}`) }),
        to: fc.array(fc.record({ name: rawText(6), address: mailbox.map((box) => box.address) }), { minLength: 1, maxLength: 3 }),
        text: body,
        custom: rawText(8),
      }),
      async (input) => {
        const message = compose({ from: input.from, to: input.to, subject: input.subject, text: input.text, headers: { 'X-Random': input.custom }, smtpUtf8: true })
        assert.equal(message.smtpUtf8, true)
        assert.equal(message.eightBit, true)
        const trimmed = (box: { name: string; address: string }): { name: string; address: string } => ({ name: box.name.replace(/\s+/gu, ' ').trim(), address: box.address })
        await assertParsesAs(
          await readTwice(message),
          { subject: input.subject, from: [trimmed(input.from)], to: input.to.map(trimmed), text: input.text, headers: [['X-Random', input.custom]], smtpUtf8: true },
          python,
        )
      },
    ),
    { numRuns: Math.ceil(RUNS / 2) },
  )
})

test('streamed attachments give the same bytes however their chunks are split, and round-trip exactly', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 5000 }),
      fc.array(fc.array(fc.nat({ max: 5000 }), { maxLength: 8 }), { minLength: 2, maxLength: 2 }),
      fc.constantFrom<'base64' | 'quoted-printable'>('base64', 'quoted-printable'),
      async (bytes, splits, encoding) => {
        let call = 0
        // Each stream() call gets the content split differently.
        const content = function* (): Generator<Uint8Array> {
          const cuts = [...new Set(splits[call++ % splits.length]!.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
          let at = 0
          for (const cut of cuts) {
            yield bytes.subarray(at, cut)
            at = cut
          }
          yield bytes.subarray(at)
        }
        const message = compose({ from: 'a@sender.example', text: 'see attached', attachments: [{ filename: 'random.bin', content, contentTransferEncoding: encoding }] })
        const raw = await readTwice(message)
        assert.equal(call, 2)
        await assertParsesAs(raw, { text: 'see attached', attachments: [{ filename: 'random.bin', contentType: 'application/octet-stream', content: bytes }] }, python)
      },
    ),
    { numRuns: RUNS },
  )
})
