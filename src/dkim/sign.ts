import { canReadTwice, toChunks, type MessageSource, type RereadableSource } from '../protocol/message-source.ts'
import { dkimSignDefaults, prepareSignatures, type DkimSignOptions } from './sign-options.ts'
import { checkOptions } from '../options/check-options.ts'
import { DkimSigner } from './signer.ts'
import { Spool } from './spool.ts'

/** How `dkimSign` reads the message, as opposed to what each signature says. */
export interface DkimSignStreamOptions {
  /** Largest header block accepted, as bytes; default 1 MiB. Past it, reading throws a RangeError. */
  readonly maxHeaderBytes?: number
  /** For a one-shot source: bytes kept in memory before spooling to a temporary file; default 1 MiB. */
  readonly spoolThresholdBytes?: number
  /** For a one-shot source: directory for the temporary file; default `os.tmpdir()`. */
  readonly tmpDir?: string
}

/** A DKIM-signed message: its DKIM-Signature fields, then the original bytes unchanged. */
export type SignedMessage = AsyncIterable<Uint8Array>

/** A signed message that can be read again from the start, as a client retry needs. */
export interface RereadableSignedMessage extends SignedMessage, RereadableSource {
  /** A fresh iterable over the signed message. */
  stream(): AsyncIterable<Uint8Array>
}

/** A source that `dkimSign` can read twice. */
export type RereadableInput = string | Uint8Array | readonly Uint8Array[] | RereadableSource

/**
 * Puts one or more DKIM signatures (RFC 6376, RFC 8463) in front of a message, streaming. The
 * message must be bytes with CRLF line endings; it passes through unchanged after the
 * DKIM-Signature fields, which come in the order the options were given. All signatures are
 * computed in one pass over the message.
 *
 * - A re-readable source (string, bytes, an array of chunks, or anything with `stream()`, such as
 *   a composed message) is read twice: once to hash, once to emit. The result is re-readable too
 *   (`stream()`), so a client can retry; the signature fields are computed once and reused.
 * - A one-shot source (a Readable, an async generator, or a composed message that says
 *   `isRereadable: false` because an attachment is a one-shot stream) is hashed while it is copied to memory up
 *   to `spoolThresholdBytes`, then to a temporary file (mode 0600, in a fresh directory), which is
 *   removed when the result has been read to the end, when reading fails, or when the reader stops
 *   early (`break`, `return()`). The result can be iterated once.
 *
 * Memory stays flat whatever the size: the header block (at most `maxHeaderBytes`) and a few
 * buffers. Options are checked and keys loaded now (TypeError/RangeError); problems with the
 * message itself (no From, bare CR/LF, header block too large, a source that changes between
 * reads) make the iteration throw.
 */
export function dkimSign(source: RereadableInput, signatures: DkimSignOptions | readonly DkimSignOptions[], options?: DkimSignStreamOptions): RereadableSignedMessage
export function dkimSign(source: MessageSource | RereadableSource, signatures: DkimSignOptions | readonly DkimSignOptions[], options?: DkimSignStreamOptions): SignedMessage
export function dkimSign(
  source: MessageSource | RereadableSource,
  signatures: DkimSignOptions | readonly DkimSignOptions[],
  options: DkimSignStreamOptions = {},
): SignedMessage | RereadableSignedMessage {
  checkOptions('dkimSign() options', options, { maxHeaderBytes: 'number', spoolThresholdBytes: 'number', tmpDir: 'string' })
  const list = Array.isArray(signatures) ? (signatures as readonly DkimSignOptions[]) : [signatures as DkimSignOptions]
  // Load each key once; every pass then gets a signer with the loaded KeyObject.
  const prepared = prepareSignatures(list)
  const loaded = list.map((signature, index) => ({ ...signature, privateKey: prepared[index]!.key }))
  const maxHeaderBytes = options.maxHeaderBytes ?? dkimSignDefaults.maxHeaderBytes
  const newSigner = (): DkimSigner => new DkimSigner(loaded, { maxHeaderBytes })
  newSigner()
  // A composed message with a one-shot attachment has stream() but says isRereadable: false.
  if (canReadTwice(source)) return new TwoPassSignedMessage(source as RereadableInput, newSigner)
  const spoolThresholdBytes = options.spoolThresholdBytes ?? dkimSignDefaults.spoolThresholdBytes
  if (!(Number.isSafeInteger(spoolThresholdBytes) && spoolThresholdBytes >= 0)) {
    throw new RangeError(`spoolThresholdBytes must be a non-negative integer, got ${spoolThresholdBytes}`)
  }
  return new SpooledSignedMessage(source, newSigner, { tmpDir: options.tmpDir, thresholdBytes: spoolThresholdBytes })
}

// Small first chunks are sent together with the signature fields, in one write.
const COALESCE_BYTES = 16 * 1024

function* withHeader(header: Buffer, chunk: Uint8Array): Generator<Uint8Array> {
  if (chunk.length <= COALESCE_BYTES) {
    yield Buffer.concat([header, chunk])
  } else {
    yield header
    yield chunk
  }
}

class TwoPassSignedMessage implements RereadableSignedMessage {
  readonly #source: RereadableInput
  readonly #newSigner: () => DkimSigner
  #header: Buffer | undefined
  #length = 0

  constructor(source: RereadableInput, newSigner: () => DkimSigner) {
    this.#source = source
    this.#newSigner = newSigner
  }

  stream(): AsyncIterable<Uint8Array> {
    return this.#emit()
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#emit()
  }

  async *#emit(): AsyncGenerator<Uint8Array> {
    if (!this.#header) {
      const signer = this.#newSigner()
      let length = 0
      for await (const chunk of toChunks(this.#source)) {
        signer.update(chunk)
        length += chunk.length
      }
      const header = Buffer.from(signer.finish(), 'latin1')
      this.#length = length
      this.#header = header
    }
    let length = 0
    for await (const chunk of toChunks(this.#source)) {
      if (length === 0 && chunk.length > 0) yield* withHeader(this.#header, chunk)
      else if (chunk.length > 0) yield chunk
      length += chunk.length
    }
    if (length === 0) yield this.#header
    if (length !== this.#length) {
      throw new Error(
        `message source gave ${length} bytes when read again but ${this.#length} when signed; ` +
          'a re-readable source must give the same bytes every time',
      )
    }
  }
}

class SpooledSignedMessage implements SignedMessage {
  readonly #source: MessageSource | RereadableSource
  readonly #newSigner: () => DkimSigner
  readonly #spoolOptions: { tmpDir: string | undefined; thresholdBytes: number }
  #started = false

  constructor(source: MessageSource | RereadableSource, newSigner: () => DkimSigner, spoolOptions: { tmpDir: string | undefined; thresholdBytes: number }) {
    this.#source = source
    this.#newSigner = newSigner
    this.#spoolOptions = spoolOptions
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#started) throw new Error('this DKIM-signed message was made from a one-shot source and can be read only once')
    this.#started = true
    return this.#emit()
  }

  async *#emit(): AsyncGenerator<Uint8Array> {
    const signer = this.#newSigner()
    const spool = new Spool(this.#spoolOptions)
    try {
      for await (const chunk of toChunks(this.#source)) {
        signer.update(chunk)
        await spool.write(chunk)
      }
      const header = Buffer.from(signer.finish(), 'latin1')
      let first = true
      for await (const chunk of spool.read()) {
        if (first) yield* withHeader(header, chunk)
        else yield chunk
        first = false
      }
      if (first) yield header
    } finally {
      await spool.dispose()
    }
  }
}
