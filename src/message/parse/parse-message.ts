import { MessageBuilder } from './message-builder.ts'
import { MimeScanner } from './mime-scanner.ts'
import { PARSE_MESSAGE_OPTIONS, resolveParseOptions, type ParseMessageOptions } from './parse-options.ts'
import type { ParsedMessage } from './parsed-message.ts'
import { readSource, wholeSource, type ParseSource } from './read-source.ts'

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
 *
 * With `onAttachment`, each attachment's decoded content is handed to it as a Readable as soon
 * as the attachment's header has arrived, instead of being kept: `content` is then empty, `size`
 * and `checksum` are still given, and `maxDecodedBytes` does not count it. The source is read only
 * as fast as the streams are, so memory stays flat; parseMessage resolves once every handler's
 * promise has, and rejects with the first handler error. A stream the handler leaves unread is
 * discarded once its handler returns. Attached messages, delivery-status parts and signatures
 * are kept in memory as usual.
 */
export async function parseMessage(source: ParseSource, options?: ParseMessageOptions): Promise<ParsedMessage> {
  const limits = resolveParseOptions('parseMessage()', options, PARSE_MESSAGE_OPTIONS)
  const builder = new MessageBuilder(limits.maxDecodedBytes, options?.onAttachment)
  const scanner = new MimeScanner(builder, limits)
  try {
    // A message given whole is read at once, without going through an async iterator.
    const whole = wholeSource(source)
    if (whole !== undefined) {
      scanner.push(whole)
      if (builder.flow.mustWait) await builder.flow.drained()
    } else {
      for await (const chunk of readSource(source)) {
        scanner.push(chunk)
        // Wait for the reader of a full attachment stream; a failed handler stops the flow, and drained() throws its error.
        if (builder.flow.mustWait) await builder.flow.drained()
      }
    }
    scanner.end()
    if (builder.handlers.length > 0) await Promise.all(builder.handlers)
  } catch (error) {
    builder.failStreams(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
  const message = builder.result
  return scanner.isTruncated ? { ...message, isTruncated: true } : message
}
