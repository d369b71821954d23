import type { BodyDecoder } from '../protocol/dot-stuffing.ts'
import { SmtpError } from '../protocol/errors.ts'

/**
 * The content rules of a 7bit or 8bit message body (RFC 5321 §2.3.8, RFC 2045 §2.7 and §2.8),
 * the same for DATA and BDAT (BODY=BINARYMIME is exempt, RFC 3030 §3): the reply for the first
 * rule `decoder` found broken so far, or undefined. The decoder finds them all in its one pass
 * over the bytes; this only says which one the client hears of. `acceptBareLineEndings` lets
 * bare CR and LF through (the decoder normalises them instead); `command` words the NUL reply.
 *
 * Without these over BDAT a message refused over DATA (`\n.\n` smuggling, NUL, bare CR) would be
 * stored as sent, and re-emitted by any relay that forwards the file over DATA.
 */
export function bodyRuleFailure(
  decoder: BodyDecoder,
  limits: { readonly maxTextLineBytes: number },
  acceptBareLineEndings: boolean,
  command: 'DATA' | 'BDAT',
): SmtpError | undefined {
  if (decoder.exceededMaxBytes) return tooBig()
  if (decoder.sawBareLineEnding && !acceptBareLineEndings) return bareLineEndingError()
  if (decoder.sawLongLine) return longLineError(limits.maxTextLineBytes)
  if (decoder.sawNul) return nulError(command === 'DATA' ? 'DATA cannot' : 'only BODY=BINARYMIME can')
  return undefined
}

/** RFC 1870 §6.1 and RFC 5321 §4.5.3.1.7: the message is over `limits.maxMessageBytes`. */
export function tooBig(): SmtpError {
  return new SmtpError(552, '5.3.4', 'Message size exceeds fixed maximum message size')
}

/** RFC 5321 §2.3.8: CR and LF only as CRLF. Smuggling attempts (`\n.\n` and kin) land here. */
export function bareLineEndingError(): SmtpError {
  return new SmtpError(554, '5.6.0', 'Message contains a bare LF or CR; use CRLF line endings')
}

/** A line over `limits.maxTextLineBytes`. */
export function longLineError(maxLineBytes: number): SmtpError {
  return new SmtpError(554, '5.6.0', `Message has a line longer than ${maxLineBytes} octets`)
}

/**
 * RFC 2045 §2.7 and §2.8: neither 7bit nor 8bit text may hold NUL (only BINARYMIME may). A relay
 * that drops NULs would turn `\r\n\0.\r\n` into an end of data downstream.
 */
export function nulError(whoCan: string): SmtpError {
  return new SmtpError(554, '5.6.0', `Message contains a NUL octet, which ${whoCan} carry`)
}
