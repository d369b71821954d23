import { isUtf8 as checkUtf8 } from 'node:buffer'
import { ProtocolError } from './errors.ts'

/** A command line as the server reads it: the verb upper-cased, and the rest after one space. */
export interface Command {
  /** The verb, upper-cased: `MAIL`, `EHLO`. */
  readonly verb: string
  /** Everything after the verb and its separating space, as sent (may be empty). */
  readonly args: string
}

/**
 * Formats a command line for the wire (client side). Refuses CR, LF and NUL anywhere, so no
 * argument can smuggle in a second command (RFC 5321 §2.3.8).
 */
export function formatCommand(verb: string, ...args: readonly string[]): string {
  const line = args.length > 0 ? `${verb} ${args.join(' ')}` : verb
  if (/[\r\n\0]/.test(line)) {
    throw new TypeError(`refusing to send a command containing CR, LF or NUL: ${JSON.stringify(line)}`)
  }
  return `${line}\r\n`
}

const SP = 0x20

/**
 * Parses a command line (CRLF removed) on the server. The verb is case-insensitive (RFC 5321
 * §2.4) and must be letters only; the arguments are decoded as UTF-8, since SMTPUTF8 allows
 * UTF-8 addresses (RFC 6531). Invalid UTF-8 or a NUL is a {@link ProtocolError}
 * (`ERR_SMTP_BAD_COMMAND`).
 */
export function parseCommand(line: Uint8Array): Command {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.length)
  let end = buf.indexOf(SP)
  if (end === -1) end = buf.length
  for (let i = 0; i < end; i++) {
    const c = buf[i]! | 0x20
    if (c < 0x61 || c > 0x7a) throw new ProtocolError('ERR_SMTP_BAD_COMMAND', 'command verb must be letters only')
  }
  if (end === 0) throw new ProtocolError('ERR_SMTP_BAD_COMMAND', 'empty command line')
  const verb = buf.toString('latin1', 0, end).toUpperCase()
  if (end >= buf.length) return { verb, args: '' }
  const rest = buf.subarray(end + 1)
  if (rest.indexOf(0) !== -1) throw new ProtocolError('ERR_SMTP_BAD_COMMAND', 'command contains a NUL octet')
  if (!isUtf8(rest)) throw new ProtocolError('ERR_SMTP_BAD_COMMAND', 'command arguments are not valid UTF-8')
  return { verb, args: rest.toString('utf8') }
}

// Buffer's isUtf8 is Node >= 18.14; ASCII (the common case) is checked without it.
function isUtf8(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return checkUtf8(bytes)
  }
  return true
}
