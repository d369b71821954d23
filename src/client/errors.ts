// Every error the client makes of its own, built here, so each outcome has one code and one
// wording. What the server said is an SmtpError; a peer that broke the protocol is a
// ProtocolError; an abort or a timeout rejects with the signal's reason (a DOMException), as fetch
// does. docs/reference/client.md lists each code with what a caller should do.

/**
 * Codes of {@link ClientError}, one per outcome:
 * - `ERR_SMTP_CONNECTION_LOST`: the server closed the connection, or the socket failed, before the
 *   reply came; the message was not delivered. Retry, on a new connection.
 * - `ERR_SMTP_DELIVERY_UNKNOWN`: the connection was lost after the end of the message data was
 *   written, before the server's reply: the message may have been delivered. Retrying may
 *   duplicate it; alert, or retry only if a duplicate is acceptable.
 * - `ERR_SMTP_CONNECTION_CLOSED`: this client had closed the connection (`close()`, `quit()`, or
 *   earlier an abort, a timeout or a failed message source, named in the message and `cause`).
 *   Use a new connection.
 * - `ERR_SMTP_SOURCE_FAILED`: the message source threw while it was being sent; `cause` is its
 *   error. The connection is closed (DATA cannot be taken back). Fix the source.
 * - `ERR_SMTP_TLS_REQUIRED`: local policy refused to go on without TLS (STARTTLS not offered with
 *   `tls: 'starttls'`, AUTH on a plaintext connection). Nothing was sent. Fix the configuration,
 *   or alert: someone may be stripping STARTTLS.
 * - `ERR_SMTP_UNSUPPORTED`: the server lacks an extension the request needs (SMTPUTF8, 8BITMIME,
 *   DSN, AUTH, ...). Nothing was sent. Bounce, or send without the feature.
 */
export type ClientErrorCode =
  | 'ERR_SMTP_CONNECTION_LOST'
  | 'ERR_SMTP_DELIVERY_UNKNOWN'
  | 'ERR_SMTP_CONNECTION_CLOSED'
  | 'ERR_SMTP_SOURCE_FAILED'
  | 'ERR_SMTP_TLS_REQUIRED'
  | 'ERR_SMTP_UNSUPPORTED'

/**
 * An outcome on the client's side that is not a server's reply nor a protocol violation: the
 * connection lost or closed, a delivery whose result is unknown, a failed message source, a local
 * policy (TLS required) or a missing server feature. Branch on `code` ({@link ClientErrorCode}).
 */
export class ClientError extends Error {
  readonly code: ClientErrorCode

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ClientError'
    this.code = code
  }

  /**
   * True when sending the same message again (on a new connection) cannot duplicate it and may
   * succeed: the connection was lost before the end of the data.
   */
  get isRetryable(): boolean {
    return this.code === 'ERR_SMTP_CONNECTION_LOST'
  }
}

const detail = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
const waiting = (awaits: string | undefined): string => (awaits === undefined ? '' : ` while waiting for the ${awaits}`)

/** The server closed the connection, or the socket failed (`cause`), before a reply. */
export function connectionLost(awaits: string | undefined, cause?: unknown): ClientError {
  const how = cause === undefined ? 'the server closed the connection' : `the connection failed (${detail(cause)})`
  return new ClientError('ERR_SMTP_CONNECTION_LOST', `${how}${waiting(awaits)}`, cause === undefined ? undefined : { cause })
}

/** The connection went (`cause` says how) after the end of the data was written, before its reply. */
export function deliveryUnknown(awaits: string, cause: Error): ClientError {
  return new ClientError(
    'ERR_SMTP_DELIVERY_UNKNOWN',
    `the connection was lost after the end of the message was sent, before the ${awaits} (${cause.message}): the message may have been delivered`,
    { cause },
  )
}

/** This client closed the connection: `why` says how (`'the client quit'`), `cause` what led to it. */
export function connectionClosed(why: string, awaits?: string, cause?: unknown): ClientError {
  return new ClientError('ERR_SMTP_CONNECTION_CLOSED', `connection closed: ${why}${waiting(awaits)}`, cause === undefined ? undefined : { cause })
}

/** The message source threw while being sent. */
export function sourceFailed(cause: unknown): ClientError {
  return new ClientError('ERR_SMTP_SOURCE_FAILED', `the message source failed: ${detail(cause)}; the connection was closed, since DATA cannot be taken back`, { cause })
}

/** Local policy: no going on without TLS. */
export function tlsRequired(message: string): ClientError {
  return new ClientError('ERR_SMTP_TLS_REQUIRED', message)
}

/** The server lacks what the request needs. */
export function unsupported(message: string): ClientError {
  return new ClientError('ERR_SMTP_UNSUPPORTED', message)
}
