import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { UsageError } from './args.ts'

/** The exit statuses of `smtpkit send`, as its --help documents them. */
export const exitStatus = Object.freeze({
  ok: 0,
  refused: 1,
  usage: 2,
  connection: 3,
} as const)

// Socket and resolver error codes that mean "could not reach or keep talking to the server".
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME',
])

/**
 * The exit status for an error from sending: the server's refusal (an SmtpError, an
 * AggregateError of them, or a missing extension the message needs) is 1; bad input (a
 * UsageError, or a TypeError/RangeError from the library about an address or option) is 2;
 * anything about reaching the server, TLS, or the connection breaking is 3.
 */
export function exitStatusFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof TypeError || error instanceof RangeError) return exitStatus.usage
  if (error instanceof SmtpError) return exitStatus.refused
  if (error instanceof AggregateError && error.errors.every((e) => e instanceof SmtpError)) return exitStatus.refused
  if (error instanceof ProtocolError) return error.code === 'ERR_SMTP_UNSUPPORTED' ? exitStatus.refused : exitStatus.connection
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM') return exitStatus.usage
  const name = (error as { name?: unknown } | null)?.name
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || /CERT|TLS|SSL|SIGNATURE|ISSUER|HOSTNAME|ALTNAME/.test(code))) return exitStatus.connection
  if (name === 'TimeoutError' || name === 'AbortError') return exitStatus.connection
  // Errors the library wraps keep the original as `cause` (a TLS failure during STARTTLS...).
  const cause = (error as { cause?: unknown } | null)?.cause
  if (cause !== undefined && cause !== error) {
    const inner = exitStatusFor(cause)
    if (inner === exitStatus.connection) return inner
  }
  return exitStatus.connection
}

/** The lines to print for an error: its message, and each refusal of an AggregateError. */
export function describeError(error: unknown): string[] {
  if (error instanceof AggregateError) {
    return [error.message, ...error.errors.map((e: unknown) => `  ${e instanceof Error ? e.message : String(e)}`)]
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const withCode = typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message
    return [withCode]
  }
  return [String(error)]
}
