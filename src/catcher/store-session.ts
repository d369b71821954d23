import type { Readable } from 'node:stream'
import { parseMessage } from '../message/index.ts'
import { formatReceivedHeader, formatReturnPathHeader, SmtpError, type ConnectionInfo, type DataResult, type Envelope, type Session } from '../server/index.ts'
import { formatEnvelopeHeader } from './envelope-header.ts'

/** Something that stores a message durably: a {@link Maildir}, or a catcher in front of one. */
export interface MessageSink {
  /** Stores `prefix` and then `message`; resolves once it is durable, with its name and size. */
  deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<{ readonly name: string; readonly bytes: number }>
}

/**
 * Where `smtpkit serve` puts messages: a Maildir, memory (a test inbox), or nowhere
 * (`--store none`).
 */
export type Store =
  | { readonly kind: 'maildir'; readonly root: string; readonly maildir: MessageSink }
  | { readonly kind: 'memory'; readonly sink: MessageSink }
  | { readonly kind: 'none' }

/** Options of {@link createStoreSession}. */
export interface StoreSessionOptions {
  readonly store: Store
  /** The server's name, for the `Received:` header's `by` clause. */
  readonly hostname: string
  /** LMTP: answer with one reply per recipient (RFC 2033 §4.2). */
  readonly lmtp: boolean
  /** Receives one line per stored message. */
  readonly log: (line: string) => void
  /** Receives storage failures, which the client sees only as `451 4.3.0`. */
  readonly onError: (error: unknown) => void
}

/**
 * The session `smtpkit serve` runs for each connection: a complete backend in a few lines, and
 * the reference example of one. Each message is stored with `Return-Path:` and `Received:`
 * prepended (RFC 5321 §4.4), then its envelope (`X-Smtpkit-Envelope:`, see
 * {@link formatEnvelopeHeader}), and is on disk (fsynced, in `new/`) before the hook resolves, which
 * is when the server sends 250. A storage failure becomes `451 4.3.0`, so the client keeps the
 * message and retries; its details go to `onError`, never to the client.
 */
export function createStoreSession(conn: ConnectionInfo, options: StoreSessionOptions): Session {
  const { store, lmtp, log } = options
  return {
    async data(stream: Readable, envelope: Envelope): Promise<DataResult> {
      const to = envelope.recipients.map((r) => `<${r.address}>`).join(',')
      const header: Buffer[] = []
      const message = keepHeader(stream, header)
      let size: number
      let file: string
      if (store.kind === 'none') {
        size = 0
        for await (const chunk of message) size += (chunk as Buffer).length
        file = '-'
      } else {
        // Naming one recipient in `for` is safe only when there is just one (RFC 5321 §7.2).
        const only = envelope.recipients.length === 1 ? envelope.recipients[0]!.address : undefined
        const trace = formatReturnPathHeader(envelope.from) + formatReceivedHeader({ hostname: options.hostname, conn, envelope, lmtp, recipient: only }) + formatEnvelopeHeader(conn, envelope)
        const prefix = Buffer.from(trace, 'utf8')
        try {
          const delivery = await (store.kind === 'maildir' ? store.maildir : store.sink).deliver(message, prefix)
          size = delivery.bytes - prefix.length
          file = store.kind === 'maildir' ? `new/${delivery.name}` : delivery.name
        } catch (error) {
          if (error instanceof SmtpError) throw error
          options.onError(error)
          throw new SmtpError(451, '4.3.0', 'Local error: message not stored, try again later', { cause: error })
        }
      }
      const { subject } = await parseMessage(header)
      log(`${new Date().toISOString()} [${conn.id}] from=<${envelope.from}> to=${to} size=${size} file=${file} subject=${JSON.stringify(subject ?? '')}`)
      const text = store.kind === 'none' ? 'Ok: accepted and discarded' : `Ok: stored as ${file.replace(/^new\//, '')}`
      return lmtp ? envelope.recipients.map(() => text) : text
    },
  }
}

// The header block of a message passing through, for the log line: at most 64 KiB, enough for
// every Subject but a hostile one, which is then read as far as it goes.
const MAX_HEADER_BYTES = 64 * 1024

async function* keepHeader(message: AsyncIterable<Uint8Array>, header: Buffer[]): AsyncGenerator<Uint8Array> {
  let kept = 0
  for await (const chunk of message) {
    if (kept < MAX_HEADER_BYTES) {
      const piece = Buffer.from(chunk).subarray(0, MAX_HEADER_BYTES - kept)
      header.push(piece)
      kept += piece.length
      if (Buffer.concat(header).includes('\r\n\r\n')) kept = MAX_HEADER_BYTES
    }
    yield chunk
  }
}
