// RFC 2045 §6.8: encoded lines are at most 76 characters. 57 input bytes make exactly 76
// characters, and 57 is a multiple of 3, so the base64 of N whole lines is the concatenation of
// each line's base64 and one bulk encode per chunk can be cut into lines afterwards.
const LINE_INPUT_BYTES = 57
const LINE_CHARS = 76
const CR = 0x0d
const LF = 0x0a
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
    const input = toBuffer(chunk)
    const carry = this.#carry
    const lines = Math.floor((carry.length + input.length) / LINE_INPUT_BYTES)
    // Copy what is carried: the caller may reuse the buffer it passed in.
    if (lines === 0) {
      this.#carry = Buffer.concat([carry, input])
      return EMPTY
    }
    const used = lines * LINE_INPUT_BYTES - carry.length
    // Only the carried bytes and the rest of their line are copied; the rest of the chunk is
    // encoded in place. Both pieces are whole 3-byte groups, so their base64 strings concatenate.
    const chars =
      carry.length === 0
        ? input.toString('base64', 0, used)
        : Buffer.concat([carry, input.subarray(0, LINE_INPUT_BYTES - carry.length)]).toString('base64') + input.toString('base64', LINE_INPUT_BYTES - carry.length, used)
    this.#carry = used === input.length ? EMPTY : Buffer.from(input.subarray(used))
    const lead = this.#wroteLine ? 2 : 0
    const out = Buffer.allocUnsafe(lead + lines * (LINE_CHARS + 2) - 2)
    // The characters are written once, to the end of `out`, then each line is moved down to its
    // place in front of the CRLFs: one native write per chunk and one memmove per line, where
    // slicing per line would allocate.
    let from = out.length - chars.length
    out.write(chars, from, 'latin1')
    let to = 0
    for (let line = 0; line < lines; line++) {
      if (line > 0 || lead > 0) {
        out[to++] = CR
        out[to++] = LF
      }
      if (to !== from) out.copyWithin(to, from, from + LINE_CHARS)
      to += LINE_CHARS
      from += LINE_CHARS
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
