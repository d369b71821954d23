/**
 * How {@link QuotedPrintableEncoder} treats line breaks in its input.
 * - `'text'`: CRLF, a bare LF and a bare CR each become a hard line break (CRLF), the canonical
 *   form of text (RFC 2045 §6.7 rule 4, RFC 2046 §4.1.1).
 * - `'binary'`: CR and LF are data and are encoded as `=0D` / `=0A`, so the decoded bytes equal
 *   the input exactly; only soft line breaks appear in the output.
 */
export type QuotedPrintableMode = 'text' | 'binary'

const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
const TAB = 0x09
const EQUALS = 0x3d
const DOT = 0x2e
// RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters. A soft break adds a trailing
// '=', so a line holds at most 75 characters before it.
const MAX_LINE_CHARS = 75
const HEX = Buffer.from('0123456789ABCDEF', 'latin1')
const EMPTY = Buffer.alloc(0)

// RFC 2045 §6.7 rule 2: printable ASCII 33-126 except '=' may stand for itself. Space and tab
// are handled apart because they must be encoded at the end of a line (rule 3).
const LITERAL = new Uint8Array(256)
for (let byte = 33; byte <= 126; byte++) LITERAL[byte] = byte === EQUALS ? 0 : 1

/**
 * Streaming quoted-printable content-transfer-encoder (RFC 2045 §6.7).
 *
 * Lines are at most 76 characters, with `=` soft breaks; an `=XX` escape is never split across a
 * soft break; whitespace before a line break or at the end is encoded (`=20`, `=09`); `=` is
 * always encoded, and so is a `.` at the start of a line, which keeps the output safe from
 * transports that mishandle a lone dot. Because `=` in the output is always followed by two hex
 * digits or a line break, the output never contains `=_`, which is what makes our MIME boundaries
 * (see boundary.ts) impossible in it.
 *
 * Feed bytes with {@link QuotedPrintableEncoder.update} and finish with
 * {@link QuotedPrintableEncoder.final}. The output does not depend on how the input is split:
 * a trailing space, tab or CR is held until the next byte shows what follows it.
 */
export class QuotedPrintableEncoder {
  readonly #binary: boolean
  #lineChars = 0
  #pendingSpace = -1
  #pendingCr = false
  #finished = false
  #out: Buffer = EMPTY
  #at = 0

  constructor(options: { mode?: QuotedPrintableMode } = {}) {
    this.#binary = options.mode === 'binary'
  }

  /** Encodes `chunk` and returns the encoded text it produced (possibly empty). */
  update(chunk: Uint8Array): Buffer {
    if (this.#finished) throw new Error('QuotedPrintableEncoder.update() called after final()')
    if (chunk.length === 0) return EMPTY
    // Worst case: every byte becomes '=XX' (3), plus a 3-byte soft break per 25 escapes and the
    // held whitespace or line break.
    this.#reserve(chunk.length * 4 + 16)
    const binary = this.#binary
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!
      if (!binary) {
        if (this.#pendingCr) {
          this.#pendingCr = false
          this.#hardBreak()
          if (byte === LF) continue
        }
        if (byte === CR) {
          this.#flushSpaceEncoded()
          this.#pendingCr = true
          continue
        }
        if (byte === LF) {
          this.#hardBreak()
          continue
        }
      }
      if (this.#pendingSpace !== -1) {
        const space = this.#pendingSpace
        this.#pendingSpace = -1
        this.#literal(space)
      }
      if (byte === SPACE || byte === TAB) this.#pendingSpace = byte
      else if (LITERAL[byte] === 1) this.#literal(byte)
      else this.#escape(byte)
    }
    return this.#take()
  }

  /** Flushes held whitespace (encoded, as it ends the text) and a held CR (as a line break). */
  final(): Buffer {
    if (this.#finished) throw new Error('QuotedPrintableEncoder.final() called twice')
    this.#finished = true
    this.#reserve(16)
    if (this.#pendingCr) {
      this.#pendingCr = false
      this.#hardBreak()
    }
    this.#flushSpaceEncoded()
    return this.#take()
  }

  // One scratch buffer for the worst case, reused: the output is copied out of it at its real
  // size, so a chunk's encoding does not keep four times the chunk alive.
  #reserve(bytes: number): void {
    if (this.#out.length < bytes) this.#out = Buffer.allocUnsafe(bytes)
    this.#at = 0
  }

  #take(): Buffer {
    return this.#at === 0 ? EMPTY : Buffer.from(this.#out.subarray(0, this.#at))
  }

  #literal(byte: number): void {
    if (this.#lineChars + 1 > MAX_LINE_CHARS) this.#softBreak()
    if (byte === DOT && this.#lineChars === 0) {
      this.#escape(byte)
      return
    }
    this.#out[this.#at++] = byte
    this.#lineChars++
  }

  #escape(byte: number): void {
    if (this.#lineChars + 3 > MAX_LINE_CHARS) this.#softBreak()
    const out = this.#out
    out[this.#at++] = EQUALS
    out[this.#at++] = HEX[byte >> 4]!
    out[this.#at++] = HEX[byte & 15]!
    this.#lineChars += 3
  }

  #flushSpaceEncoded(): void {
    if (this.#pendingSpace === -1) return
    const space = this.#pendingSpace
    this.#pendingSpace = -1
    this.#escape(space)
  }

  #softBreak(): void {
    const out = this.#out
    out[this.#at++] = EQUALS
    out[this.#at++] = CR
    out[this.#at++] = LF
    this.#lineChars = 0
  }

  #hardBreak(): void {
    // RFC 2045 §6.7 rule 3: whitespace at the end of an encoded line must be encoded.
    this.#flushSpaceEncoded()
    this.#out[this.#at++] = CR
    this.#out[this.#at++] = LF
    this.#lineChars = 0
  }
}

/** Quoted-printable-encodes `bytes` in one call; see {@link QuotedPrintableEncoder}. */
export function encodeQuotedPrintable(bytes: Uint8Array, options: { mode?: QuotedPrintableMode } = {}): Buffer {
  const encoder = new QuotedPrintableEncoder(options)
  return Buffer.concat([encoder.update(bytes), encoder.final()])
}
