import { MessageBuilder } from './message-builder.ts'
import { MimeScanner } from './mime-scanner.ts'
import { resolveParseOptions, type ParseMessageOptions } from './parse-options.ts'
import type { ParsedMessage } from './parsed-message.ts'
import { readSource, type ParseSource } from './read-source.ts'

/**
 * Parses an RFC 5322 message with its MIME structure (RFC 2045-2049), streaming: the source is
 * read once, chunk by chunk, and only decoded content is kept.
 *
 * Resolves with the header fields, the common fields decoded (addresses through the address-list
 * parser, RFC 2047 words, dates), the text and HTML bodies, and every other part as an
 * attachment with its decoded bytes. multipart/mixed, alternative, related, signed (the signed
 * bytes kept exactly), report (delivery status notifications, RFC 3464) and attached messages
 * (message/rfc822, parsed and raw) are understood. Quoted-printable and base64 are decoded
 * tolerantly, RFC 2231 parameters and every charset Node's TextDecoder knows are read; an
 * unknown charset falls back and is listed in `defects`. Line ends may be CRLF, LF or CR.
 *
 * Hostile input is bounded: nesting (`maxDepth`), parts (`maxParts`), header size
 * (`maxHeaderBytes`, `maxLineBytes`) are read up to their limit and the message is flagged
 * `isTruncated`; more decoded content than `maxDecodedBytes` rejects with a MessageParseError
 * `ERR_MESSAGE_TOO_LARGE`. Bad options throw a TypeError or RangeError naming the option; a
 * failing source rejects with its error. Nothing in the message's bytes makes it reject otherwise.
 */
export async function parseMessage(source: ParseSource, options?: ParseMessageOptions): Promise<ParsedMessage> {
  const limits = resolveParseOptions('parseMessage()', options, { maxDecodedBytes: 'number' })
  const builder = new MessageBuilder(limits.maxDecodedBytes)
  const scanner = new MimeScanner(builder, limits)
  for await (const chunk of readSource(source)) scanner.push(chunk)
  scanner.end()
  const message = builder.result
  return scanner.isTruncated ? { ...message, isTruncated: true } : message
}
