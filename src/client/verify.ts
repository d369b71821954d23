import type { Extensions } from '../protocol/extensions.ts'
import type { Reply } from '../protocol/reply.ts'
import { Client } from './client.ts'
import type { TlsState } from './connect.ts'
import type { ConnectOptions } from './options.ts'
import { parseSmtpUrl } from './send-mail.ts'

/** What {@link verify} found. */
export interface VerifyResult {
  /** The server's greeting. */
  readonly greeting: Reply
  /** What the server offers after STARTTLS (or in plaintext when there was none). */
  readonly extensions: Extensions
  /** The TLS parameters, or undefined when the connection was not encrypted. */
  readonly tls: TlsState | undefined
  /** True when `auth` was given and the server accepted it. */
  readonly authenticated: boolean
}

/**
 * Checks that a server can be sent to, without sending: connects (greeting, EHLO, STARTTLS as
 * `tls` says, AUTH when `auth` is given), then QUIT, like nodemailer's `transporter.verify()`.
 * Resolves with what the server offers; rejects as {@link Client.connect} does (a refused login is
 * an `SmtpError`, a missing STARTTLS an `ERR_SMTP_TLS_REQUIRED` ClientError, ...). `server` is
 * connect options or an `smtp://` / `smtps://` URL, as for `sendMail`.
 */
export async function verify(server: ConnectOptions | string | URL): Promise<VerifyResult> {
  const options = typeof server === 'string' || server instanceof URL ? parseSmtpUrl(server) : server
  const client = await Client.connect(options)
  const result: VerifyResult = { greeting: client.greeting, extensions: client.extensions, tls: client.tlsState, authenticated: options.auth !== undefined }
  // The check is done; a server that fumbles QUIT does not undo it.
  await client[Symbol.asyncDispose]()
  return result
}
