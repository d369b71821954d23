// parseMessage and parseParts against independent parsers on messages we did not write: Python's
// email package (policy.default) on Python's own test messages (Debian's libpython3.11-testsuite),
// and mailparser and postal-mime on the same files. Every disagreement is listed here and
// explained in docs/explanation/parser-agreement.md; a new one fails the test.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import { simpleParser } from 'mailparser'
import PostalMime from 'postal-mime'
import { parseMessage, parseParts, type AddressItem, type ParsedMessage } from '../../../src/message/index.ts'

const DATA = '/usr/lib/python3.11/test/test_email/data'
const helper = fileURLToPath(new URL('python-email.py', import.meta.url))
const files = existsSync(DATA) ? readdirSync(DATA).filter((name) => /^msg_\d+a?\.txt$/.test(name)).sort() : []
const skip = files.length === 0 ? `Python's test messages are not installed (apt-get install libpython3.11-testsuite): ${DATA}` : false

interface PythonView {
  readonly file: string
  readonly subject: string | null
  readonly from: unknown
  readonly to: unknown
  readonly cc: unknown
  readonly text: unknown
  readonly html: unknown
  readonly leaves: Array<[string, string | null, string]>
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const mailboxes = (items: readonly AddressItem[]): string[][] => items.flatMap((item) => ('group' in item ? item.members : [item])).map((m) => [m.name, m.address])

async function ourLeaves(bytes: Buffer): Promise<Array<[string, string | null, string]>> {
  const leaves: Array<[string, string | null, string]> = []
  for await (const part of parseParts(bytes)) {
    const chunks: Buffer[] = []
    for await (const chunk of part.body) chunks.push(chunk as Buffer)
    let body = Buffer.concat(chunks)
    if (part.contentType.startsWith('text/')) body = Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1')
    leaves.push([part.contentType, part.filename ?? null, sha256(body)])
  }
  return leaves
}

// Known disagreements with Python, as `file field`, by the reason docs/explanation/parser-agreement.md
// gives for each.
const PYTHON_DISAGREEMENTS = new Set<string>([
  // A comment after the address names its owner: `a@b (Name)`.
  'msg_01.txt from', 'msg_03.txt from', 'msg_04.txt from', 'msg_06.txt from', 'msg_14.txt from', 'msg_20.txt from', 'msg_27.txt from', 'msg_27.txt to', 'msg_29.txt from', 'msg_44.txt from',
  // Every inline text/plain part makes up `text`, where Python's get_body() picks the first.
  'msg_02.txt text', 'msg_04.txt text', 'msg_05.txt text', 'msg_10.txt text', 'msg_13.txt text', 'msg_21.txt text', 'msg_22.txt text', 'msg_33.txt text', 'msg_38.txt text', 'msg_44.txt text',
  // Quoted-printable: whitespace at the end of an encoded line is dropped (RFC 2045 §6.7 rule 3).
  'msg_15.txt text',
  // A multipart inside another with the same boundary: the innermost owns the boundary.
  'msg_15.txt leaves', 'msg_39.txt leaves',
  // message/delivery-status is one leaf of fields (RFC 3464 §2.1), not a multipart of blocks.
  'msg_16.txt leaves', 'msg_43.txt leaves',
  // A multipart whose boundary never appears has no parts, not one part holding everything.
  'msg_17.txt leaves', 'msg_31.txt leaves', 'msg_42.txt leaves',
  // Every To and Cc field counts, where Python reads the first of repeated fields.
  'msg_20.txt cc', 'msg_25.txt to',
  // message/external-body is kept as a leaf (its body is a phantom header, RFC 2046 §5.2.3).
  'msg_36.txt leaves',
  // Two delimiters in a row make an empty text/plain part (RFC 2046 §5.1.1).
  'msg_37.txt leaves', 'msg_37.txt text',
  // `From: MAILER DAEMON <>` has no address: it is left out.
  'msg_43.txt from',
])

describe('agreement with Python\'s email package', { skip }, () => {
  test('header fields, addresses, bodies and every part\'s type, name and bytes agree, but for the listed cases', async () => {
    const views = execFileSync('/usr/bin/python3', [helper, ...files.map((name) => join(DATA, name))], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PythonView)
    const found: string[] = []
    for (const view of views) {
      const name = view.file.split('/').at(-1)!
      const bytes = readFileSync(view.file)
      const ours = await parseMessage(bytes)
      const compare = (field: string, mine: unknown, theirs: unknown): void => {
        try {
          assert.deepEqual(mine, theirs)
        } catch {
          found.push(`${name} ${field}`)
          if (!PYTHON_DISAGREEMENTS.has(`${name} ${field}`)) console.log(`${name} ${field}: smtpkit ${JSON.stringify(mine)?.slice(0, 300)} python ${JSON.stringify(theirs)?.slice(0, 300)}`)
        }
      }
      compare('subject', ours.subject ?? null, view.subject)
      for (const field of ['from', 'to', 'cc'] as const) {
        const theirs = view[field]
        if (theirs !== null && typeof theirs === 'object' && 'error' in theirs) continue
        compare(field, mailboxes(ours[field]), theirs)
      }
      compare('text', firstBody(ours, 'text'), view.text)
      compare('html', firstBody(ours, 'html'), view.html)
      compare('leaves', await ourLeaves(bytes), view.leaves)
    }
    assert.deepEqual(found.sort(), [...PYTHON_DISAGREEMENTS].sort())
  })
})

// Python's get_body() picks one part; ours joins every inline one. Compare the first.
function firstBody(message: ParsedMessage, kind: 'text' | 'html'): string | null {
  return message[kind] ?? null
}

interface Summary {
  readonly subject: string | null
  readonly text: string | null
  readonly html: string | null
  readonly attachments: Array<[string | null, string, string]>
}

function summariseOurs(message: ParsedMessage): Summary {
  return {
    subject: message.subject ?? null,
    text: message.text ?? null,
    html: message.html ?? null,
    attachments: message.attachments.map((a) => [a.filename ?? null, a.contentType, a.checksum]),
  }
}

async function summariseMailparser(bytes: Buffer): Promise<Summary> {
  const parsed = await simpleParser(bytes, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true } as Parameters<typeof simpleParser>[1])
  return {
    subject: parsed.subject ?? null,
    text: parsed.text ?? null,
    html: parsed.html === false ? null : parsed.html ?? null,
    attachments: parsed.attachments.map((a) => [a.filename ?? null, a.contentType, sha256(a.content)]),
  }
}

async function summarisePostalMime(bytes: Buffer): Promise<Summary> {
  const parsed = await PostalMime.parse(bytes)
  return {
    subject: parsed.subject ?? null,
    text: parsed.text ?? null,
    html: parsed.html ?? null,
    attachments: parsed.attachments.map((a) => [a.filename ?? null, a.mimeType, sha256(typeof a.content === 'string' ? Buffer.from(a.content) : new Uint8Array(a.content as ArrayBuffer))]),
  }
}

for (const [library, summarise, known] of [
  // Grouped by reason in docs/explanation/parser-agreement.md.
  ['mailparser', summariseMailparser, new Set<string>([
    'msg_02.txt text', 'msg_02.txt attachments', 'msg_08.txt text', 'msg_08.txt html', 'msg_09.txt text', 'msg_09.txt html', 'msg_10.txt text', 'msg_10.txt html',
    'msg_12.txt text', 'msg_12.txt html', 'msg_12a.txt text', 'msg_12a.txt html', 'msg_14.txt text', 'msg_14.txt attachments', 'msg_16.txt text', 'msg_16.txt attachments',
    'msg_18.txt text', 'msg_19.txt text', 'msg_24.txt text', 'msg_25.txt attachments', 'msg_27.txt subject', 'msg_30.txt text', 'msg_30.txt attachments', 'msg_34.txt text',
    'msg_34.txt attachments', 'msg_35.txt text', 'msg_37.txt text', 'msg_38.txt text', 'msg_40.txt html', 'msg_41.txt attachments', 'msg_43.txt text', 'msg_43.txt attachments',
  ])],
  ['postal-mime', summarisePostalMime, new Set<string>([
    'msg_02.txt text', 'msg_02.txt attachments', 'msg_05.txt text', 'msg_05.txt attachments', 'msg_06.txt text', 'msg_06.txt attachments', 'msg_08.txt text', 'msg_08.txt html',
    'msg_09.txt text', 'msg_09.txt html', 'msg_10.txt text', 'msg_10.txt html', 'msg_11.txt text', 'msg_11.txt attachments', 'msg_12.txt text', 'msg_12.txt html',
    'msg_12a.txt text', 'msg_12a.txt html', 'msg_14.txt text', 'msg_14.txt attachments', 'msg_15.txt text', 'msg_15.txt html', 'msg_15.txt attachments', 'msg_18.txt text',
    'msg_24.txt text', 'msg_25.txt text', 'msg_25.txt attachments', 'msg_28.txt text', 'msg_28.txt attachments', 'msg_30.txt text', 'msg_30.txt attachments', 'msg_34.txt text',
    'msg_34.txt attachments', 'msg_37.txt text', 'msg_39.txt attachments', 'msg_41.txt text', 'msg_41.txt attachments', 'msg_42.txt text', 'msg_42.txt attachments', 'msg_46.txt text',
    'msg_46.txt attachments',
  ])],
] as const) {
  describe(`agreement with ${library}`, { skip }, () => {
    test('subject, text, HTML and attachments (name, type, bytes) agree, but for the listed cases', async () => {
      const found: string[] = []
      for (const name of files) {
        const bytes = readFileSync(join(DATA, name))
        const ours = summariseOurs(await parseMessage(bytes))
        const theirs = await summarise(bytes)
        for (const field of ['subject', 'text', 'html', 'attachments'] as const) {
          try {
            assert.deepEqual(ours[field], theirs[field])
          } catch {
            found.push(`${name} ${field}`)
            if (!known.has(`${name} ${field}`)) console.log(`${library} ${name} ${field}: smtpkit ${JSON.stringify(ours[field])?.slice(0, 200)} ${library} ${JSON.stringify(theirs[field])?.slice(0, 200)}`)
          }
        }
      }
      assert.deepEqual(found.sort(), [...known].sort())
    })
  })
}
