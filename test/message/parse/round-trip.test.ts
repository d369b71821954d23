// parseMessage(compose(x)) gives back x: the two halves of smtpkit/message agree on every input.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compose, parseAddressList, parseMessage, type Attachment, type MessageInput } from '../../../src/message/index.ts'
import { splitAt } from '../../helpers/split-at.ts'

const RUNS = Number(process.env.MESSAGE_PROPERTY_RUNS ?? 60)

const text = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.constantFrom('\r\n', '\n', '\r', '.', '\r\n.\r\n', ' ', '\t', '=', '--', 'From ', 'x'.repeat(1200), 'é'.repeat(500), '😀'),
      ),
      { maxLength },
    )
    .map((pieces) => pieces.join('').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[\ud800-\udfff]/gu, ''))

const headerText = text(8).map((value) => value.replace(/[\r\n]/g, ' '))
const name = headerText.map((value) => value.replace(/\s+/g, ' ').trim())
const domain = fc.constantFrom('example.test', 'bücher.example', 'x.co.uk')
const address = fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,10}$/).filter((local) => !/^\.|\.$|\.\./.test(local)), domain).map(([local, host]) => `${local}@${host}`)
const mailbox = fc.record({ name, address })

const attachment: fc.Arbitrary<Attachment> = fc.oneof(
  fc.record({ filename: headerText.map((value) => value.replace(/\t/g, ' ')).filter((value) => value.trim() !== ''), content: fc.uint8Array({ maxLength: 3000 }) }),
  fc.record({ filename: fc.constant('inline.png'), content: fc.uint8Array({ minLength: 1, maxLength: 500 }), cid: fc.stringMatching(/^[a-z0-9]{1,8}@x$/) }),
)

const input: fc.Arbitrary<MessageInput> = fc.record(
  {
    from: mailbox,
    to: fc.array(mailbox, { minLength: 1, maxLength: 3 }),
    subject: headerText,
    text: text(20),
    html: text(10).map((value) => `<p>${value}</p>`),
    attachments: fc.array(attachment, { maxLength: 3 }),
  },
  { requiredKeys: ['from', 'to', 'subject'] },
)

const lines = (value: string | Uint8Array | undefined): string | undefined => (value === undefined ? undefined : value.toString().replace(/\r\n|\r|\n/g, '\n'))

// A single-part message on the wire ends with CRLF, so compose ends a body that lacks a final
// line break with one there; in a multipart, the boundary's line break follows the body.
function assertSameBody(actual: string | undefined, expected: string | undefined): void {
  if (actual !== expected && actual !== undefined && expected !== undefined && !expected.endsWith('\n')) assert.equal(actual, `${expected}\n`)
  else assert.equal(actual, expected)
}

test('property: parseMessage(compose(x)) gives back x, however the message is cut into chunks', async () => {
  await fc.assert(
    fc.asyncProperty(input, fc.array(fc.nat(), { maxLength: 8 }), async (mail, cuts) => {
      const composed = compose(mail)
      const chunks: Uint8Array[] = []
      for await (const chunk of composed.stream()) chunks.push(chunk)
      const bytes = Buffer.concat(chunks)
      const parsed = await parseMessage(splitAt(bytes, cuts))
      assert.deepEqual(parsed.from, parseAddressList(mail.from))
      assert.deepEqual(parsed.to, parseAddressList(mail.to))
      assert.equal(parsed.subject, mail.subject === '' ? parsed.subject : mail.subject)
      // Without text, compose writes an empty text/plain body or none at all.
      if (mail.text === undefined) assert.ok(parsed.text === undefined || parsed.text === '')
      else assertSameBody(parsed.text, lines(mail.text))
      assertSameBody(parsed.html, lines(mail.html))
      const attachments = mail.attachments ?? []
      assert.equal(parsed.attachments.length, attachments.length)
      const pool = [...parsed.attachments]
      for (const sent of attachments) {
        const content = Buffer.from(sent.content as Uint8Array)
        const index = pool.findIndex((a) => a.filename === sent.filename && a.contentId === sent.cid && a.content.equals(content))
        assert.notEqual(index, -1, `attachment ${JSON.stringify(sent.filename)} (cid ${sent.cid}) did not come back`)
        pool.splice(index, 1)
      }
      assert.deepEqual(parsed.defects, [])
    }),
    { numRuns: RUNS },
  )
})
