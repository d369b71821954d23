import type { MessageSummary } from './catcher.ts'
import type { CaughtEnvelope } from './envelope-header.ts'
import type { ApiAddress, ParsedAttachment, ParsedMail } from './parsed-mail.ts'
import { listMailboxes } from './parsed-mail.ts'

/** A message in a list, in Mailpit's shape (`MessageSummary`), plus its SMTP envelope. */
export interface ApiSummary {
  readonly ID: string
  readonly MessageID: string
  readonly Read: boolean
  readonly From: ApiAddress | null
  readonly To: readonly ApiAddress[]
  readonly Cc: readonly ApiAddress[]
  readonly Bcc: readonly ApiAddress[]
  readonly ReplyTo: readonly ApiAddress[]
  readonly Subject: string
  readonly Date: string | null
  readonly Created: string
  readonly Size: number
  readonly Attachments: number
  readonly Envelope: ApiEnvelope | null
}

/** The SMTP envelope of a message. */
export interface ApiEnvelope {
  readonly From: string
  readonly To: readonly string[]
  readonly RemoteAddress: string
  readonly Helo: string | null
  readonly TLS: string | null
  readonly AuthUser: string | null
}

/** One attachment's metadata; its bytes are at `/api/v1/message/{ID}/part/{PartID}`. */
export interface ApiAttachment {
  readonly PartID: string
  readonly FileName: string
  readonly ContentType: string
  readonly ContentID: string
  readonly Disposition: string
  readonly Size: number
  readonly Checksum: string
}

/** Formats a summary for the API. */
export function formatSummary(summary: MessageSummary): ApiSummary {
  return {
    ID: summary.id,
    MessageID: summary.messageId,
    Read: summary.isSeen,
    From: summary.from,
    To: summary.to,
    Cc: summary.cc,
    Bcc: summary.bcc,
    ReplyTo: summary.replyTo,
    Subject: summary.subject,
    Date: summary.date?.toISOString() ?? null,
    Created: summary.receivedAt.toISOString(),
    Size: summary.size,
    Attachments: summary.attachments,
    Envelope: summary.envelope && formatEnvelope(summary.envelope),
  }
}

function formatEnvelope(envelope: CaughtEnvelope): ApiEnvelope {
  return { From: envelope.from, To: envelope.to, RemoteAddress: envelope.remoteAddress, Helo: envelope.helo, TLS: envelope.tls, AuthUser: envelope.authUser }
}

/** True for a part shown inside the HTML (referenced by `cid:`) rather than offered as a file. */
export function isInlinePart(part: ParsedAttachment): boolean {
  return part.isReferenced ?? (Boolean(part.contentId) && part.disposition !== 'attachment')
}

/** The content id without angle brackets. */
export function bareContentId(part: ParsedAttachment): string {
  return (part.contentId ?? '').replace(/^<|>$/g, '')
}

/** A whole message for the API: Mailpit's `Message` shape, plus the envelope. */
export function formatMessage(summary: MessageSummary, mail: ParsedMail, returnPath: string) {
  const parts = mail.attachments.map((part, i) => ({ part, json: formatAttachment(part, i) }))
  return {
    ...formatSummary(summary),
    // The parse of the whole message may know more than the header-only summary did.
    From: listMailboxes(mail.from)[0] ?? summary.from,
    ReturnPath: returnPath,
    Text: mail.text ?? '',
    HTML: mail.html ?? '',
    Attachments: parts.filter((p) => !isInlinePart(p.part)).map((p) => p.json),
    Inline: parts.filter((p) => isInlinePart(p.part)).map((p) => p.json),
  }
}

function formatAttachment(part: ParsedAttachment, index: number): ApiAttachment {
  return {
    PartID: String(index + 1),
    FileName: part.filename ?? '',
    ContentType: part.contentType,
    ContentID: bareContentId(part),
    Disposition: part.disposition ?? '',
    Size: part.size,
    Checksum: part.checksum ?? '',
  }
}
