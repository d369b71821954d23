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

/**
 * Yields the bytes of a source as Uint8Array chunks, without copying chunks that already are
 * bytes. A string chunk from an iterable (for example a Readable with an encoding set) is encoded
 * as UTF-8; anything else is a TypeError.
 */
export async function* toChunks(source: MessageSource | RereadableSource): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    yield Buffer.from(source, 'utf8')
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
