import { coalesce, streamBody, type MimePart } from './mime-part.ts'
import { unfoldValue, type HeaderEntry } from './headers.ts'

/** The SMTP envelope of a message: the reverse-path and the forward-paths (RFC 5321 §2.3.1). */
export interface MessageEnvelope {
  /** The Sender, or else the first From address. */
  readonly from: string
  /** The To, Cc and Bcc addresses, group members included, each once, in that order. */
  readonly to: readonly string[]
}

/**
 * A composed message, ready to send: what compose() returns.
 *
 * It is a re-readable message source (`{ stream() }`), so smtpkit's client, `sendMail` and
 * `dkimSign` take it as it is. Boundaries, Date and Message-ID are fixed when it is composed, so
 * every `stream()` gives the same bytes, unless an attachment's content was a one-shot stream:
 * then the message is single-use (`isRereadable` is false) and a second `stream()` throws.
 */
export interface Message {
  /** The header fields in the order written, each `[name, value]` with the value unfolded as written (encoded-words stay encoded). */
  readonly headers: readonly HeaderEntry[]
  /** Whether sending needs the SMTPUTF8 extension (RFC 6531): a header or address has raw UTF-8. */
  readonly smtpUtf8: boolean
  /** Whether the message has 8-bit content, so sending needs BODY=8BITMIME (RFC 6152). */
  readonly eightBit: boolean
  /** Whether `stream()` may be called more than once (false when an attachment is a one-shot stream). */
  readonly isRereadable: boolean
  /** The envelope sender and recipients; Bcc recipients are here but in no header. */
  envelope(): MessageEnvelope
  /**
   * Yields the message bytes (RFC 5322 with CRLF line breaks, ending in CRLF) in chunks of at
   * least 16 KiB where possible. Attachment content is read and encoded while streaming, so
   * memory stays flat whatever the size. Each call starts from the beginning and yields the same
   * bytes. Throws an Error if the message is single-use and was streamed before.
   */
  stream(): AsyncIterable<Uint8Array>
  /** Reads the whole message into one Buffer: for small messages and tests, as it buffers everything. */
  toBuffer(): Promise<Buffer>
  /**
   * Reads the whole message into a string (UTF-8): for small messages and tests, as it buffers
   * everything. Named apart from `toString()` so that `${message}` never gives a Promise.
   */
  toText(): Promise<string>
}

/** Chunks the message stream yields are at least this large, where the content allows. */
export const MIN_CHUNK_BYTES = 16 * 1024

/** What compose() has prepared for a {@link ComposedMessage}. */
export interface ComposedParts {
  /** Message header fields and the root part's, folded, without CRLF. */
  readonly fields: readonly string[]
  readonly root: MimePart
  readonly envelope: MessageEnvelope
  readonly smtpUtf8: boolean
  readonly eightBit: boolean
  /** The label of the one-shot attachment that makes the message single-use, if any. */
  readonly oneShot: string | undefined
}

/** The {@link Message} compose() returns. */
export class ComposedMessage implements Message {
  readonly headers: readonly HeaderEntry[]
  readonly smtpUtf8: boolean
  readonly eightBit: boolean
  readonly isRereadable: boolean
  readonly #head: Buffer
  readonly #root: MimePart
  readonly #envelope: MessageEnvelope
  readonly #oneShot: string | undefined
  #streamed = false

  constructor(parts: ComposedParts) {
    this.headers = Object.freeze(parts.fields.map((field): HeaderEntry => Object.freeze([field.slice(0, field.indexOf(':')), unfoldValue(field)] as const)))
    this.smtpUtf8 = parts.smtpUtf8
    this.eightBit = parts.eightBit
    this.isRereadable = parts.oneShot === undefined
    this.#head = Buffer.from(`${parts.fields.join('\r\n')}\r\n\r\n`, 'utf8')
    this.#root = parts.root
    this.#envelope = parts.envelope
    this.#oneShot = parts.oneShot
  }

  envelope(): MessageEnvelope {
    return { from: this.#envelope.from, to: [...this.#envelope.to] }
  }

  stream(): AsyncIterable<Uint8Array> {
    if (this.#oneShot !== undefined) {
      if (this.#streamed) {
        throw new Error(`this message can be streamed only once: ${this.#oneShot} is a one-shot stream; give a function returning a fresh stream, or a path, to stream it again`)
      }
      this.#streamed = true
    }
    return coalesce(this.#generate(), MIN_CHUNK_BYTES)
  }

  async *#generate(): AsyncGenerator<Uint8Array> {
    yield this.#head
    // RFC 5321 §4.1.1.4: the message must end with CRLF before the end-of-data mark.
    let beforeLast = 0x0d
    let last = 0x0a
    for await (const chunk of streamBody(this.#root)) {
      if (chunk.length === 0) continue
      beforeLast = chunk.length >= 2 ? chunk[chunk.length - 2]! : last
      last = chunk[chunk.length - 1]!
      yield chunk
    }
    if (beforeLast !== 0x0d || last !== 0x0a) yield Buffer.from('\r\n', 'latin1')
  }

  async toBuffer(): Promise<Buffer> {
    const chunks: Uint8Array[] = []
    for await (const chunk of this.stream()) chunks.push(chunk)
    return Buffer.concat(chunks)
  }

  async toText(): Promise<string> {
    return (await this.toBuffer()).toString('utf8')
  }
}
