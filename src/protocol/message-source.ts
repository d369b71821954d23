/**
 * What a message body may be, wherever smtpkit takes one (the client's `data`, `sendMail`,
 * `dkimSign`): a string (encoded as UTF-8), bytes, or a sync or async iterable of bytes.
 * Node `Readable`s, web `ReadableStream`s, async generators and `fs.createReadStream` all fit,
 * so the library depends on neither stream family.
 */
export type MessageSource = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/**
 * A source that can be read from the start more than once: a composed message, or anything with a
 * `stream()` method that returns a fresh iterable each time. Used by DKIM signing (two passes) and
 * by the client pool (retry on a fresh connection).
 */
export interface RereadableSource {
  stream(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  /** False when `stream()` works only once after all (a composed message with a one-shot attachment). */
  readonly isRereadable?: boolean
}

/** True when `value` has a `stream()` method, so it can be read again from the start. */
export function isRereadable(value: unknown): value is RereadableSource {
  return typeof value === 'object' && value !== null && typeof (value as RereadableSource).stream === 'function'
}

/**
 * True when the source's bytes can be read twice: a string, bytes, an array of chunks, or a
 * {@link RereadableSource} that does not say `isRereadable: false`. DKIM signing makes two passes
 * over such a source (else it spools), and the pool retries it on a fresh connection.
 */
export function canReadTwice(source: MessageSource | RereadableSource): boolean {
  if (typeof source === 'string' || source instanceof Uint8Array || Array.isArray(source)) return true
  return isRereadable(source) && source.isRereadable !== false
}

// A string is encoded a piece at a time: one buffer of a large string's whole size is fresh
// memory for every message (a megabyte cost about 2.6 ms of page faults in Buffer.from, ten times
// the encoding itself), while pieces this size are served from memory already mapped.
const STRING_PIECE_BYTES = 64 * 1024
const encoder = new TextEncoder()

/**
 * The UTF-8 bytes of `text`: one buffer when it is short, else pieces of at most 64 KiB (a piece
 * never ends inside a character), so a large string never needs one buffer of its whole size.
 */
export function* utf8Pieces(text: string): Generator<Buffer> {
  if (text.length <= STRING_PIECE_BYTES / 3) {
    yield utf8Bytes(text)
    return
  }
  for (let at = 0; at < text.length; ) {
    const piece = Buffer.allocUnsafe(STRING_PIECE_BYTES)
    // A bounded slice (encodeInto given the whole rest of a large string was ten times slower) of
    // no more UTF-16 units than the piece has bytes: every unit takes at least one byte, so a
    // surrogate pair cut by the slice cannot have its high half written alone (as U+FFFD), and
    // encodeInto writes whole characters only, saying how many units it took.
    const { read, written } = encoder.encodeInto(text.slice(at, at + STRING_PIECE_BYTES), piece)
    yield written === piece.length ? piece : piece.subarray(0, written)
    at += read
  }
}

/** `Buffer.from(text, 'utf8')`, faster for plain ASCII, whose UTF-8 is its Latin-1. */
export function utf8Bytes(text: string): Buffer {
  return Buffer.from(text, Buffer.byteLength(text, 'utf8') === text.length ? 'latin1' : 'utf8')
}

/**
 * Yields the bytes of a source as Uint8Array chunks, without copying chunks that already are
 * bytes. A string is encoded as UTF-8, a large one in pieces ({@link utf8Pieces}); so is a string
 * chunk from an iterable (for example a Readable with an encoding set); anything else is a
 * TypeError.
 */
export async function* toChunks(source: MessageSource | RereadableSource): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    yield* utf8Pieces(source)
    return
  }
  if (source instanceof Uint8Array) {
    yield source
    return
  }
  const iterable = isRereadable(source) ? source.stream() : source
  for await (const chunk of iterable as AsyncIterable<unknown>) {
    if (chunk instanceof Uint8Array) yield chunk
    else if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8')
    else throw new TypeError(`message chunk must be a Uint8Array or string, got ${typeof chunk}`)
  }
}
