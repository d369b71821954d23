import type { Readable } from 'node:stream'
import type { PeerCertificate } from 'node:tls'
import type { SmtpError } from '../protocol/errors.ts'
import type { MailParams, RcptParams } from '../protocol/params.ts'
import type { ProxyHeader } from './proxy-protocol.ts'

/** The TLS state of a connection, once STARTTLS or implicit TLS has completed. */
export interface TlsInfo {
  /** The negotiated protocol version, such as `'TLSv1.3'`. */
  readonly protocol: string | null
  /** The negotiated cipher suite, such as `'TLS_AES_256_GCM_SHA384'`. */
  readonly cipher: string
  /** The client's certificate when one was requested (`tls.requestCert`) and sent. */
  readonly peerCertificate: PeerCertificate | undefined
  /** True when the client certificate was verified against the configured CAs. */
  readonly authorized: boolean
}

/**
 * What the server knows about one connection. Passed to `newSession` and the `auth` hook; the
 * same object is updated as the connection goes on (`helo`, `isTls`, `authenticatedAs`), so a
 * session may keep it and read it in later hooks.
 */
export interface ConnectionInfo {
  /** A short identifier unique within this process, for logs and `Received:` ids. */
  readonly id: string
  /** The peer's address (after a PROXY header, the original client's). `''` when unknown. */
  readonly remoteAddress: string
  /** The peer's port, 0 when unknown. */
  readonly remotePort: number
  /** Our address on this connection, `''` when unknown. */
  readonly localAddress: string
  /** Our port on this connection, 0 when unknown. */
  readonly localPort: number
  /** True once the connection is encrypted (implicit TLS or after STARTTLS). */
  readonly isTls: boolean
  /** The TLS details when `isTls`. */
  readonly tls: TlsInfo | undefined
  /** The domain the client gave with EHLO, HELO or LHLO; cleared by STARTTLS (RFC 3207 §4.2). */
  readonly helo: string | undefined
  /** True when the client greeted with EHLO or LHLO rather than HELO. */
  readonly isEsmtp: boolean
  /** The identity a successful AUTH established (or XCLIENT's LOGIN), or undefined. */
  readonly authenticatedAs: string | undefined
  /**
   * What the `auth` hook returned as `user` along with the identity (`{ identity, user }`): your
   * account record, kept for the rest of the connection (smtp-server's `session.user`).
   */
  readonly user?: unknown
  /**
   * The client's host name: forward-confirmed reverse DNS (the `reverseDns` option), or the
   * name XCLIENT gave. Undefined when unknown or not looked up.
   */
  readonly clientHostname?: string | undefined
  /**
   * The PROXY protocol header the connection began with (`proxyProtocol` option), or undefined:
   * its TLVs carry what the proxy knows and the addresses do not, such as the TLS the client used
   * with the proxy (see `parseProxySslTlv`), the authority (SNI) or a unique connection id.
   */
  readonly proxy?: ProxyHeader | undefined
}

/** One accepted recipient of a transaction. */
export interface EnvelopeRecipient {
  /** The forward-path's mailbox as sent (`Postmaster` allowed), without angle brackets. */
  readonly address: string
  /** Its RCPT TO parameters (DSN NOTIFY and ORCPT). */
  readonly params: RcptParams
}

/** The envelope of a message, as handed to {@link Session.data}. */
export interface Envelope {
  /** The reverse-path's mailbox, `''` for the null reverse-path `<>`. */
  readonly from: string
  /** The MAIL FROM parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH). */
  readonly mailParams: MailParams
  /** The recipients the server accepted, in order. */
  readonly recipients: readonly EnvelopeRecipient[]
  /** The BODY type declared with MAIL FROM; `'7BIT'` when none was. */
  readonly bodyType: '7BIT' | '8BITMIME' | 'BINARYMIME'
  /** True when MAIL FROM carried SMTPUTF8 (RFC 6531). */
  readonly smtpUtf8: boolean
  /** True when the message came by BDAT (RFC 3030) rather than DATA. */
  readonly isBdat: boolean
}

/**
 * One recipient's outcome of an LMTP delivery (RFC 2033 §4.2): a string or undefined for success
 * (the string becomes the reply text), an {@link SmtpError} for that recipient's failure reply.
 */
export type RecipientResult = string | undefined | SmtpError

/**
 * What {@link Session.data} may return: the text of the `250` reply (or nothing for the default
 * text); in LMTP mode also an array with one {@link RecipientResult} per accepted recipient, in
 * envelope order.
 */
export type DataResult = string | undefined | void | readonly RecipientResult[]

/**
 * The per-connection handler of a server: the methods are named after the SMTP verbs, and all
 * are optional. Each may be async. Throwing an `SmtpError` sends exactly that reply; throwing
 * anything else sends `451 4.3.0 Local error in processing` and passes the error to the server's
 * `onError` (its text never reaches the peer).
 */
export interface Session {
  /** MAIL FROM was received and its syntax checked. `from` is `''` for the null reverse-path. */
  mail?(from: string, params: MailParams): void | Promise<void>
  /** RCPT TO was received and its syntax checked; throw (for example `550 5.1.1`) to refuse it. */
  rcpt?(to: string, params: RcptParams): void | Promise<void>
  /**
   * The message body, unstuffed, as a Node `Readable` of Buffers (also an async iterable).
   *
   * The stream must be consumed or destroyed, and the reply is sent after both the hook settles
   * and end-of-data is read. While the hook leaves the stream unread the socket is not read
   * either; after `limits.dataTimeoutMs` of that, or of waiting for the hook after end-of-data,
   * the stream is destroyed with `421 4.4.2` and the connection closes. When the message breaks a rule (larger than `maxMessageBytes`, a
   * bare LF or CR, a NUL in DATA) the stream is destroyed with the `SmtpError` that becomes the
   * reply, and the hook's own result is ignored: nothing was delivered. A hook that returns
   * without reading the stream has it drained for it. Without a `data` hook the message is
   * accepted and discarded.
   */
  data?(message: Readable, envelope: Envelope): DataResult | Promise<DataResult>
  /**
   * Chooses what EHLO (or LHLO) advertises to this client: gets the keywords the server would
   * offer (`'PIPELINING'`, `'SIZE 26214400'`, `'STARTTLS'`, `'AUTH PLAIN LOGIN'`, ...) and returns
   * the ones to offer; anything not in `offered` is ignored. The commands and MAIL/RCPT parameters
   * of an extension left out are refused as if it were not configured: hide STARTTLS or AUTH from
   * some clients, say. PIPELINING and ENHANCEDSTATUSCODES name no command: leaving them out only
   * changes the EHLO reply (pipelined commands are still read in order, replies keep their codes).
   */
  extensions?(offered: readonly string[]): readonly string[] | Promise<readonly string[]>
  /** The transaction was abandoned: RSET, EHLO/HELO, STARTTLS, or the connection closing mid-transaction. */
  reset?(): void | Promise<void>
  /** The connection has closed. Called once; errors go to `onError`. */
  close?(): void | Promise<void>
  /**
   * VRFY (RFC 5321 §3.5.3): return the text for a `250` reply (such as `Bob <bob@example.test>`),
   * or throw an SmtpError (`550 5.1.1`, `553 5.1.4`). Without it the server answers `252 2.5.0`.
   */
  vrfy?(argument: string): string | void | Promise<string | void>
}
