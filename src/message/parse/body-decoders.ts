// Streaming Content-Transfer-Encoding decoders (RFC 2045 §6), tolerant as real mail needs:
// any line length, stray whitespace and garbage are skipped rather than refused.

/**
 * Turns encoded body bytes into decoded bytes, chunk by chunk, whatever the chunk boundaries:
 * into new buffers (`update`, `end`: for bodies handed out as streams), or into a buffer the
 * caller provides (`updateInto`, `endInto`: for bodies kept whole, decoded straight into the one
 * buffer that holds them, with no copy and no concatenation afterwards).
 */
export interface BodyDecoder {
  update(chunk: Uint8Array): Uint8Array
  end(): Uint8Array
  /** The most bytes `updateInto` gives for `length` bytes of input, or `endInto` for 0. */
  maxDecodedLength(length: number): number
  /** Decodes `chunk` into `out` from `at` (with maxDecodedLength(chunk.length) bytes of room); returns where the decoded bytes end. */
  updateInto(chunk: Uint8Array, out: Buffer, at: number): number
  /** Decodes what the decoder holds back into `out` from `at`; returns where the decoded bytes end. */
  endInto(out: Buffer, at: number): number
}

const EMPTY = new Uint8Array(0)

/** 7bit, 8bit, binary and unknown encodings: the bytes as they are. */
export class IdentityDecoder implements BodyDecoder {
  update(chunk: Uint8Array): Uint8Array {
    return chunk
  }

  end(): Uint8Array {
    return EMPTY
  }

  maxDecodedLength(length: number): number {
    return length
  }

  updateInto(chunk: Uint8Array, out: Buffer, at: number): number {
    out.set(chunk, at)
    return at + chunk.length
  }

  endInto(_out: Buffer, at: number): number {
    return at
  }
}

// Base64 alphabet values; 64 marks "=", 255 anything to skip (whitespace, garbage).
const BASE64 = new Uint8Array(256).fill(255)
for (const [index, char] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) BASE64[char.charCodeAt(0)] = index
// Base64url letters, which some senders use by mistake.
BASE64[0x2d] = 62
BASE64[0x5f] = 63
BASE64[0x3d] = 64

/**
 * Base64 (RFC 2045 §6.8). Characters outside the alphabet are skipped; "=" ends a quantum, and
 * decoding goes on after it, since concatenated base64 blocks occur in the wild. A trailing
 * partial quantum of 2 or 3 characters gives its 1 or 2 bytes; a lone sixth-bit character is dropped.
 */
export class Base64Decoder implements BodyDecoder {
  #quantum = 0
  #count = 0

  update(chunk: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(this.maxDecodedLength(chunk.length))
    return out.subarray(0, this.updateInto(chunk, out, 0))
  }

  maxDecodedLength(length: number): number {
    // Up to 3 characters of a quantum are carried over from the chunk before.
    return Math.ceil(((length + 4) * 3) / 4)
  }

  updateInto(chunk: Uint8Array, out: Buffer, at: number): number {
    // Finish the line the last chunk left open byte by byte; then whole lines of a regular shape
    // go to Node's native decoder; then the open line at the end, byte by byte again.
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const firstLineEnd = bytes.indexOf(LF)
    if (firstLineEnd === -1) return this.#decode(bytes, 0, bytes.length, out, at)
    let length = this.#decode(bytes, 0, firstLineEnd + 1, out, at)
    const start = firstLineEnd + 1
    const end = bytes.lastIndexOf(LF) + 1
    const chars = this.#count === 0 && end > start ? regularLineChars(bytes, start, end) : 0
    let from = start
    if (chars > 0) {
      // In slices of whole lines: short strings die young, so a huge chunk does not leave
      // megabytes of strings for the old generation.
      const stride = bytes.indexOf(LF, start) + 1 - start
      const step = stride * Math.max(1, Math.floor(NATIVE_SLICE_BYTES / stride))
      while (from < end && this.#count === 0) {
        const to = Math.min(end, from + step)
        const written = out.write(bytes.toString('latin1', from, to), length, 'base64')
        // Fewer bytes than the lines hold means the native decoder skipped something in them (a
        // stray CR, a space, garbage): the slice's characters are not whole quanta per line, and
        // only the byte-by-byte decoder carries the last partial quantum on to the next line.
        length = written === ((to - from) / stride) * (chars / 4) * 3 ? length + written : this.#decode(bytes, from, to, out, length)
        from = to
      }
    }
    length = this.#decode(bytes, from, end, out, length)
    return this.#decode(bytes, end, bytes.length, out, length)
  }

  // The byte-by-byte decoder: any input, any alignment. Returns the new length of `out`.
  #decode(chunk: Uint8Array, from: number, to: number, out: Buffer, at: number): number {
    let length = at
    let quantum = this.#quantum
    let count = this.#count
    for (let i = from; i < to; i++) {
      const value = BASE64[chunk[i]!]!
      if (value < 64) {
        quantum = (quantum << 6) | value
        if (++count === 4) {
          out[length++] = quantum >>> 16
          out[length++] = (quantum >>> 8) & 0xff
          out[length++] = quantum & 0xff
          quantum = 0
          count = 0
        }
      } else if (value === 64 && count > 0) {
        length = flushPartial(out, length, quantum, count)
        quantum = 0
        count = 0
      }
    }
    this.#quantum = quantum
    this.#count = count
    return length
  }

  end(): Uint8Array {
    if (this.#count < 2) return EMPTY
    const out = Buffer.allocUnsafe(2)
    return out.subarray(0, this.endInto(out, 0))
  }

  endInto(out: Buffer, at: number): number {
    const length = flushPartial(out, at, this.#quantum, this.#count)
    this.#quantum = 0
    this.#count = 0
    return length
  }
}

const NATIVE_SLICE_BYTES = 32 * 1024

// Lines as senders write them: every line the same length, a multiple of 4 characters, then
// CRLF or LF, with no "=" (padding ends the data only at its very end). Only such lines go to the
// native decoder, which skips line breaks but would stop at a "="; the caller checks that every
// character was base64. Returns the characters per line, or 0 when the lines are not regular.
function regularLineChars(bytes: Buffer, start: number, end: number): number {
  const firstEnd = bytes.indexOf(LF, start)
  const stride = firstEnd + 1 - start
  const chars = bytes[firstEnd - 1] === CR ? stride - 2 : stride - 1
  if (chars <= 0 || chars % 4 !== 0 || (end - start) % stride !== 0) return 0
  for (let lineEnd = firstEnd; lineEnd < end; lineEnd += stride) {
    if (bytes[lineEnd] !== LF || (stride - chars === 2 && bytes[lineEnd - 1] !== CR)) return 0
  }
  const equals = bytes.indexOf(0x3d, start)
  return equals === -1 || equals >= end ? chars : 0
}

function flushPartial(out: Buffer, length: number, quantum: number, count: number): number {
  if (count === 2) {
    out[length++] = (quantum >>> 4) & 0xff
  } else if (count === 3) {
    out[length++] = (quantum >>> 10) & 0xff
    out[length++] = (quantum >>> 2) & 0xff
  }
  return length
}

const HEX = new Uint8Array(256).fill(255)
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i
  HEX[0x61 + i] = 10 + i
}
const CR = 0x0d
const LF = 0x0a
const EQUALS = 0x3d
// A line longer than this without a line break is decoded without waiting for its end.
const MAX_HELD_LINE = 64 * 1024
const MAX_HELD_RUN = 4096

/**
 * Quoted-printable (RFC 2045 §6.7): "=XX" in either case is an octet, "=" at the end of a line
 * (after optional whitespace) a soft line break; whitespace at the end of a line is dropped
 * (rule 3). Line breaks (CRLF, LF or CR) come out as CRLF, the canonical form. A "=" not
 * followed by two hex digits stays as it is, as RFC 2045 §6.7 suggests for robustness.
 */
export class QuotedPrintableDecoder implements BodyDecoder {
  #held: Uint8Array = EMPTY

  update(chunk: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(this.maxDecodedLength(chunk.length))
    return out.subarray(0, this.updateInto(chunk, out, 0))
  }

  end(): Uint8Array {
    const out = Buffer.allocUnsafe(this.maxDecodedLength(0))
    return out.subarray(0, this.endInto(out, 0))
  }

  maxDecodedLength(length: number): number {
    // A bare LF or CR becomes CRLF: the output may be twice as long as the input.
    return (this.#held.length + length) * 2
  }

  updateInto(chunk: Uint8Array, out: Buffer, at: number): number {
    let end = at
    let input = chunk
    if (this.#held.length > 0) {
      const lineEnd = endOfHeldLine(this.#held, chunk)
      if (lineEnd === -1) {
        input = Buffer.concat([this.#held, chunk])
      } else {
        // The chunk's first line break ends the held line: only that much is joined to it, so
        // the rest of a large chunk is not copied.
        end = decodeLines(Buffer.concat([this.#held, chunk.subarray(0, lineEnd)]), out, end)
        input = chunk.subarray(lineEnd)
      }
      this.#held = EMPTY
    }
    // Decode up to the last line break; the partial line waits for the rest (a "=" or trailing
    // whitespace at its end means something only once the line break is seen).
    let cut = input.length
    // A CR at the very end may be the first half of a CRLF: its line waits too.
    if (input[cut - 1] === CR) cut--
    while (cut > 0 && input[cut - 1] !== LF && input[cut - 1] !== CR) cut--
    if (cut === 0 && input.length > MAX_HELD_LINE) {
      // Not after a "=" or inside "=XX", whose meaning depends on what follows, nor after
      // whitespace, which is dropped if the line ends right after it (a run of it longer than
      // MAX_HELD_RUN, which only hostile input has, is decoded as it stands).
      cut = input.length - 3
      const floor = cut - MAX_HELD_RUN
      while (cut > floor && (input[cut - 1] === EQUALS || input[cut - 2] === EQUALS || input[cut - 1] === 0x20 || input[cut - 1] === 0x09)) cut--
    }
    this.#held = input.subarray(cut)
    return decodeLines(input.subarray(0, cut), out, end)
  }

  endInto(out: Buffer, at: number): number {
    const rest = this.#held
    this.#held = EMPTY
    return decodeLines(rest, out, at)
  }
}

// Where in `chunk` the line `held` begins ends (after its line break), or -1 when not within it.
function endOfHeldLine(held: Uint8Array, chunk: Uint8Array): number {
  // A held line that ends in CR is whole; an LF first in the chunk completes its CRLF.
  if (held[held.length - 1] === CR) return chunk[0] === LF ? 1 : 0
  let i = 0
  while (i < chunk.length && chunk[i] !== LF && chunk[i] !== CR) i++
  if (i === chunk.length) return -1
  if (chunk[i] === LF) return i + 1
  // A CR at the very end of the chunk may be the first half of a CRLF.
  if (i + 1 === chunk.length) return -1
  return chunk[i + 1] === LF ? i + 2 : i + 1
}

// Decodes whole lines into `out` from `at` (room for twice the input); returns the new end.
function decodeLines(input: Uint8Array, out: Buffer, at: number): number {
  let length = at
  // Index in `out` after the last byte that is not trailing whitespace of the current line.
  let keep = at
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!
    if (byte === CR || byte === LF) {
      length = keep
      out[length++] = CR
      out[length++] = LF
      keep = length
      if (byte === CR && input[i + 1] === LF) i++
    } else if (byte === EQUALS) {
      const high = HEX[input[i + 1] ?? 0]!
      const low = HEX[input[i + 2] ?? 0]!
      if (high < 16 && low < 16) {
        out[length++] = (high << 4) | low
        keep = length
        i += 2
        continue
      }
      // A soft line break: "=", optional whitespace, then the line break (or the end of input).
      let j = i + 1
      while (input[j] === 0x20 || input[j] === 0x09) j++
      if (j === input.length || input[j] === CR || input[j] === LF) {
        keep = length
        i = input[j] === CR && input[j + 1] === LF ? j + 1 : j
        continue
      }
      out[length++] = byte
      keep = length
    } else {
      out[length++] = byte
      if (byte !== 0x20 && byte !== 0x09) keep = length
    }
  }
  return length
}

/** The decoder for a Content-Transfer-Encoding value (lower-cased); unknown ones are read as they are. */
export function createBodyDecoder(encoding: string): BodyDecoder {
  if (encoding === 'base64') return new Base64Decoder()
  if (encoding === 'quoted-printable') return new QuotedPrintableDecoder()
  return new IdentityDecoder()
}
