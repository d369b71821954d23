/**
 * What parseMessage and parseParts read: a string (as UTF-8), bytes, or a sync or async iterable
 * of bytes (a Node Readable, a web ReadableStream, an async generator, a composed Message's
 * stream()). The same shapes the client accepts as a message.
 */
export type ParseSource = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | { stream(): AsyncIterable<Uint8Array> | Iterable<Uint8Array> }

/** The bytes of a source given whole (a string, as UTF-8, or bytes); undefined for an iterable. */
export function wholeSource(source: ParseSource): Uint8Array | undefined {
  if (typeof source === 'string') return Buffer.from(source, 'utf8')
  return source instanceof Uint8Array ? source : undefined
}

/** Yields the source's bytes as chunks; a string chunk (a Readable with an encoding set) is read as UTF-8. */
export async function* readSource(source: ParseSource): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    yield Buffer.from(source, 'utf8')
    return
  }
  if (source instanceof Uint8Array) {
    yield source
    return
  }
  const iterable = typeof (source as { stream?: unknown }).stream === 'function' ? (source as { stream(): AsyncIterable<Uint8Array> }).stream() : source
  if (iterable === null || typeof iterable !== 'object' || (!(Symbol.asyncIterator in iterable) && !(Symbol.iterator in iterable))) {
    throw new TypeError(`a message to parse must be a string, bytes, or an iterable of bytes, got ${iterable === null ? 'null' : typeof iterable}`)
  }
  for await (const chunk of iterable as AsyncIterable<unknown>) {
    if (chunk instanceof Uint8Array) yield chunk
    else if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8')
    else throw new TypeError(`message chunk must be a Uint8Array or string, got ${typeof chunk}`)
  }
}
