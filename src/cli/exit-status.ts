import { ClientError } from '../client/errors.ts'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { UsageError } from './args.ts'

/** The exit statuses of `smtpkit send`, as its --help documents them. */
export const exitStatus = Object.freeze({
  ok: 0,
  refused: 1,
  usage: 2,
  connection: 3,
} as const)

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
  if (error instanceof ClientError) return error.code === 'ERR_SMTP_UNSUPPORTED' ? exitStatus.refused : exitStatus.connection
  if (error instanceof ProtocolError) return exitStatus.connection
  // A local file that cannot be read (the message, a key) is the caller's input.
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM') return exitStatus.usage
  // Everything else is about reaching the server or keeping the connection: socket and DNS
  // errors, TLS and certificate failures, timeouts.
  return exitStatus.connection
}

/**
 * The lines to print for an error: its message, and each refusal of an AggregateError that the
 * message does not already carry (sendMail's "refused every recipient" names each one).
 */
export function describeError(error: unknown): string[] {
  if (error instanceof AggregateError) {
    const details = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e)))
    return [error.message, ...details.filter((text) => !error.message.includes(text)).map((text) => `  ${text}`)]
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const withCode = typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message
    return [withCode]
  }
  return [String(error)]
}
