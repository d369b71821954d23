import type { CommonFields } from './common-fields.ts'
import type { DeliveryReport } from './delivery-status.ts'
import type { ParsedHeaders } from './parsed-headers.ts'

/** An attachment (or inline part) of a parsed message. */
export interface ParsedAttachment {
  /** From Content-Disposition `filename` or Content-Type `name`, decoded; not safe as a path: see safeFilename. */
  readonly filename: string | undefined
  /** `type/subtype`, lower-cased. */
  readonly contentType: string
  /** The Content-Type `charset` parameter, when there is one. */
  readonly charset: string | undefined
  readonly disposition: 'attachment' | 'inline' | undefined
  /** Content-ID without its angle brackets, as `cid:` URLs name it (RFC 2392). */
  readonly contentId: string | undefined
  /** Whether the HTML refers to this part by `cid:` (an inline image, for instance). */
  readonly isReferenced: boolean
  /** Decoded size in bytes. */
  readonly size: number
  /** SHA-256 of the decoded bytes, hex. */
  readonly checksum: string
  /**
   * The decoded bytes; empty when the attachment was handed to `onAttachment` as a stream. A
   * large one is a view of the resizable ArrayBuffer it was decoded into (`content.buffer` may be
   * longer than `content`): use the Buffer, not its ArrayBuffer.
   */
  readonly content: Buffer
  /** The part's own header fields. */
  readonly headers: ParsedHeaders
  /** For an attached message (message/rfc822): the message parsed; `content` holds its raw bytes. */
  readonly message?: ParsedMessage
}

/** A multipart/signed part (RFC 1847): the exact bytes that were signed, and the signature. */
export interface SignedContent {
  /** The `protocol` parameter, such as application/pgp-signature or application/pkcs7-signature. */
  readonly protocol: string | undefined
  readonly micalg: string | undefined
  /** The first part exactly as it arrived, header included, without the line break before the boundary. */
  readonly content: Buffer
  /** The second part, decoded. */
  readonly signature: Buffer
}

/** A message read by parseMessage. */
export interface ParsedMessage extends CommonFields {
  /** Every header field of the message, in order. */
  readonly headers: ParsedHeaders
  /** The plain-text body (text/plain parts that are not attachments, joined), line breaks as "\n". */
  readonly text: string | undefined
  /** The HTML body (text/html parts that are not attachments, joined), line breaks as "\n". */
  readonly html: string | undefined
  /** Every other part, in order: files, inline images, attached messages, reports. */
  readonly attachments: readonly ParsedAttachment[]
  /** For a delivery status notification (multipart/report; report-type=delivery-status, RFC 3464). */
  readonly report?: DeliveryReport
  /** For a message with a multipart/signed part: the first one. */
  readonly signed?: SignedContent
  /** What was wrong with the message and how it was read anyway (unknown charset, missing boundary, ...). */
  readonly defects: readonly string[]
  /** True when a limit (maxDepth, maxParts, maxHeaderBytes, maxLineBytes) made the parser skip content. */
  readonly isTruncated: boolean
}
