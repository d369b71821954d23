import type { Readable } from 'node:stream'

/**
 * The parts of a parsed message the catcher shows: what `parseMessage` (smtpkit/message)
 * resolves with, described by shape so the index and the HTTP API depend on the fields they use
 * and not on the parser's other options.
 */
export interface ParsedMail {
  readonly subject?: string | undefined
  readonly from?: unknown
  readonly to?: unknown
  readonly cc?: unknown
  readonly bcc?: unknown
  readonly replyTo?: unknown
  readonly date?: Date | undefined
  readonly messageId?: string | undefined
  readonly text?: string | undefined
  readonly html?: string | undefined
  readonly attachments: readonly ParsedAttachment[]
}

/** One attachment or inline part of a {@link ParsedMail}. */
export interface ParsedAttachment {
  readonly filename?: string | undefined
  readonly contentType: string
  readonly disposition?: string | undefined
  readonly contentId?: string | undefined
  /** True when the HTML refers to the part by `cid:`. */
  readonly isReferenced?: boolean | undefined
  readonly size: number
  readonly checksum?: string | undefined
  readonly content: Uint8Array
}

/** Parses a whole message (or a header block alone). */
export type ParseMail = (source: Uint8Array | Readable) => Promise<ParsedMail>

/** A mailbox as the API shows it (Mailpit's shape). */
export interface ApiAddress {
  readonly Name: string
  readonly Address: string
}

/**
 * The mailboxes in a parsed address field, whatever its form: one mailbox, a list, groups
 * (flattened), or strings.
 */
export function listMailboxes(value: unknown): ApiAddress[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value.flatMap(listMailboxes)
  if (typeof value === 'string') return [{ Name: '', Address: value }]
  if (typeof value !== 'object') return []
  const item = value as { name?: unknown; address?: unknown; members?: unknown; value?: unknown; group?: unknown }
  if (Array.isArray(item.members)) return listMailboxes(item.members)
  if (Array.isArray(item.group)) return listMailboxes(item.group)
  if (Array.isArray(item.value)) return listMailboxes(item.value)
  if (typeof item.address === 'string') return [{ Name: typeof item.name === 'string' ? item.name : '', Address: item.address }]
  return []
}
