import { flattenMailboxes, formatAddressField, parseAddressList, type AddressInput, type AddressItem, type AddressListInput, type Mailbox } from './address-header.ts'
import { createAttachmentPart, type Attachment } from './attachment.ts'
import { createBoundary } from './boundary.ts'
import { chooseTextEncoding } from './encoding/transfer-encoding.ts'
import { assertHeaderName, assertHeaderText, createMessageId, describe, foldHeader, formatDate, formatUnstructured, LONE_SURROGATE, parseMessageId, parseMessageIds } from './headers.ts'
import { ComposedMessage, type Message } from './message.ts'
import { createMultiPart, partFields, type LeafPart, type MimePart, type MultiPart } from './mime-part.ts'
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'

/**
 * What to compose, in the shape nodemailer users know. Only `from` is required.
 *
 * Addresses are strings in header form (`a@b`, `"Name, Jr." <a@b>`, comma-separated lists, groups
 * `Team: a@b, c@d;` in to/cc/bcc) or `{ name, address }` objects, or arrays of either. Every text
 * that goes into a header is refused (TypeError) if it contains CR, LF or another control
 * character but tab, so nothing can inject a header.
 */
export interface MessageInput {
  /** The author(s). More than one mailbox requires `sender` (RFC 5322 §3.6.2). */
  readonly from: AddressListInput
  /** The single mailbox responsible for sending; also the envelope sender when given. */
  readonly sender?: AddressInput | undefined
  readonly to?: AddressListInput | undefined
  readonly cc?: AddressListInput | undefined
  /** Blind copies: envelope recipients that appear in no header. */
  readonly bcc?: AddressListInput | undefined
  readonly replyTo?: AddressListInput | undefined
  readonly subject?: string | undefined
  /** The plain-text body; line breaks are normalised to CRLF. Bytes must be UTF-8. */
  readonly text?: string | Uint8Array | undefined
  /** The HTML body; line breaks are normalised to CRLF. Bytes must be UTF-8. */
  readonly html?: string | Uint8Array | undefined
  readonly attachments?: readonly Attachment[] | undefined
  /**
   * Extra header fields, written after MIME-Version. An array value writes the field once per
   * item. Names that compose() writes itself (From, Subject, Content-Type…) are refused: use the
   * matching input field.
   */
  readonly headers?: Readonly<Record<string, string | readonly string[]>> | ReadonlyArray<readonly [name: string, value: string]> | undefined
  /** Default: the time of composing. */
  readonly date?: Date | string | number | undefined
  /** `<id@domain>` (brackets optional). Default: 128 random bits `@` the From domain. */
  readonly messageId?: string | undefined
  readonly inReplyTo?: string | undefined
  /** Message identifiers, as an array or a string separated by spaces. */
  readonly references?: string | readonly string[] | undefined
  /** Writes X-Priority, X-MSMail-Priority and Importance. */
  readonly priority?: 'high' | 'normal' | 'low' | undefined
  /**
   * Write non-ASCII header text as raw UTF-8 (RFC 6532) instead of encoded-words, and allow
   * non-ASCII local parts; the message then needs a server offering SMTPUTF8 (RFC 6531), which
   * `message.smtpUtf8` reports. Domains are still written as A-labels. Implies `allow8bit`.
   * Default false.
   */
  readonly smtpUtf8?: boolean | undefined
  /**
   * Send non-ASCII text bodies as 8bit instead of quoted-printable or base64; the message then
   * needs a server offering 8BITMIME (RFC 6152). Default false.
   */
  readonly allow8bit?: boolean | undefined
}

// The fields of MessageInput; those checked in detail below (addresses, bodies, dates) take any value here.
const FIELDS: OptionKinds = {
  from: 'any', sender: 'any', to: 'any', cc: 'any', bcc: 'any', replyTo: 'any', subject: 'any', text: 'any', html: 'any',
  attachments: 'array', headers: ['object', 'array'], date: 'any', messageId: 'any', inReplyTo: 'any', references: 'any',
  priority: 'any', smtpUtf8: 'boolean', allow8bit: 'boolean',
}
// nodemailer message fields, and what compose() takes instead.
const FIELD_HINTS: OptionHints = {
  envelope: 'compose() writes headers only; give the envelope to sendMail as from and to',
  dkim: 'sign the composed message with dkimSign(message, { domain, selector, privateKey }) from smtpkit/dkim',
  alternatives: 'give text and html; compose() writes them as multipart/alternative',
  textEncoding: 'compose() chooses quoted-printable or base64 itself; set allow8bit to send 8bit',
  raw: 'a ready message needs no compose(): give its bytes to sendMail as message',
  reply_to: 'write replyTo',
  amp: 'AMP bodies are not supported; give text and html',
  icalEvent: 'give the calendar as an attachment with contentType text/calendar',
  list: 'write List-* fields in headers',
}
// Fields compose() writes itself; a custom header of the same name would duplicate or contradict them.
const OWN_FIELDS = new Map([
  ['date', 'date'], ['from', 'from'], ['sender', 'sender'], ['reply-to', 'replyTo'], ['to', 'to'], ['cc', 'cc'],
  ['bcc', 'bcc'], ['subject', 'subject'], ['message-id', 'messageId'], ['in-reply-to', 'inReplyTo'],
  ['references', 'references'], ['mime-version', 'compose()'], ['content-type', 'compose()'],
  ['content-transfer-encoding', 'compose()'], ['content-disposition', 'compose()'], ['content-id', 'compose()'],
])
const PRIORITY_FIELDS = new Set(['x-priority', 'x-msmail-priority', 'importance'])
const PRIORITIES = {
  high: ['1 (Highest)', 'High', 'High'],
  normal: ['3 (Normal)', 'Normal', 'Normal'],
  low: ['5 (Lowest)', 'Low', 'Low'],
} as const

/**
 * Composes an RFC 5322 message with a MIME body (RFC 2045-2049) from `input`.
 *
 * The body is text/plain, text/html, or multipart/alternative of both (text first); attachments
 * with a `cid` go with the HTML into multipart/related; other attachments make a
 * multipart/mixed around everything. Header fields come in the order Date, From, Sender,
 * Reply-To, To, Cc, Subject, Message-ID, In-Reply-To, References, priority fields, MIME-Version,
 * custom fields, Content-Type, Content-Transfer-Encoding. Non-ASCII header text becomes RFC 2047
 * encoded-words (or raw UTF-8 with `smtpUtf8`), domains become A-labels, lines fold at 78 and
 * never pass 998 octets.
 *
 * All validation happens here, synchronously: invalid input throws a TypeError naming the field.
 * Files and streams are only read when the message is streamed.
 */
export function compose(input: MessageInput): Message {
  if (typeof input !== 'object' || input === null) throw new TypeError(`compose() needs a message object, got ${describe(input)}`)
  checkOptions('compose()', input, FIELDS, FIELD_HINTS)
  const smtpUtf8 = input.smtpUtf8 === true
  const allow8bit = smtpUtf8 || input.allow8bit === true
  const text = { smtpUtf8 }
  const mailboxes = { smtpUtf8, allowGroups: false }
  const groups = { smtpUtf8, allowGroups: true }

  if (input.from === undefined) throw new TypeError('from is required (RFC 5322 §3.6.2)')
  const from = parseAddressList(input.from, 'from', mailboxes) as Mailbox[]
  if (from.length === 0) throw new TypeError('from must name at least one mailbox')
  const sender = input.sender === undefined ? undefined : (parseAddressList(input.sender, 'sender', mailboxes) as Mailbox[])
  if (sender !== undefined && sender.length !== 1) throw new TypeError(`sender must be exactly one mailbox, got ${sender.length}`)
  if (from.length > 1 && sender === undefined) throw new TypeError('from has several mailboxes, so sender is required (RFC 5322 §3.6.2)')
  const optionalList = (value: AddressListInput | undefined, field: string, options = groups): AddressItem[] => (value === undefined ? [] : parseAddressList(value, field, options))
  const replyTo = optionalList(input.replyTo, 'replyTo', mailboxes)
  const to = optionalList(input.to, 'to')
  const cc = optionalList(input.cc, 'cc')
  const bcc = optionalList(input.bcc, 'bcc')

  const fields: string[] = [`Date: ${formatDate(parseDate(input.date))}`]
  fields.push(formatAddressField('From', from, text))
  if (sender !== undefined) fields.push(formatAddressField('Sender', sender, text))
  if (replyTo.length > 0) fields.push(formatAddressField('Reply-To', replyTo, text))
  if (to.length > 0) fields.push(formatAddressField('To', to, text))
  if (cc.length > 0) fields.push(formatAddressField('Cc', cc, text))
  if (input.subject !== undefined) fields.push(formatUnstructured('Subject', input.subject, text))
  const envelopeFrom = (sender ?? from)[0]!.address
  const messageId = input.messageId === undefined ? createMessageId(envelopeFrom.slice(envelopeFrom.lastIndexOf('@') + 1)) : parseMessageId(input.messageId, 'messageId')
  fields.push(`Message-ID: ${messageId}`)
  if (input.inReplyTo !== undefined) fields.push(foldHeader('In-Reply-To', parseMessageIds(input.inReplyTo, 'inReplyTo')))
  if (input.references !== undefined) fields.push(foldHeader('References', parseMessageIds(input.references, 'references')))
  if (input.priority !== undefined) {
    const values = Object.hasOwn(PRIORITIES, input.priority) ? PRIORITIES[input.priority] : undefined
    if (values === undefined) throw new TypeError(`priority must be 'high', 'normal' or 'low', got ${describe(input.priority)}`)
    fields.push(`X-Priority: ${values[0]}`, `X-MSMail-Priority: ${values[1]}`, `Importance: ${values[2]}`)
  }
  fields.push('MIME-Version: 1.0')
  fields.push(...customFields(input.headers, input.priority !== undefined, text))

  const { root, oneShot } = buildBody(input, allow8bit)
  assignBoundaries(root)
  fields.push(...partFields(root))

  const recipients = new Map<string, string>()
  for (const mailbox of flattenMailboxes([...to, ...cc, ...bcc])) {
    const key = dedupeKey(mailbox.address)
    if (!recipients.has(key)) recipients.set(key, mailbox.address)
  }
  const envelope = { from: envelopeFrom, to: [...recipients.values()] }
  const hasRawUtf8 = fields.some((field) => /[^\x00-\x7f]/.test(field))
  const needsSmtpUtf8 = hasRawUtf8 || [envelope.from, ...envelope.to].some((address) => /[^\x00-\x7f]/.test(address))
  return new ComposedMessage({
    fields,
    root,
    envelope,
    smtpUtf8: needsSmtpUtf8,
    eightBit: hasRawUtf8 || leaves(root).some((leaf) => leaf.encoding === '8bit'),
    oneShot,
  })
}

function parseDate(value: unknown): Date {
  if (value === undefined) return new Date()
  if (!(value instanceof Date) && typeof value !== 'string' && typeof value !== 'number') throw new TypeError(`date must be a Date, string or number, got ${describe(value)}`)
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) throw new TypeError(`date is not a valid date: ${describe(value)}`)
  return date
}

function customFields(headers: MessageInput['headers'], hasPriority: boolean, options: { smtpUtf8: boolean }): string[] {
  if (headers === undefined) return []
  if (typeof headers !== 'object' || headers === null) throw new TypeError(`headers must be an object or an array of [name, value], got ${describe(headers)}`)
  const entries: Array<readonly [unknown, unknown]> = Array.isArray(headers)
    ? headers.map((entry: unknown) => {
        if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError(`headers entries must be [name, value] pairs, got ${describe(entry)}`)
        return [entry[0], entry[1]] as const
      })
    : Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.map((item: unknown) => [name, item] as const) : [[name, value] as const]))
  return entries.map(([name, value]) => {
    assertHeaderText(name, 'header name')
    assertHeaderName(name)
    const lower = name.toLowerCase()
    const own = OWN_FIELDS.get(lower)
    if (own !== undefined) throw new TypeError(`header ${name} is written by compose(); ${own === 'compose()' ? 'it cannot be set' : `use the ${own} field`}`)
    if (hasPriority && PRIORITY_FIELDS.has(lower)) throw new TypeError(`header ${name} conflicts with the priority field`)
    assertHeaderText(value, `header ${name}`)
    return formatUnstructured(name, value, options)
  })
}

function buildBody(input: MessageInput, allow8bit: boolean): { root: MimePart; oneShot: string | undefined } {
  const textPart = input.text === undefined ? undefined : createTextPart('plain', input.text, allow8bit)
  const htmlPart = input.html === undefined ? undefined : createTextPart('html', input.html, allow8bit)
  if (input.attachments !== undefined && !Array.isArray(input.attachments)) throw new TypeError(`attachments must be an array, got ${describe(input.attachments)}`)
  const attachments = (input.attachments ?? []).map((attachment, index) => createAttachmentPart(attachment, index, { allow8bit }))
  const oneShots = attachments.flatMap((attachment, index) => (attachment.oneShot ? [`attachments[${index}]`] : []))
  const related = htmlPart === undefined ? [] : attachments.filter((attachment) => attachment.hasCid).map((attachment) => attachment.part)
  const mixed = attachments.filter((attachment) => htmlPart === undefined || !attachment.hasCid).map((attachment) => attachment.part)

  // RFC 2387: the inline images belong to the HTML, so multipart/related wraps just the HTML, and
  // a client that shows the text alternative does not list them as attachments.
  const htmlNode = htmlPart !== undefined && related.length > 0 ? createMultiPart('related', [htmlPart, ...related]) : htmlPart
  let root: MimePart | undefined = textPart !== undefined && htmlNode !== undefined ? createMultiPart('alternative', [textPart, htmlNode]) : (textPart ?? htmlNode)
  if (mixed.length > 0) root = createMultiPart('mixed', root === undefined ? mixed : [root, ...mixed])
  return { root: root ?? createTextPart('plain', '', allow8bit), oneShot: oneShots[0] }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function createTextPart(subtype: 'plain' | 'html', body: unknown, allow8bit: boolean): LeafPart {
  const field = subtype === 'plain' ? 'text' : 'html'
  let content: string
  if (typeof body === 'string') {
    if (LONE_SURROGATE.test(body)) throw new TypeError(`${field} is not well-formed Unicode (it has a lone surrogate)`)
    content = body
  } else if (body instanceof Uint8Array) {
    try {
      content = utf8.decode(body)
    } catch {
      throw new TypeError(`${field} bytes are not valid UTF-8`)
    }
  } else {
    throw new TypeError(`${field} must be a string or UTF-8 bytes, got ${describe(body)}`)
  }
  // RFC 2046 §4.1.1: the canonical form of text has CRLF line breaks.
  const bytes = Buffer.from(content.replace(/\r\n|\r|\n/g, '\r\n'), 'utf8')
  const encoding = chooseTextEncoding(bytes, { allow8bit })
  return {
    kind: 'leaf',
    fields: [`Content-Type: text/${subtype}; charset=utf-8`, `Content-Transfer-Encoding: ${encoding}`],
    encoding,
    mode: 'text',
    source: { kind: 'bytes', bytes },
  }
}

function leaves(part: MimePart): LeafPart[] {
  return part.kind === 'leaf' ? [part] : part.children.flatMap(leaves)
}

function multiparts(part: MimePart): MultiPart[] {
  return part.kind === 'leaf' ? [] : [part, ...part.children.flatMap(multiparts)]
}

// See boundary.ts for why only 7bit and 8bit content needs searching.
function assignBoundaries(root: MimePart): void {
  const unencoded = leaves(root).flatMap((leaf) => (leaf.source.kind === 'bytes' && (leaf.encoding === '7bit' || leaf.encoding === '8bit') ? [Buffer.from(leaf.source.bytes.buffer, leaf.source.bytes.byteOffset, leaf.source.bytes.byteLength)] : []))
  const used = new Set<string>()
  for (const part of multiparts(root)) {
    let boundary = createBoundary()
    while (used.has(boundary) || unencoded.some((bytes) => bytes.includes(boundary))) boundary = createBoundary()
    used.add(boundary)
    part.boundary = boundary
  }
}

function dedupeKey(address: string): string {
  const at = address.lastIndexOf('@')
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`
}
