import type { BodyCanonicalizer, ByteSink } from './canonicalize.ts'

const CR = 0x0d
const LF = 0x0a
const SP = 0x20
const HTAB = 0x09
const SCRATCH_BYTES = 64 * 1024
const SLOW_STREAK_LINES = 8
// Runs of pending empty lines are kept as a count and written from this block, so a body that
// ends in millions of empty lines costs no memory.
const CRLF_BLOCK = Buffer.from('\r\n'.repeat(4096))

/** Writes `count` CRLFs to `sink` in bounded pieces. */
export function emitCrlfs(sink: ByteSink, count: number): void {
  while (count > 0) {
    const lines = Math.min(count, CRLF_BLOCK.length / 2)
    sink(CRLF_BLOCK.subarray(0, lines * 2))
    count -= lines
  }
}

/**
 * The `relaxed` body algorithm (RFC 6376 §3.4.4): whitespace at the end of lines dropped, other
 * runs of WSP reduced to one SP, empty lines at the end dropped, and a CRLF added to a non-empty
 * body that lacks one; an empty body stays empty. A body's last line without CRLF is treated as a
 * line (its trailing WSP goes), as it will be once SMTP has added the CRLF. Only a pending WSP
 * flag, a pending CR flag and a count of pending CRLFs are held back.
 *
 * Most lines (base64, ordinary text) are already canonical: no tab, no double space, no trailing
 * space, no bare CR. Those are found with native `indexOf` and passed on as runs of the input,
 * uncopied; only the other lines go through the byte-by-byte state machine.
 */
export class RelaxedBodyCanonicalizer implements BodyCanonicalizer {
  readonly #sink: ByteSink
  readonly #out = Buffer.allocUnsafe(SCRATCH_BYTES)
  #pos = 0
  #pendingWsp = false
  #pendingCr = false
  #pendingCrlfs = 0
  // Content was written after the last CRLF that was written: end() must add one.
  #lineOpen = false
  #atLineStart = true

  constructor(sink: ByteSink) {
    this.#sink = sink
  }

  update(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const length = bytes.length
    let i = this.#atLineStart ? 0 : this.#slow(bytes, 0, true)
    let runStart = -1
    let tab = -2
    let double = -2
    // After a line that needed the state machine, the next few go straight to it: on text where
    // most lines have tabs or double spaces, the native searches would cost more than they save.
    let slowLines = 0
    while (i < length) {
      if (slowLines > 0) {
        slowLines--
        i = this.#slow(bytes, i, true)
        continue
      }
      const cr = bytes.indexOf(CR, i)
      if (cr === -1 || cr + 1 >= length || bytes[cr + 1] !== LF) {
        // An unfinished line, or one with a bare CR: byte by byte.
        if (runStart !== -1) this.#sink(bytes.subarray(runStart, i))
        runStart = -1
        i = this.#slow(bytes, i, cr === -1 || cr + 1 >= length ? false : true)
        continue
      }
      if (cr === i) {
        if (runStart !== -1) this.#sink(bytes.subarray(runStart, i))
        runStart = -1
        this.#pendingCrlfs++
        i = cr + 2
        continue
      }
      if (tab !== -1 && tab < i) tab = bytes.indexOf(HTAB, i)
      if (double !== -1 && double < i) double = bytes.indexOf('  ', i, 'latin1')
      if ((tab !== -1 && tab < cr) || (double !== -1 && double < cr) || bytes[cr - 1] === SP) {
        if (runStart !== -1) this.#sink(bytes.subarray(runStart, i))
        runStart = -1
        i = this.#slow(bytes, i, true)
        slowLines = SLOW_STREAK_LINES
        continue
      }
      if (runStart === -1) {
        this.#flush()
        if (this.#pendingCrlfs > 0) emitCrlfs(this.#sink, this.#pendingCrlfs)
        this.#pendingCrlfs = 0
        runStart = i
      }
      // The line and its CRLF go out as they are, so no line is left open.
      this.#lineOpen = false
      i = cr + 2
    }
    if (runStart !== -1) this.#sink(bytes.subarray(runStart, i))
    this.#flush()
  }

  end(): void {
    if (this.#pendingCr) {
      this.#pendingCr = false
      this.#content(CR)
    }
    if (this.#lineOpen) {
      this.#put(CR)
      this.#put(LF)
    }
    this.#flush()
  }

  /**
   * The state machine, from `from` to the end of `bytes` or, with `toLineStart`, just past the
   * next CRLF. Returns where it stopped.
   */
  #slow(bytes: Buffer, from: number, toLineStart: boolean): number {
    // State in locals for the loop; written back before returning.
    const length = bytes.length
    const out = this.#out
    let pos = this.#pos
    let pendingWsp = this.#pendingWsp
    let pendingCr = this.#pendingCr
    let lineOpen = this.#lineOpen
    let atLineStart = this.#atLineStart
    let pendingCrlfs = this.#pendingCrlfs
    let i = from
    for (; i < length; i++) {
      const byte = bytes[i]!
      if (pendingCr) {
        pendingCr = false
        if (byte === LF) {
          pendingCrlfs++
          pendingWsp = false
          atLineStart = true
          if (toLineStart) {
            i++
            break
          }
          continue
        }
        // That CR was no line end but content, written before this byte is looked at.
        if (pendingCrlfs > 0 || pos >= SCRATCH_BYTES - 2) {
          pos = this.#drain(pos, pendingCrlfs)
          pendingCrlfs = 0
        }
        if (pendingWsp) out[pos++] = SP
        pendingWsp = false
        out[pos++] = CR
        lineOpen = true
      }
      atLineStart = false
      if (byte === SP || byte === HTAB) {
        pendingWsp = true
      } else if (byte === CR) {
        pendingCr = true
      } else {
        if (pendingCrlfs > 0 || pos >= SCRATCH_BYTES - 2) {
          pos = this.#drain(pos, pendingCrlfs)
          pendingCrlfs = 0
        }
        if (pendingWsp) out[pos++] = SP
        pendingWsp = false
        out[pos++] = byte
        lineOpen = true
      }
    }
    this.#pos = pos
    this.#pendingWsp = pendingWsp
    this.#pendingCr = pendingCr
    this.#lineOpen = lineOpen
    this.#atLineStart = atLineStart
    this.#pendingCrlfs = pendingCrlfs
    return i
  }

  /**
   * Before content: puts `crlfs` pending line ends into the scratch buffer, making room first if
   * needed, and leaves at least two free bytes. Returns the new scratch position.
   */
  #drain(pos: number, crlfs: number): number {
    const out = this.#out
    if (pos + crlfs * 2 > SCRATCH_BYTES - 2) {
      if (pos > 0) this.#sink(out.subarray(0, pos))
      pos = 0
      if (crlfs * 2 > SCRATCH_BYTES - 2) {
        emitCrlfs(this.#sink, crlfs)
        return 0
      }
    }
    for (let n = 0; n < crlfs; n++) {
      out[pos++] = CR
      out[pos++] = LF
    }
    return pos
  }

  /** Writes a content byte, after what it makes definite: pending line ends and one SP. */
  #content(byte: number): void {
    if (this.#pendingCrlfs > 0) {
      this.#flush()
      emitCrlfs(this.#sink, this.#pendingCrlfs)
      this.#pendingCrlfs = 0
    }
    if (this.#pendingWsp) {
      this.#pendingWsp = false
      this.#put(SP)
    }
    this.#put(byte)
    this.#lineOpen = true
  }

  #put(byte: number): void {
    if (this.#pos === SCRATCH_BYTES) this.#flush()
    this.#out[this.#pos++] = byte
  }

  #flush(): void {
    if (this.#pos === 0) return
    this.#sink(this.#out.subarray(0, this.#pos))
    this.#pos = 0
  }
}
