import { flattenMailboxes, parseReceivedAddressList, type AddressItem, type Mailbox } from '../address-header.ts'
import { decodeWords } from './decode-words.ts'
import type { ParsedHeaders } from './parsed-headers.ts'

/** The priority a message asks for, from X-Priority, Importance, Priority or X-MSMail-Priority. */
export type MessagePriority = 'high' | 'normal' | 'low'

/** The common header fields of a message, decoded. */
export interface CommonFields {
  readonly from: readonly Mailbox[]
  readonly sender: Mailbox | undefined
  readonly replyTo: readonly Mailbox[]
  readonly to: readonly AddressItem[]
  readonly cc: readonly AddressItem[]
  readonly bcc: readonly AddressItem[]
  readonly subject: string | undefined
  readonly date: Date | undefined
  /** With angle brackets, `<id@host>`. */
  readonly messageId: string | undefined
  readonly inReplyTo: string | undefined
  readonly references: readonly string[]
  readonly priority: MessagePriority
}

/** Reads the common fields; what cannot be read is left out and reported through `defect`. */
export function readCommonFields(headers: ParsedHeaders, defect: (text: string) => void): CommonFields {
  const addresses = (name: string): AddressItem[] => {
    const fields = headers.getFields(name)
    if (fields.length === 0) return []
    if (fields.length === 1) return readAddresses(fields[0]!.raw, name, defect)
    return fields.flatMap((field) => readAddresses(field.raw, name, defect))
  }
  const date = headers.get('date')
  return {
    from: flattenMailboxes(addresses('from')),
    sender: flattenMailboxes(addresses('sender'))[0],
    replyTo: flattenMailboxes(addresses('reply-to')),
    to: addresses('to'),
    cc: addresses('cc'),
    bcc: addresses('bcc'),
    subject: headers.get('subject'),
    date: date === undefined ? undefined : readDate(date, defect),
    messageId: readMessageIds(headers.get('message-id'))[0],
    inReplyTo: readMessageIds(headers.get('in-reply-to'))[0],
    references: headers.has('references') ? readMessageIds(headers.getAll('references').join(' ')) : [],
    priority: readPriority(headers),
  }
}

function readAddresses(raw: string, name: string, defect: (text: string) => void): AddressItem[] {
  const text = raw.slice(raw.indexOf(':') + 1).replace(/\r\n/g, '').trim()
  if (text === '') return []
  try {
    return parseReceivedAddressList(text, decodeWords)
  } catch {
    // Read what can be read: each comma-separated item on its own, else the <address> in it.
    const items: AddressItem[] = []
    for (const piece of text.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
      if (piece.trim() === '') continue
      try {
        items.push(...parseReceivedAddressList(piece, decodeWords))
      } catch {
        const angle = /<([^<>]*)>/.exec(piece)
        const address = (angle ? angle[1]! : piece).trim()
        const shown = angle ? decodeWords(piece.slice(0, angle.index).trim().replace(/^"(.*)"$/, '$1')) : ''
        if (address !== '') items.push({ name: shown, address })
      }
    }
    defect(`${name}: invalid address list ${JSON.stringify(text)}; read item by item`)
    return items
  }
}

function readDate(value: string, defect: (text: string) => void): Date | undefined {
  // RFC 5322 §3.3; comments such as "(UTC)" confuse Date.parse.
  const time = Date.parse(value.replace(/\([^()]*\)/g, ' ').trim())
  if (Number.isNaN(time)) {
    defect(`date: cannot read ${JSON.stringify(value)}`)
    return undefined
  }
  return new Date(time)
}

function readMessageIds(value: string | undefined): string[] {
  if (value === undefined || value === '') return []
  const bracketed = value.match(/<[^<>\s]+>/g)
  if (bracketed) return bracketed
  return value.split(/[\s,]+/).filter((id) => id !== '').map((id) => `<${id}>`)
}

function readPriority(headers: ParsedHeaders): MessagePriority {
  const xPriority = headers.get('x-priority')
  if (xPriority !== undefined) {
    const level = Number.parseInt(xPriority, 10)
    if (level === 1 || level === 2) return 'high'
    if (level === 4 || level === 5) return 'low'
    if (level === 3) return 'normal'
  }
  const word = (headers.get('importance') ?? headers.get('priority') ?? headers.get('x-msmail-priority') ?? '').trim().toLowerCase()
  if (word === 'high' || word === 'urgent') return 'high'
  if (word === 'low' || word === 'non-urgent') return 'low'
  return 'normal'
}
