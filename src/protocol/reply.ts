import { splitEnhancedCode, type EnhancedCode } from './enhanced-code.ts'
import { ProtocolError, SmtpError } from './errors.ts'

/** One reply of an SMTP server, single- or multi-line (RFC 5321 §4.2). */
export interface Reply {
  /** The three-digit reply code. */
  readonly code: number
  /** The enhanced status code of the first line (RFC 2034), if it carried one. */
  readonly enhancedCode: EnhancedCode | undefined
  /** The text of every line, without the reply code and without enhanced codes. */
  readonly lines: readonly string[]
}

/** True for a 2xx or 3xx reply. */
export function isPositive(reply: Reply): boolean {
  return reply.code < 400
}

/** The reply's text, lines joined with a space. */
export function replyText(reply: Reply): string {
  return reply.lines.join(' ')
}

/**
 * Turns a negative reply into an {@link SmtpError} that names the command it answered.
 * `command` should already be redacted.
 */
export function replyToError(reply: Reply, command?: string): SmtpError {
  return new SmtpError(reply.code, reply.enhancedCode, reply.lines, { command })
}

/**
 * Formats a reply for the wire: `250-first\r\n250 last\r\n`. With `enhancedCode` set, every line
 * carries it, as RFC 2034 §4 asks. Text must not contain CR or LF (callers build it); lines are
 * split on `\n` so a multi-line text can be given as one string.
 */
export function formatReply(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): string {
  const lines = typeof text === 'string' ? text.split('\n') : text.length > 0 ? text : ['']
  const last = lines.length - 1
  let out = ''
  for (let i = 0; i <= last; i++) {
    const line = lines[i]!
    // An LF inside an array's line would start a reply line the code does not frame.
    if (line.includes('\r') || line.includes('\n')) throw new TypeError('reply text must not contain CR or LF')
    const body = enhancedCode ? (line ? `${enhancedCode} ${line}` : enhancedCode) : line
    out += `${code}${i === last ? ' ' : '-'}${body}\r\n`
  }
  return out
}

/** Options for {@link ReplyParser}. */
export interface ReplyParserOptions {
  /** The most lines one reply may have before it is a protocol error. Default 1000. */
  maxLines?: number
}

/**
 * Assembles replies from lines (CRLF already removed), one line at a time. A multi-line reply
 * is complete at its line with a space (or nothing) after the code; every line must carry the
 * same code (RFC 5321 §4.2.1). Malformed input is a {@link ProtocolError}, never a guess.
 */
export class ReplyParser {
  #code = 0
  #lines: string[] = []
  #enhanced: EnhancedCode | undefined
  readonly #maxLines: number

  constructor(options: ReplyParserOptions = {}) {
    this.#maxLines = options.maxLines ?? 1000
  }

  /** True while a multi-line reply has started but not ended. */
  get pending(): boolean {
    return this.#lines.length > 0
  }

  /** Takes one line; returns the reply when this line completes one. */
  push(line: Uint8Array): Reply | undefined {
    const code = parseCode(line)
    const sep = line.length > 3 ? line[3] : 0x20
    if (code === -1 || (sep !== 0x20 && sep !== 0x2d)) {
      throw new ProtocolError('ERR_SMTP_BAD_REPLY', `malformed reply line: ${JSON.stringify(printable(line))}`)
    }
    if (this.#lines.length > 0 && code !== this.#code) {
      throw new ProtocolError(
        'ERR_SMTP_BAD_REPLY',
        `reply code changed within a multi-line reply (${this.#code} then ${code})`,
      )
    }
    this.#code = code
    // A line from the LineSplitter is a Buffer already: decoded in place, no view made for it.
    const raw = line.length <= 4 ? '' : Buffer.isBuffer(line) ? line.toString('utf8', 4) : Buffer.from(line.buffer, line.byteOffset + 4, line.length - 4).toString('utf8')
    // Only text of the form `X.` can open an enhanced code: most lines (EHLO keywords) cannot.
    let enhancedCode: EnhancedCode | undefined
    let text = raw
    if (raw.charCodeAt(1) === 0x2e) ({ enhancedCode, text } = splitEnhancedCode(code, raw))
    if (this.#lines.length === 0) this.#enhanced = enhancedCode
    this.#lines.push(text)
    if (sep === 0x2d) {
      if (this.#lines.length >= this.#maxLines) {
        throw new ProtocolError('ERR_SMTP_BAD_REPLY', `reply has more than ${this.#maxLines} lines`)
      }
      return undefined
    }
    const reply: Reply = { code, enhancedCode: this.#enhanced, lines: this.#lines }
    this.#lines = []
    this.#enhanced = undefined
    return reply
  }
}

// Reply codes are 2xx-5xx with a second digit 0-5 (RFC 5321 §4.2); 1xx is never used.
function parseCode(line: Uint8Array): number {
  if (line.length < 3) return -1
  const a = line[0]! - 48
  const b = line[1]! - 48
  const c = line[2]! - 48
  if (a < 2 || a > 5 || b < 0 || b > 5 || c < 0 || c > 9) return -1
  return a * 100 + b * 10 + c
}

function printable(line: Uint8Array): string {
  return Buffer.from(line.subarray(0, 80)).toString('latin1')
}

/** Parses a whole reply from text such as `250-a\r\n250 b\r\n`. For tests and tooling. */
export function parseReply(text: string): Reply {
  const parser = new ReplyParser()
  const raw = text.endsWith('\r\n') ? text.slice(0, -2) : text
  const lines = raw.split('\r\n')
  for (let i = 0; i < lines.length; i++) {
    const reply = parser.push(Buffer.from(lines[i]!, 'utf8'))
    if (reply) {
      if (i !== lines.length - 1) throw new ProtocolError('ERR_SMTP_BAD_REPLY', 'text continues after the last line of a reply')
      return reply
    }
  }
  throw new ProtocolError('ERR_SMTP_BAD_REPLY', 'reply is incomplete: no last line')
}
