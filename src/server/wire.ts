// The seam between a connection and its command handlers: what the handlers may do on the wire
// (`Wire`) and the state they read and change (`ConnectionState`). A leaf: handlers import these
// types, the Connection implements both, and nothing here imports a handler or the Connection,
// so the handlers can be unit-tested against a fake wire.
import type { EnhancedCode } from '../protocol/enhanced-code.ts'
import type { SmtpError } from '../protocol/errors.ts'
import type { MailParams } from '../protocol/params.ts'
import type { AuthFailures } from './auth-failures.ts'
import type { ReadStop } from './byte-reader.ts'
import type { Deadline } from './deadline.ts'
import type { Delivery, HookResult } from './delivery.ts'
import type { ResolvedServerOptions } from './server-options.ts'
import type { ConnectionInfo, EnvelopeRecipient, Session } from './session.ts'

/**
 * Where a connection is in the protocol (RFC 5321 §3.3). `greeting`: no successful EHLO/HELO yet
 * (also after STARTTLS); `ready`: greeted, no transaction; `mail` and `rcpt`: a transaction after
 * MAIL, and after at least one accepted RCPT; `bdat`: between BDAT chunks; `closing`: nothing
 * more is read. Derived from the state (`ConnectionState.phase`), never stored.
 */
export type Phase = 'greeting' | 'ready' | 'mail' | 'rcpt' | 'bdat' | 'closing'

/** The mail transaction in progress: everything MAIL and RCPT established, and a BDAT delivery. */
export interface Transaction {
  readonly from: string
  readonly mailParams: MailParams
  readonly recipients: EnvelopeRecipient[]
  readonly bodyType: '7BIT' | '8BITMIME' | 'BINARYMIME'
  readonly smtpUtf8: boolean
  /** The message being received by BDAT, from the first chunk to LAST. */
  bdat: Delivery | null
}

/** Why {@link Wire.nextLine} returned no line: a line error, or why reading stopped. */
export type LineStop = 'too-long' | 'bare-line-ending' | 'shutdown' | ReadStop

/** {@link ConnectionInfo} as the connection updates it. */
export type MutableInfo = { -readonly [K in keyof ConnectionInfo]: ConnectionInfo[K] }

/** What the command handlers do on the wire: replies, reads, TLS, closing, hooks and logging. */
export interface Wire {
  /** Queues a reply; the enhanced code is dropped when enhanced status codes are off. */
  reply(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): void
  /** Queues the reply an SmtpError stands for. */
  replyError(error: SmtpError): void
  /** Queues a reply that never carries an enhanced code (greeting, EHLO, 334, 354). */
  replyRaw(code: number, text: string | readonly string[]): void
  /** Queues a reply already in wire form (CRLF-terminated lines), built once and reused. */
  replyPrepared(wire: string): void
  /** Writes every queued reply now. */
  flush(): void
  /** Queues the `220` greeting. */
  greet(): void
  /** The next line of an AUTH exchange, or why there is none. */
  nextLine(): Promise<Buffer | LineStop>
  /** Starts the time budget of a DATA body or BDAT chunk. */
  startData(): void
  /** The next bytes of message data, or why there are none. */
  readData(): Promise<Buffer | ReadStop>
  /** Gives back bytes read past the end of message data. */
  unreadData(rest: Buffer): void
  /** Switches to TLS after STARTTLS's 220; false when that failed (the connection is then closed). */
  upgradeToTls(): Promise<boolean>
  /** Queues a final reply and closes. */
  closeWith(code: number, enhancedCode: EnhancedCode, text: string): void
  /** Closes gracefully. */
  close(): void
  /** Answers QUIT and closes. */
  quit(text: string): void
  /** Runs a session hook: its SmtpError becomes the reply, anything else `451 4.3.0` and onError. */
  runHook<T>(call: () => T | Promise<T>, isExpected?: (error: unknown) => boolean): Promise<HookResult<T>>
  /** What to send for an error a hook threw or returned. */
  toReplyError(error: unknown, isExpected?: (error: unknown) => boolean): SmtpError
  /** Logs a transcript line through the `debug` option. */
  debugLine(line: string): void
  /** Passes an internal error to `onError`. */
  reportError(error: unknown): void
  /** The connection's one timer, for waits of the handlers' own. */
  readonly deadline: Deadline
  /** True once the server is shutting down. */
  readonly isShuttingDown: boolean
}

/** The one state record of a connection: what the handlers read and change. */
export interface ConnectionState {
  readonly options: ResolvedServerOptions
  readonly info: MutableInfo
  session: Session
  /** The mail transaction in progress, or null. */
  transaction: Transaction | null
  /** What the last EHLO advertised, by keyword; empty before EHLO, after HELO, STARTTLS or XCLIENT. */
  advertised: ReadonlySet<string>
  /** True when the client may use XCLIENT. */
  readonly xclientTrusted: boolean
  /** Where the connection is in the protocol, derived from the rest. */
  readonly phase: Phase
  badCommands: number
  authFailures: number
  transactionCount: number
  unauthenticatedCommands: number
  /** Failed AUTH exchanges per client address, shared by the server's connections. */
  readonly authFailuresByClient: AuthFailures
}
