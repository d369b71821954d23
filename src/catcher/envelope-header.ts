import type { ConnectionInfo, Envelope } from '../server/index.ts'

/**
 * The trace field that keeps a message's SMTP envelope in the Maildir file itself, so the
 * Maildir stays the only source of truth (no sidecar file to lose or orphan). It is written
 * with the trace fields, just below `Return-Path:` and `Received:` (RFC 5322 §3.6.7).
 */
export const ENVELOPE_FIELD = 'X-Smtpkit-Envelope'

/** What the SMTP transaction said about a message, beyond its header. */
export interface CaughtEnvelope {
  /** MAIL FROM, `''` for the null reverse-path. */
  readonly from: string
  /** RCPT TO, in order: Bcc recipients show up here only. */
  readonly to: readonly string[]
  /** The client's IP address, `''` when unknown. */
  readonly remoteAddress: string
  /** The EHLO/HELO/LHLO name, or null. */
  readonly helo: string | null
  /** The TLS protocol (such as `'TLSv1.3'`) when the message came over TLS, else null. */
  readonly tls: string | null
  /** The user AUTH established, or null. */
  readonly authUser: string | null
}

// RFC 5322 §2.1.1: lines SHOULD stay within 78 characters; fold between JSON tokens, which
// unfolding (removing CRLF) turns back into harmless whitespace.
const FOLD_AT = 76

/** Formats the {@link ENVELOPE_FIELD} line (CRLF-terminated) for a transaction. */
export function formatEnvelopeHeader(conn: ConnectionInfo, envelope: Envelope): string {
  const value: CaughtEnvelope = {
    from: envelope.from,
    to: envelope.recipients.map((r) => r.address),
    remoteAddress: conn.remoteAddress,
    helo: conn.helo ?? null,
    tls: conn.isTls ? (conn.tls?.protocol ?? 'TLS') : null,
    authUser: conn.authenticatedAs ?? null,
  }
  const pieces = [
    `{"from":${JSON.stringify(value.from)}`,
    ...value.to.map((to, i) => `${i === 0 ? '"to":[' : ''}${JSON.stringify(to)}${i === value.to.length - 1 ? ']' : ''}`),
    ...(value.to.length === 0 ? ['"to":[]'] : []),
    `"remoteAddress":${JSON.stringify(value.remoteAddress)}`,
    `"helo":${JSON.stringify(value.helo)}`,
    `"tls":${JSON.stringify(value.tls)}`,
    `"authUser":${JSON.stringify(value.authUser)}}`,
  ]
  let text = `${ENVELOPE_FIELD}: `
  let lineLength = text.length
  pieces.forEach((piece, i) => {
    const part = i === pieces.length - 1 ? piece : `${piece},`
    if (i > 0 && lineLength + part.length > FOLD_AT) {
      text += '\r\n '
      lineLength = 1
    }
    text += part
    lineLength += part.length
  })
  return `${text}\r\n`
}

/** Parses the unfolded value of an {@link ENVELOPE_FIELD} field; undefined when it is not one of ours. */
export function parseEnvelopeHeader(value: string): CaughtEnvelope | undefined {
  let data: unknown
  try {
    data = JSON.parse(value)
  } catch {
    return undefined
  }
  if (typeof data !== 'object' || data === null) return undefined
  const record = data as Record<string, unknown>
  const text = (key: string): string | null => (typeof record[key] === 'string' ? record[key] : null)
  const to = Array.isArray(record.to) ? record.to.filter((x): x is string => typeof x === 'string') : []
  return { from: text('from') ?? '', to, remoteAddress: text('remoteAddress') ?? '', helo: text('helo'), tls: text('tls'), authUser: text('authUser') }
}
