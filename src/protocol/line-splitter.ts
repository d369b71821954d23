import { ProtocolError } from './errors.ts'

/** Options for {@link LineSplitter}. */
export interface LineSplitterOptions {
  /** The longest line accepted, CRLF included. Longer lines are skipped and reported. */
  maxLineBytes: number
}

const CR = 0x0d
const LF = 0x0a
// Shared by every splitter while it holds nothing: it is only ever read.
const EMPTY = Buffer.alloc(0)

/**
 * Splits bytes into CRLF-terminated lines without decoding them, for commands (server) and
 * replies (client). Pull-based, so the caller can switch to message data or a TLS handshake in
 * the middle of a chunk: `push` a chunk, call `readLine` until it returns null, and take the
 * unread bytes with `takeBuffered` when the protocol changes mode.
 *
 * Strict: only CRLF ends a line. A line holding a bare LF or a bare CR raises a `ProtocolError`
 * (`ERR_SMTP_BARE_LINE_ENDING`) once, and everything up to the next CRLF is skipped as part of
 * that one bad line, so `NOOP\nMAIL FROM:<x>\r\n` can never run a hidden MAIL (RFC 5321 §2.3.8;
 * SMTP smuggling). A line longer than `maxLineBytes` raises `ERR_SMTP_LINE_TOO_LONG` once and is
 * skipped up to the next CRLF the same way: memory stays bounded by `maxLineBytes` whatever the
 * peer sends.
 */
export class LineSplitter {
  #buf: Buffer = EMPTY
  #pos = 0
  #skipping = false
  readonly #max: number

  constructor(options: LineSplitterOptions) {
    this.#max = options.maxLineBytes
  }

  /** Bytes held that are not yet returned as lines. */
  get bufferedBytes(): number {
    return this.#buf.length - this.#pos
  }

  /** Adds a chunk read from the peer. Copies only the bounded tail of an unfinished line. */
  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk])
    }
    this.#pos = 0
  }

  /**
   * The next complete line without its CRLF (a view into the pushed bytes, valid until the next
   * `push`), or null when no complete line is buffered.
   */
  readLine(): Buffer | null {
    for (;;) {
      const buf = this.#buf
      const start = this.#pos
      const lf = buf.indexOf(LF, start)
      if (lf === -1) {
        if (buf.length - start > this.#max || (this.#skipping && buf.length > start)) {
          const wasSkipping = this.#skipping
          // Keep a trailing CR: it may pair with an LF in the next chunk.
          this.#pos = buf[buf.length - 1] === CR ? buf.length - 1 : buf.length
          this.#skipping = true
          if (!wasSkipping) throw tooLong(this.#max)
        }
        return null
      }
      this.#pos = lf + 1
      const isCrlf = lf > start && buf[lf - 1] === CR
      if (this.#skipping) {
        // Only a CRLF ends the bad line being skipped; a bare LF is part of it.
        if (isCrlf) this.#skipping = false
        continue
      }
      if (lf - start + 1 > this.#max) {
        this.#skipping = !isCrlf
        throw tooLong(this.#max)
      }
      if (!isCrlf) {
        this.#skipping = true
        throw new ProtocolError('ERR_SMTP_BARE_LINE_ENDING', 'line contains a bare LF; SMTP lines end with CRLF')
      }
      const line = buf.subarray(start, lf - 1)
      if (line.indexOf(CR) !== -1) {
        throw new ProtocolError('ERR_SMTP_BARE_LINE_ENDING', 'line contains a bare CR; SMTP lines end with CRLF')
      }
      return line
    }
  }

  /** Removes and returns every byte not yet read as a line (for a switch to DATA, BDAT or TLS). */
  takeBuffered(): Buffer {
    const rest = this.#buf.subarray(this.#pos)
    this.#buf = EMPTY
    this.#pos = 0
    this.#skipping = false
    return rest
  }
}

function tooLong(max: number): ProtocolError {
  return new ProtocolError('ERR_SMTP_LINE_TOO_LONG', `line longer than ${max} octets`)
}
