import type { ConnectionInfo, Envelope } from './session.ts'

/** Options of {@link formatReceivedHeader}. */
export interface ReceivedHeaderOptions {
  /** The receiving host, the `by` clause: usually the server's hostname. */
  readonly hostname: string
  /** The connection the message came on. */
  readonly conn: ConnectionInfo
  /** The transaction's envelope: SMTPUTF8 changes the protocol type. */
  readonly envelope?: Envelope | undefined
  /** LMTP rather than SMTP. Default false. */
  readonly lmtp?: boolean | undefined
  /** The `id` clause, such as a queue id. Default: the connection id. */
  readonly id?: string | undefined
  /**
   * The `for` clause. Name a recipient only when the message has just that one: listing several
   * would show every recipient the others' Bcc (RFC 5321 §7.2).
   */
  readonly recipient?: string | undefined
  /** The time of receipt. Default: now. */
  readonly date?: Date | undefined
}

/**
 * The `with` protocol type of a trace header: SMTP or ESMTP (RFC 5321 §4.4), with `S` for TLS
 * and `A` for an authenticated client (RFC 3848), LMTP alike, and the UTF8 forms for SMTPUTF8
 * transactions (RFC 6531 §4.3). Plain SMTP (HELO) has no registered S or A forms.
 */
export function receivedProtocol(conn: ConnectionInfo, options: { lmtp?: boolean | undefined; smtpUtf8?: boolean | undefined } = {}): string {
  const base = options.lmtp ? 'LMTP' : conn.isEsmtp ? 'ESMTP' : 'SMTP'
  if (base === 'SMTP') return options.smtpUtf8 ? 'UTF8SMTP' : 'SMTP'
  const suffix = `${conn.isTls ? 'S' : ''}${conn.authenticatedAs !== undefined ? 'A' : ''}`
  if (options.smtpUtf8) return `UTF8${base === 'ESMTP' ? 'SMTP' : 'LMTP'}${suffix}`
  return `${base}${suffix}`
}

// Text from the peer (its EHLO name) must not break out of the header or its comments.
function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]|[()\\;"]/g, '?')
}

// The address is ours (socket) or a trusted proxy's (a Unix path, already escaped); cleaned
// anyway, so no caller-supplied handle() address can break the header either.
function addressLiteral(ip: string): string {
  if (ip === '') return '[unknown]'
  if (ip.startsWith('::ffff:') && ip.includes('.')) return `[${clean(ip.slice(7))}]`
  return ip.includes(':') ? `[IPv6:${clean(ip)}]` : `[${clean(ip)}]`
}

/** An RFC 5322 §3.3 date-time in UTC: `Mon, 23 Nov 2026 08:13:50 +0000`. */
export function formatDateTime(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000')
}

/**
 * Builds the `Received:` trace header a server prepends to a message (RFC 5321 §4.4), folded and
 * ending in CRLF:
 *
 * ```
 * Received: from client.example ([192.0.2.1])
 * 	by mx.example.test with ESMTPS id 1a2b3c
 * 	(TLSv1.3 TLS_AES_256_GCM_SHA384)
 * 	for <bob@example.test>; Mon, 23 Nov 2026 08:13:50 +0000
 * ```
 */
export function formatReceivedHeader(options: ReceivedHeaderOptions): string {
  const { conn } = options
  const lines: string[] = []
  const helo = conn.helo === undefined ? 'unknown' : clean(conn.helo)
  const name = conn.clientHostname === undefined ? '' : `${clean(conn.clientHostname)} `
  lines.push(`Received: from ${helo} (${name}${addressLiteral(conn.remoteAddress)})`)
  const protocol = receivedProtocol(conn, { lmtp: options.lmtp, smtpUtf8: options.envelope?.smtpUtf8 })
  lines.push(`\tby ${clean(options.hostname)} with ${protocol} id ${clean(options.id ?? conn.id)}`)
  if (conn.tls) lines.push(`\t(${clean(conn.tls.protocol ?? 'TLS')} ${clean(conn.tls.cipher)})`)
  const date = formatDateTime(options.date ?? new Date())
  if (options.recipient !== undefined) lines.push(`\tfor <${options.recipient.replace(/[\x00-\x1f\x7f<>]/g, '?')}>; ${date}`)
  else lines[lines.length - 1] += `;\r\n\t${date}`
  return `${lines.join('\r\n')}\r\n`
}

/**
 * The `Return-Path:` header the final delivery adds (RFC 5321 §4.4): the reverse-path, `<>` for
 * the null path. Ends in CRLF.
 */
export function formatReturnPathHeader(from: string): string {
  return `Return-Path: <${from.replace(/[\x00-\x1f\x7f<>]/g, '?')}>\r\n`
}
