import type { EnhancedCode } from './enhanced-code.ts'

/**
 * A reply from an SMTP peer that is not a success: on the client side, what the server said;
 * on the server side, the reply a session hook wants sent (throw it from a hook and exactly this
 * reply goes out).
 *
 * Its `message` reads like the transcript line plus context:
 * `550 5.1.1 No such user here (RCPT TO:<bob@example.test>)`.
 */
export class SmtpError extends Error {
  /** The three-digit reply code, such as 550. */
  readonly code: number
  /** The RFC 3463 enhanced status code, when the reply carried (or should carry) one. */
  readonly enhancedCode: EnhancedCode | undefined
  /** The reply text, all lines joined with `\n`, without codes. */
  readonly text: string
  /** Each line of the reply's text, without codes. */
  readonly lines: readonly string[]
  /** The command that got this reply (client side), with AUTH data redacted. */
  readonly command: string | undefined

  constructor(
    code: number,
    enhancedCode: EnhancedCode | undefined,
    text: string | readonly string[],
    options: { command?: string | undefined; cause?: unknown } = {},
  ) {
    const lines = typeof text === 'string' ? text.split('\n') : [...text]
    const joined = lines.join('\n')
    const head = `${code}${enhancedCode ? ` ${enhancedCode}` : ''} ${lines.join(' ')}`.trimEnd()
    super(options.command ? `${head} (${options.command})` : head, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SmtpError'
    this.code = code
    this.enhancedCode = enhancedCode
    this.text = joined
    this.lines = lines
    this.command = options.command
  }

  /** True for a 4xx reply: the same thing may succeed later. */
  get temporary(): boolean {
    return this.code >= 400 && this.code < 500
  }

  /** True for a 5xx reply: retrying the same thing will fail again. */
  get permanent(): boolean {
    return this.code >= 500
  }
}

/** Codes of {@link ProtocolError}: what rule of the protocol the peer broke. */
export type ProtocolErrorCode =
  | 'ERR_SMTP_BAD_REPLY'
  | 'ERR_SMTP_BAD_COMMAND'
  | 'ERR_SMTP_BAD_ADDRESS'
  | 'ERR_SMTP_BAD_PARAMETER'
  | 'ERR_SMTP_LINE_TOO_LONG'
  | 'ERR_SMTP_BARE_LINE_ENDING'
  | 'ERR_SMTP_TOO_MUCH_DATA'
  | 'ERR_SMTP_UNEXPECTED_REPLY'
  | 'ERR_SMTP_CONNECTION_CLOSED'
  | 'ERR_SMTP_UNSUPPORTED'
  | 'ERR_SMTP_PROXY_HEADER'

/**
 * The peer broke the protocol (a malformed reply, a line too long, a bare LF where CRLF is
 * required), or the connection cannot do what was asked (the server lacks an extension the
 * message needs). `code` names the rule; `message` says what happened.
 */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProtocolError'
    this.code = code
  }
}
