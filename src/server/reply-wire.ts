import type { EnhancedCode } from '../protocol/enhanced-code.ts'
import { formatReply } from '../protocol/reply.ts'

// One line of printable ASCII (RFC 5321 §4.2): sent as it is, without the sanitising replaces.
const PLAIN_REPLY_TEXT = /^[\x20-\x7e]+$/

/**
 * The bytes of one reply, CRLF-terminated. Text a hook supplied must not break the framing, so
 * control characters (CR and LF among them) become spaces and anything outside printable ASCII,
 * which RFC 5321 §4.2 does not allow in reply text, becomes '?'. A string with LFs is several lines.
 */
export function replyWire(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): string {
  if (typeof text === 'string' && PLAIN_REPLY_TEXT.test(text)) {
    return enhancedCode ? `${code} ${enhancedCode} ${text}\r\n` : `${code} ${text}\r\n`
  }
  const lines = (typeof text === 'string' ? text.split('\n') : text).map((line) =>
    line.replace(/[\x00-\x1f\x7f]/g, ' ').replaceAll('§', 'section ').replace(/[^\x20-\x7e]/g, '?'),
  )
  return formatReply(code, enhancedCode, lines)
}
