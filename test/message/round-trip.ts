// Checks composed messages with two independent parsers, Python's email package (through
// parse-mail.py, one long-lived process per test file) and mailparser, against what the test
// expects them to find.
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { domainToASCII } from 'node:url'
import { simpleParser, type AddressObject, type EmailAddress } from 'mailparser'
import type { Message } from '../../src/message/index.ts'

/** A mailbox as the parsers should report it. */
export interface ExpectedMailbox {
  readonly name: string
  readonly address: string
}

/** A group as the parsers should report it. */
export interface ExpectedGroup {
  readonly group: string
  readonly members: readonly ExpectedMailbox[]
}

/** An attachment as the parsers should report it. */
export interface ExpectedAttachment {
  readonly filename?: string | undefined
  readonly contentType: string
  readonly content: Uint8Array
  readonly cid?: string | undefined
  readonly disposition?: 'attachment' | 'inline' | undefined
}

/** What both parsers must find in a message; fields left out are not checked. */
export interface Expected {
  readonly subject?: string
  readonly from?: readonly ExpectedMailbox[]
  readonly sender?: readonly ExpectedMailbox[]
  readonly replyTo?: readonly ExpectedMailbox[]
  readonly to?: ReadonlyArray<ExpectedMailbox | ExpectedGroup>
  readonly cc?: ReadonlyArray<ExpectedMailbox | ExpectedGroup>
  /** The text body as given; compared with line breaks normalised. */
  readonly text?: string
  readonly html?: string
  readonly attachments?: readonly ExpectedAttachment[]
  /** Custom header fields, decoded (checked with Python only: mailparser leaves unknown fields encoded). */
  readonly headers?: ReadonlyArray<readonly [string, string]>
  /** The MIME tree as Python prints it, e.g. `multipart/alternative(text/plain,text/html)`. */
  readonly structure?: string
  /** The Message-ID, with angle brackets. */
  readonly messageId?: string
  readonly date?: Date
  /** Whether headers carry raw UTF-8 (RFC 6532), which Python's parser flags in addresses. */
  readonly smtpUtf8?: boolean
}

interface PythonAddress {
  name?: string
  address?: string
  group?: string
  members?: PythonAddress[]
}

interface PythonResult {
  error?: string
  headers: Array<[string, string]>
  subject: string | null
  from: PythonAddress[] | null
  sender: PythonAddress[] | null
  replyTo: PythonAddress[] | null
  to: PythonAddress[] | null
  cc: PythonAddress[] | null
  messageId: string | null
  date: string | null
  text: string | null
  html: string | null
  attachments: Array<{ contentType: string; filename: string | null; disposition: string | null; cid: string | null; data: string }>
  structure: string
  defects: string[]
}

// Python flags the RFC 2047 `name="=?...?="` fallback compose() writes for old clients on purpose
// (see header-parameters.ts); every other defect fails the test.
const TOLERATED_DEFECTS = new Set(['Content-Type: encoded word inside quoted string', 'Content-Type: missing trailing whitespace after encoded-word'])
// Python's address parser predates RFC 6532 and flags the UTF-8 it allows; tolerated only when
// the test composed with smtpUtf8.
const UTF8_DEFECTS = /^(From|To|Cc|Reply-To|Sender): (Non-ASCII characters found in header token|local-part contains non-ASCII characters\))$/

/** A long-lived `python3 parse-mail.py` process. */
export class PythonParser {
  readonly #child: ChildProcessWithoutNullStreams
  readonly #waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = []
  #buffer = ''
  #stderr = ''

  constructor() {
    const script = fileURLToPath(new URL('./parse-mail.py', import.meta.url))
    this.#child = spawn('python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child.stdout.setEncoding('utf8')
    this.#child.stdout.on('data', (text: string) => {
      this.#buffer += text
      for (let newline = this.#buffer.indexOf('\n'); newline !== -1; newline = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, newline)
        this.#buffer = this.#buffer.slice(newline + 1)
        this.#waiting.shift()?.resolve(line)
      }
    })
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString()
    })
    const fail = (error: Error): void => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error)
    }
    this.#child.on('error', fail)
    this.#child.on('exit', (code) => fail(new Error(`python3 parse-mail.py exited with ${code}: ${this.#stderr}`)))
  }

  /** Parses one message. */
  parse(bytes: Uint8Array): Promise<PythonResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve: (line) => resolve(JSON.parse(line) as PythonResult), reject })
      const head = Buffer.alloc(4)
      head.writeUInt32BE(bytes.length)
      this.#child.stdin.write(head)
      this.#child.stdin.write(bytes)
    })
  }

  /** Ends the process and waits for it to exit. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    this.#child.stdin.end()
    await exited
  }
}

function normaliseDomain(address: string): string {
  const at = address.lastIndexOf('@')
  if (at === -1) return address
  const domain = address.slice(at + 1)
  return `${address.slice(0, at)}@${domain.startsWith('[') ? domain : domainToASCII(domain)}`
}

function expectedMailboxes(list: ReadonlyArray<ExpectedMailbox | ExpectedGroup>): unknown[] {
  return list.map((item) =>
    'group' in item ? { group: item.group, members: item.members.map((m) => ({ name: m.name, address: normaliseDomain(m.address) })) } : { name: item.name, address: normaliseDomain(item.address) },
  )
}

function pythonMailboxes(list: PythonAddress[] | null): unknown[] {
  return (list ?? []).map((item) =>
    item.group !== undefined ? { group: item.group, members: (item.members ?? []).map((m) => ({ name: m.name, address: normaliseDomain(m.address!) })) } : { name: item.name, address: normaliseDomain(item.address!) },
  )
}

function mailparserMailboxes(value: AddressObject | AddressObject[] | undefined): unknown[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value]
  const convert = (item: EmailAddress): unknown =>
    item.group !== undefined ? { group: item.name, members: item.group.map((m) => convert(m)) } : { name: item.name, address: normaliseDomain(item.address ?? '') }
  return objects.flatMap((object) => object.value.map(convert))
}

const lf = (text: string): string => text.replace(/\r\n|\r/g, '\n')

function sortAttachments<T extends { key: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

/**
 * Checks the raw form of `bytes` (CRLF line breaks only, no line over 998 octets), then parses
 * them with Python and mailparser and checks each against `expected`.
 */
export async function assertParsesAs(bytes: Buffer, expected: Expected, python: PythonParser): Promise<void> {
  assertWellFormedLines(bytes)
  const py = await python.parse(bytes)
  assert.equal(py.error, undefined, `python failed: ${py.error}`)
  const defects = py.defects.filter((defect) => !TOLERATED_DEFECTS.has(defect) && !(expected.smtpUtf8 === true && UTF8_DEFECTS.test(defect)))
  assert.deepEqual(defects, [], 'python found defects')
  const mp = await simpleParser(bytes, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true })

  if (expected.subject !== undefined) {
    assert.equal(py.subject, expected.subject, 'python: Subject')
    // mailparser reports an empty Subject as absent.
    assert.equal(mp.subject ?? '', expected.subject, 'mailparser: Subject')
  }
  for (const field of ['from', 'sender', 'replyTo', 'to', 'cc'] as const) {
    const want = expected[field]
    if (want === undefined) continue
    assert.deepEqual(pythonMailboxes(py[field]), expectedMailboxes(want), `python: ${field}`)
    if (field !== 'sender') assert.deepEqual(mailparserMailboxes(mp[field]), expectedMailboxes(want), `mailparser: ${field}`)
  }
  if (expected.text !== undefined) {
    // A single-part message gets a final CRLF if its text lacks one (RFC 5321 §4.1.1.4).
    const want = lf(expected.text)
    assert.ok(py.text !== null, 'python: no text body')
    assert.ok(lf(py.text) === want || lf(py.text) === `${want}\n`, `python: text body ${JSON.stringify(py.text)} is not ${JSON.stringify(want)}`)
    // mailparser reports an empty body as absent.
    const text = mp.text ?? ''
    assert.ok(lf(text) === want || lf(text) === `${want}\n`, `mailparser: text body ${JSON.stringify(mp.text)} is not ${JSON.stringify(want)}`)
  }
  if (expected.html !== undefined) {
    const want = lf(expected.html)
    assert.ok(py.html !== null, 'python: no html body')
    assert.ok(lf(py.html) === want || lf(py.html) === `${want}\n`, `python: html body ${JSON.stringify(py.html)} is not ${JSON.stringify(want)}`)
    const html = typeof mp.html === 'string' ? mp.html : ''
    assert.ok(lf(html) === want || lf(html) === `${want}\n`, `mailparser: html body ${JSON.stringify(mp.html)} is not ${JSON.stringify(want)}`)
  }
  if (expected.attachments !== undefined) {
    const want = sortAttachments(
      expected.attachments.map((a) => ({
        key: `${a.filename}|${Buffer.from(a.content).toString('base64')}`,
        filename: a.filename ?? null,
        contentType: a.contentType,
        data: Buffer.from(a.content).toString('base64'),
        cid: a.cid ?? null,
        disposition: a.disposition ?? (a.cid === undefined ? 'attachment' : 'inline'),
      })),
    )
    const fromPython = sortAttachments(
      py.attachments.map((a) => ({ key: `${a.filename ?? undefined}|${a.data}`, filename: a.filename, contentType: a.contentType, data: a.data, cid: a.cid?.replace(/^<|>$/g, '') ?? null, disposition: a.disposition })),
    )
    assert.deepEqual(fromPython, want, 'python: attachments')
    const fromMailparser = sortAttachments(
      mp.attachments.map((a) => {
        const data = a.content.toString('base64')
        // mailparser replaces application/octet-stream with a guess from the file name.
        const declared = a.headers.get('content-type') as { value?: string } | undefined
        const contentType = declared?.value === 'application/octet-stream' ? declared.value : a.contentType
        return { key: `${a.filename}|${data}`, filename: a.filename ?? null, contentType, data, cid: a.cid ?? null, disposition: a.contentDisposition }
      }),
    )
    assert.deepEqual(fromMailparser, want, 'mailparser: attachments')
  }
  if (expected.headers !== undefined) {
    const names = new Set(expected.headers.map(([name]) => name.toLowerCase()))
    const found = py.headers.filter(([name]) => names.has(name.toLowerCase()))
    assert.deepEqual(found, expected.headers.map(([name, value]) => [name, value]), 'python: custom headers')
  }
  if (expected.messageId !== undefined) {
    assert.equal(py.messageId, expected.messageId, 'python: Message-ID')
    assert.equal(mp.messageId, expected.messageId, 'mailparser: Message-ID')
  }
  if (expected.date !== undefined) {
    assert.equal(Date.parse(py.date ?? ''), expected.date.getTime(), 'python: Date')
    assert.equal(mp.date?.getTime(), expected.date.getTime(), 'mailparser: Date')
  }
  if (expected.structure !== undefined) assert.equal(py.structure, expected.structure, 'python: MIME structure')
}

/** Fails unless every line of `bytes` ends in CRLF (the last may be unterminated) and has at most 998 octets. */
export function assertWellFormedLines(bytes: Buffer): void {
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      assert.equal(bytes[i - 1], 0x0d, `bare LF at offset ${i}`)
      assert.ok(i - 1 - start <= 998, `line of ${i - 1 - start} octets at offset ${start}`)
      start = i + 1
    } else if (bytes[i] === 0x0d) {
      assert.equal(bytes[i + 1], 0x0a, `bare CR at offset ${i}`)
    }
  }
  assert.ok(bytes.length - start <= 998, 'last line too long')
}

/** Reads the message twice (when it can be re-read) and checks both reads give the same bytes. */
export async function readTwice(message: Message): Promise<Buffer> {
  const first = await message.toBuffer()
  if (message.isRereadable) assert.deepEqual(await message.toBuffer(), first, 'a second stream() gave different bytes')
  return first
}
