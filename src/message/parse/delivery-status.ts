import { parseHeaderBlock, type ParsedHeaders } from './parsed-headers.ts'

/** One recipient of a delivery status notification (RFC 3464 §2.3). */
export interface RecipientStatus {
  /** Final-Recipient, without its address type (`rfc822;`). */
  readonly finalRecipient: string | undefined
  /** Original-Recipient, without its address type, when the report has it. */
  readonly originalRecipient: string | undefined
  /** `failed`, `delayed`, `delivered`, `relayed` or `expanded`, lower-cased. */
  readonly action: string | undefined
  /** The enhanced status code, such as `5.1.1` (RFC 3463). */
  readonly status: string | undefined
  /** Diagnostic-Code without its type (`smtp;`): usually the remote server's reply, such as `550 5.1.1 No such user`. */
  readonly diagnosticCode: string | undefined
  /** Remote-MTA without its type (`dns;`). */
  readonly remoteMta: string | undefined
  /** Every field of this recipient's block. */
  readonly fields: ParsedHeaders
}

/** A delivery status notification, what a bounce processor needs (RFC 3464). */
export interface DeliveryReport {
  /** Reporting-MTA without its type (`dns;`). */
  readonly reportingMta: string | undefined
  /** Original-Envelope-Id, when the sender gave an ENVID. */
  readonly originalEnvelopeId: string | undefined
  /** Every per-message field. */
  readonly fields: ParsedHeaders
  readonly recipients: readonly RecipientStatus[]
  /** The header of the returned message (from its text/rfc822-headers or message/rfc822 part), when there is one. */
  readonly returnedHeaders: ParsedHeaders | undefined
}

/**
 * Reads the body of a message/delivery-status part (RFC 3464 §2.1): per-message fields, then a
 * block of fields per recipient, blocks separated by empty lines.
 */
export function parseDeliveryStatus(body: Buffer, returnedHeaders: ParsedHeaders | undefined): DeliveryReport {
  const blocks = body
    .toString('latin1')
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((block) => block.replace(/^(?:[ \t]*\n)+/, ''))
    .filter((block) => block.trim() !== '')
    .map((block) => parseHeaderBlock(Buffer.from(block, 'latin1')))
  const perMessage = blocks[0] ?? parseHeaderBlock(Buffer.alloc(0))
  return {
    reportingMta: withoutType(perMessage.get('reporting-mta')),
    originalEnvelopeId: perMessage.get('original-envelope-id'),
    fields: perMessage,
    recipients: blocks.slice(1).map((fields) => ({
      finalRecipient: withoutType(fields.get('final-recipient')),
      originalRecipient: withoutType(fields.get('original-recipient')),
      action: fields.get('action')?.toLowerCase(),
      status: fields.get('status')?.split(/\s/)[0],
      diagnosticCode: withoutType(fields.get('diagnostic-code')),
      remoteMta: withoutType(fields.get('remote-mta')),
      fields,
    })),
    returnedHeaders,
  }
}

// RFC 3464 §2.1.2: typed values are `type ; value`.
function withoutType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const semicolon = value.indexOf(';')
  return (semicolon === -1 ? value : value.slice(semicolon + 1)).trim()
}
