const encoder = new TextEncoder()
// fatal: SASL strings are UTF-8 (RFC 4422 §3.4.1); ill-formed bytes are an error, not U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * Encodes a caller-supplied string as UTF-8. `what` names it in the TypeError thrown for a string
 * with a lone surrogate, which UTF-8 cannot carry (it would silently become U+FFFD).
 */
export function encodeUtf8(text: string, what: string): Uint8Array {
  if (LONE_SURROGATE.test(text)) throw new TypeError(`${what} is not well-formed Unicode: it contains a lone surrogate`)
  return encoder.encode(text)
}

/** Decodes UTF-8 strictly: undefined when the bytes are not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}
