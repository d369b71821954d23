// What to do next, for the send failures whose own message says what happened but not why: a
// port where nothing speaks SMTP, or a web server's port.
import type { ConnectOptions } from '../client/index.ts'
import { formatHostPort } from './args.ts'

/** Extra lines for `smtpkit send` to print after the error's own message; often none. */
export function sendErrorHints(error: unknown, server: ConnectOptions | undefined): string[] {
  if (!(error instanceof Error) || server === undefined) return []
  const where = formatHostPort(server.host, server.port ?? 25)
  const code = (error as { code?: unknown }).code
  // Web servers wait for the client to speak; some answer a stray line with an HTTP status
  // (`HTTP/1.1 400 Bad Request`), some say nothing until their own timeout.
  if (code === 'ERR_SMTP_BAD_REPLY' && /"HTTP\/\d/.test(error.message)) {
    return [`${where} answered in HTTP: it is a web server's port, not an SMTP server's; check --server`]
  }
  if (error.name === 'TimeoutError' && error.message.startsWith('no greeting')) {
    return [`${where} accepted the connection but sent no SMTP greeting; an SMTP server greets at once. Is it an SMTP port (25, 465, 587, or the one your server listens on)?`]
  }
  return []
}
