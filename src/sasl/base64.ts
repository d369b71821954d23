// Canonical padded base64 only (RFC 4648 §4): Buffer.from(text, 'base64') skips whatever it does
// not understand, and AUTH (RFC 4954 §4) and SCRAM (RFC 5802 §7) data must not be guessed at.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The bytes `text` encodes, or undefined when it is not strict padded base64. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined
}
