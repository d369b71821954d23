// The server's body handling before DotDecoder and BdatDecoder found everything in one pass, kept
// as the reference the one-pass decoders are checked against: DATA was a DotDecoder, then a NUL
// search over the decoded parts, then a CrlfNormalizer when bare line endings were accepted; BDAT
// was a TextBodyCheck scan, then the CrlfNormalizer. Copied as they were, not to be used elsewhere.
import { Buffer } from 'node:buffer'

const CR = 0x0d
const LF = 0x0a
const DOT = 0x2e

// Where the decoder is in the byte stream; a chunk can end in any of these.
const LINE_START = 0 // just after CRLF (or at the start of the body)
const DOT_SEEN = 1 // after a '.' that began a line
const DOT_CR = 2 // after '.' CR at a line start: the terminator if LF follows
const IN_LINE = 3
const AFTER_CR = 4 // after a CR inside a line, already passed on

/**
 * Decodes the body of DATA (server side), one chunk at a time, from the first byte after the
 * DATA command's CRLF: finds the end of data and removes dot-stuffing (RFC 5321 §4.5.2).
 *
 * Data ends only at CRLF `.` CRLF, where the first CRLF may be the DATA line's own. Bare CR and
 * bare LF never end a line: they neither end the data nor make a following '.' a stuffed one, so
 * `\n.\n`, `\r.\r`, `\r\n.\n` and the other SMTP smuggling forms are body bytes (and set
 * {@link DotDecoder.sawBareLineEnding}, which a server should reject by default). The delivered
 * body ends with the CRLF before the dot; an empty message delivers no bytes.
 *
 * State between chunks is a few numbers: nothing is buffered, and any split of the input into
 * chunks gives the same body and the same end. `decode` never throws on any bytes, only when
 * called again after the end was found.
 */
export class ThreePassDotDecoder {
  readonly #maxLineBytes: number
  #state = LINE_START
  #lineBytes = 0
  #done = false
  #bytes = 0
  #sawBareLineEnding = false
  #sawLongLine = false

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  /** True once the terminating `.CRLF` was found. */
  get done(): boolean {
    return this.#done
  }

  /** Body bytes delivered so far. */
  get bytes(): number {
    return this.#bytes
  }

  /** True when the body had a CR not followed by LF, or an LF not preceded by CR (RFC 5321 §2.3.8). */
  get sawBareLineEnding(): boolean {
    return this.#sawBareLineEnding
  }

  /** True when a line was longer than `maxLineBytes` (RFC 5321 §4.5.3.1.6). */
  get sawLongLine(): boolean {
    return this.#sawLongLine
  }

  /**
   * Decodes the next chunk. Bytes after the terminator are not looked at: the caller handles
   * `chunk.subarray(end)` as pipelined commands. Throws once the end has been found.
   */
  decode(chunk: Uint8Array): { body: Buffer[]; end: number } {
    if (this.#done) throw new Error('DotDecoder.decode() called after the end of data was found')
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const n = buf.length
    const max = this.#maxLineBytes
    const body: Buffer[] = []
    let state = this.#state
    let lineBytes = this.#lineBytes
    let lineFrom = 0 // lineBytes counts the current line's bytes before this index
    let from = 0 // body bytes from here on are not yet in `body`
    let i = 0
    let cr = -2
    let lf = -2
    let end = -1
    while (i < n) {
      if (state === IN_LINE) {
        if (cr !== -1 && cr < i) cr = buf.indexOf(CR, i)
        if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i)
        if (lf !== -1 && (cr === -1 || lf < cr)) {
          this.#sawBareLineEnding = true
          i = lf + 1
        } else if (cr === -1) {
          i = n
        } else if (cr + 1 === n) {
          i = n
          state = AFTER_CR
        } else if (buf[cr + 1] === LF) {
          if (lineBytes + (cr - lineFrom) + 2 > max) this.#sawLongLine = true
          lineBytes = 0
          lineFrom = i = cr + 2
          state = LINE_START
        } else {
          this.#sawBareLineEnding = true
          i = cr + 1
        }
      } else if (state === LINE_START) {
        if (buf[i] === DOT) {
          if (i > from) body.push(buf.subarray(from, i))
          from = lineFrom = ++i
          state = DOT_SEEN
        } else {
          state = IN_LINE
        }
      } else if (state === DOT_SEEN) {
        // RFC 5321 §4.5.2: the line-start dot is dropped, unless it is the terminator's.
        if (buf[i] === CR) {
          from = lineFrom = ++i
          state = DOT_CR
        } else {
          state = IN_LINE
        }
      } else if (state === DOT_CR) {
        if (buf[i] === LF) {
          end = i + 1
          this.#done = true
          break
        }
        // ".\r" then not LF: a bare CR; the dot was stuffing, the CR is body.
        this.#sawBareLineEnding = true
        body.push(Buffer.from([CR]))
        lineBytes += 1
        state = IN_LINE
      } else {
        // AFTER_CR: the chunk began right after a CR that ended the previous one.
        if (buf[i] === LF) {
          if (lineBytes - 1 + 2 > max) this.#sawLongLine = true
          lineBytes = 0
          lineFrom = ++i
          state = LINE_START
        } else {
          this.#sawBareLineEnding = true
          state = IN_LINE
        }
      }
    }
    if (end === -1) {
      if (from < n) body.push(buf.subarray(from))
      lineBytes += n - lineFrom
      // The line is already too long even if it ends right now.
      if ((state === AFTER_CR ? lineBytes - 1 : lineBytes) + 2 > max) this.#sawLongLine = true
    }
    this.#state = state
    this.#lineBytes = lineBytes
    for (const part of body) this.#bytes += part.length
    return { body, end }
  }
}

export class ThreePassTextBodyCheck {
  readonly #maxLineBytes: number
  #lineBytes = 0
  #afterCr = false
  #sawNul = false
  #sawBareLineEnding = false
  #sawLongLine = false

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  /** Looks at the next bytes of the body. */
  scan(buf: Buffer): void {
    const n = buf.length
    if (n === 0) return
    if (buf.indexOf(0) !== -1) this.#sawNul = true
    let i = 0
    let lineFrom = 0 // #lineBytes counts the current line's bytes before this index
    if (this.#afterCr) {
      this.#afterCr = false
      if (buf[0] === LF) {
        this.#endLine(this.#lineBytes + 1)
        lineFrom = i = 1
      } else this.#sawBareLineEnding = true
    }
    // Each indexOf runs again only once the scan has passed what it found: native scans, linear in all.
    let cr = -2
    let lf = -2
    while (i < n) {
      if (cr !== -1 && cr < i) cr = buf.indexOf(CR, i)
      if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i)
      if (lf !== -1 && (cr === -1 || lf < cr)) {
        this.#sawBareLineEnding = true
        i = lf + 1
      } else if (cr === -1) {
        break
      } else if (cr + 1 === n) {
        this.#afterCr = true
        break
      } else if (buf[cr + 1] === LF) {
        this.#endLine(this.#lineBytes + cr + 2 - lineFrom)
        lineFrom = i = cr + 2
      } else {
        this.#sawBareLineEnding = true
        i = cr + 1
      }
    }
    this.#lineBytes += n - lineFrom
    // The line is already too long even if its CRLF comes next (its CR is counted when held).
    if (this.#lineBytes + (this.#afterCr ? 1 : 2) > this.#maxLineBytes) this.#sawLongLine = true
  }

  #endLine(bytes: number): void {
    if (bytes > this.#maxLineBytes) this.#sawLongLine = true
    this.#lineBytes = 0
  }

  /** The end of the body: a CR as its last byte was a bare one. */
  end(): void {
    if (this.#afterCr) this.#sawBareLineEnding = true
    this.#afterCr = false
  }

  get sawNul(): boolean {
    return this.#sawNul
  }

  get sawBareLineEnding(): boolean {
    return this.#sawBareLineEnding
  }

  get sawLongLine(): boolean {
    return this.#sawLongLine
  }
}
