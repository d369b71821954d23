// RFC 2045 §6.8: encoded lines are at most 76 characters. 57 input bytes make exactly 76
// characters, and 57 is a multiple of 3, so the base64 of N whole lines is the concatenation of
// each line's base64 and one bulk encode per chunk can be cut into lines afterwards.
const LINE_INPUT_BYTES = 57
const LINE_CHARS = 76
const CRLF = Buffer.from('\r\n', 'latin1')
const EMPTY = Buffer.alloc(0)

/**
 * Streaming base64 content-transfer-encoder (RFC 2045 §6.8): every line but the last is exactly 76
 * characters, lines are separated by CRLF, and the output carries no trailing CRLF (the MIME
 * boundary that follows supplies it).
 *
 * Feed bytes with {@link Base64Encoder.update} in chunks of any size and finish with
 * {@link Base64Encoder.final}. The output does not depend on how the input is split: up to 56
 * bytes are carried between calls so lines stay aligned to 3-byte groups. Memory use is bounded
 * by the size of one chunk.
 */
export class Base64Encoder {
  #carry: Buffer = EMPTY
  #wroteLine = false
  #finished = false

  /** Encodes `chunk` and returns the complete lines it finishes (possibly none). */
  update(chunk: Uint8Array): Buffer {
    if (this.#finished) throw new Error('Base64Encoder.update() called after final()')
    if (chunk.length === 0) return EMPTY
    const data = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk])
    const lines = Math.floor(data.length / LINE_INPUT_BYTES)
    const used = lines * LINE_INPUT_BYTES
    // Copy the tail: the caller may reuse the buffer it passed in.
    this.#carry = Buffer.from(data.subarray(used))
    if (lines === 0) return EMPTY
    const chars = Buffer.from(toBuffer(data.subarray(0, used)).toString('base64'), 'latin1')
    const lead = this.#wroteLine ? 1 : 0
    const out = Buffer.allocUnsafe(lines * LINE_CHARS + (lines - 1 + lead) * 2)
    let at = 0
    for (let line = 0; line < lines; line++) {
      if (line > 0 || lead) at += CRLF.copy(out, at)
      at += chars.copy(out, at, line * LINE_CHARS, line * LINE_CHARS + LINE_CHARS)
    }
    this.#wroteLine = true
    return out
  }

  /** Encodes the carried bytes (with `=` padding) as the last, possibly short, line. */
  final(): Buffer {
    if (this.#finished) throw new Error('Base64Encoder.final() called twice')
    this.#finished = true
    if (this.#carry.length === 0) return EMPTY
    const tail = this.#carry.toString('base64')
    this.#carry = EMPTY
    return Buffer.from(this.#wroteLine ? `\r\n${tail}` : tail, 'latin1')
  }
}

/** Base64-encodes `bytes` in one call, with the line structure of {@link Base64Encoder}. */
export function encodeBase64(bytes: Uint8Array): Buffer {
  const encoder = new Base64Encoder()
  const body = encoder.update(bytes)
  const tail = encoder.final()
  return tail.length === 0 ? body : Buffer.concat([body, tail])
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
