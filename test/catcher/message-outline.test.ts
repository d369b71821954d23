// The outline scanner: the list's attachment mark from the MIME structure, without decoding.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isInlinePart } from '../../src/catcher/api-json.ts'
import { OutlineScanner } from '../../src/catcher/message-outline.ts'
import { parseMessage } from '../../src/message/index.ts'

const HEAD = 'From: a@example.test\r\nTo: b@example.test\r\nSubject: outline\r\n'
const PDF = 'JVBERi0xLjQKJSBub3QgYSByZWFsIGludm9pY2UK\r\n'
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n'

function multipart(type: string, boundary: string, parts: string[], extra = ''): string {
  return `Content-Type: multipart/${type}; boundary="${boundary}"${extra}\r\n\r\npreamble\r\n${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\nepilogue\r\n`
}
const text = 'Content-Type: text/plain; charset=utf-8\r\n\r\nHello -- not a boundary.\r\n--not-ours\r\n'
const html = 'Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <img src="cid:logo@x"></p>\r\n'
const pdf = `Content-Type: application/pdf; name="invoice.pdf"\r\nContent-Disposition: attachment; filename="invoice.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${PDF}`
const logo = `Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n${PNG}`
const inlineLogo = `Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline; filename="logo.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n${PNG}`

const cases: { name: string; message: string; attachments: number }[] = [
  { name: 'plain text', message: `${HEAD}\r\nJust text.\r\n`, attachments: 0 },
  { name: 'alternative text and HTML', message: HEAD + multipart('alternative', 'alt', [text, html]), attachments: 0 },
  { name: 'mixed: text and a PDF', message: HEAD + multipart('mixed', 'mix', [text, pdf]), attachments: 1 },
  { name: 'related: HTML and a cid: image', message: HEAD + multipart('related', 'rel', [html, logo]), attachments: 0 },
  { name: 'related: an explicitly inline cid: image', message: HEAD + multipart('related', 'rel', [html, inlineLogo]), attachments: 0 },
  {
    name: 'mixed around alternative and related, a PDF and a named part without disposition',
    message: HEAD + multipart('mixed', 'outer', [multipart('related', 'rel', [multipart('alternative', 'alt', [text, html]), logo]), pdf, 'Content-Type: application/octet-stream; name="data.bin"\r\n\r\nxyz']),
    attachments: 2,
  },
  { name: 'a part with a Content-ID sent as an attachment', message: HEAD + multipart('mixed', 'mix', [html, logo.replace('Content-ID: <logo@x>', 'Content-Disposition: attachment\r\nContent-ID: <photo@x>')]), attachments: 1 },
  { name: 'a text file attached', message: HEAD + multipart('mixed', 'mix', [text, 'Content-Type: text/plain; name="notes.txt"\r\nContent-Disposition: attachment; filename="notes.txt"\r\n\r\nnotes']), attachments: 1 },
  {
    name: 'an attached message counts once; its own parts are not looked into',
    message: HEAD + multipart('mixed', 'mix', [text, `Content-Type: message/rfc822\r\n\r\n${HEAD}${multipart('mixed', 'inner', [text, pdf, pdf])}`]),
    attachments: 1,
  },
  { name: 'a single-part PDF', message: `${HEAD}Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${PDF}`, attachments: 1 },
  { name: 'digest: parts without Content-Type are messages', message: HEAD + multipart('digest', 'dig', [`\r\n${HEAD}\r\none`, `\r\n${HEAD}\r\ntwo`]), attachments: 2 },
  {
    name: 'an inner multipart left unclosed ends at its parent next delimiter',
    message: HEAD + `Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n${text}\r\n--outer\r\n${pdf}\r\n--outer--\r\n`,
    attachments: 1,
  },
  { name: 'bare LF line ends', message: (HEAD + multipart('mixed', 'mix', [multipart('related', 'rel', [html, logo]), pdf])).replace(/\r\n/g, '\n'), attachments: 1 },
  { name: 'a boundary line with trailing white space', message: HEAD + multipart('mixed', 'mix', [text, pdf]).replace('--mix\r\nContent-Type: application/pdf', '--mix  \t\r\nContent-Type: application/pdf'), attachments: 1 },
]

function outline(chunks: readonly Uint8Array[]) {
  const scanner = new OutlineScanner()
  for (const chunk of chunks) scanner.write(chunk)
  return scanner.end()
}

for (const c of cases) {
  test(`outline: ${c.name}`, async () => {
    const bytes = Buffer.from(c.message, 'latin1')
    const whole = outline([bytes])
    assert.equal(whole.attachments, c.attachments)
    assert.equal(whole.isComplete, true)
    const end = Math.min(...['\r\n\r\n', '\n\n'].map((s) => bytes.indexOf(s)).filter((i) => i !== -1))
    assert.equal(whole.head.toString('latin1'), bytes.subarray(0, end + (bytes[end] === 0x0d ? 2 : 1)).toString('latin1'))
    // Byte by byte: boundaries and header lines split across chunks change nothing.
    assert.deepEqual(outline([...bytes].map((b) => Buffer.of(b))), whole)
    // The parser agrees (its cid: parts are inline when the HTML refers to them, as here).
    const parsed = await parseMessage(bytes)
    assert.equal(parsed.attachments.filter((part) => !isInlinePart(part)).length, c.attachments)
  })
}

test('outline: any split of the input into chunks gives the same outline', () => {
  const messages = cases.map((c) => Buffer.from(c.message, 'latin1'))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: messages.length - 1 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 60 }), (which, sizes) => {
      const bytes = messages[which]!
      const chunks: Buffer[] = []
      let at = 0
      for (let i = 0; at < bytes.length; i++) {
        const size = sizes[i % sizes.length]!
        chunks.push(bytes.subarray(at, at + size))
        at += size
      }
      assert.deepEqual(outline(chunks), outline([bytes]))
    }),
  )
})

test('outline: a header larger than the bound stops the scan, marked incomplete', () => {
  const huge = `${HEAD}X-Big: ${'a'.repeat(70_000)}\r\n\r\nbody\r\n`
  const result = outline([Buffer.from(huge)])
  assert.equal(result.isComplete, false)
  assert.ok(result.head.length <= 64 * 1024)
  const hugePart = HEAD + multipart('mixed', 'mix', [pdf, `Content-Type: image/png\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\nx`])
  const partial = outline([Buffer.from(hugePart)])
  assert.deepEqual([partial.attachments, partial.isComplete], [1, false])
})
