import { SmtpError } from '../protocol/errors.ts'

const CR = 0x0d
const LF = 0x0a

/**
 * The content rules of a 7bit or 8bit message body (RFC 5321 §2.3.8, RFC 2045 §2.7 and §2.8),
 * for BDAT, whose chunks come without dot-stuffing: a NUL, a bare CR or LF, and a line longer
 * than `maxLineBytes` (CRLF included) are recorded as they go by. DATA's DotDecoder finds the
 * same while unstuffing; BDAT with BODY=BINARYMIME is exempt (RFC 3030 §3).
 *
 * Without these a message refused over DATA (`\n.\n` smuggling, NUL, bare CR) would be stored
 * as sent over BDAT, and re-emitted by any relay that forwards the file over DATA.
 */
export class TextBodyCheck {
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

  /**
   * The reply for the first rule broken so far, or undefined. `acceptBareLineEndings` lets bare
   * CR and LF through (they are normalised instead).
   */
  failure(acceptBareLineEndings: boolean): SmtpError | undefined {
    if (this.#sawBareLineEnding && !acceptBareLineEndings) return bareLineEndingError()
    if (this.#sawLongLine) return longLineError(this.#maxLineBytes)
    if (this.#sawNul) return nulError('only BODY=BINARYMIME can')
    return undefined
  }
}

/** RFC 5321 §2.3.8: CR and LF only as CRLF. Smuggling attempts (`\n.\n` and kin) land here. */
export function bareLineEndingError(): SmtpError {
  return new SmtpError(554, '5.6.0', 'Message contains a bare LF or CR; use CRLF line endings')
}

/** A line over `limits.maxTextLineBytes`. */
export function longLineError(maxLineBytes: number): SmtpError {
  return new SmtpError(554, '5.6.0', `Message has a line longer than ${maxLineBytes} octets`)
}

/**
 * RFC 2045 §2.7 and §2.8: neither 7bit nor 8bit text may hold NUL (only BINARYMIME may). A relay
 * that drops NULs would turn `\r\n\0.\r\n` into an end of data downstream.
 */
export function nulError(whoCan: string): SmtpError {
  return new SmtpError(554, '5.6.0', `Message contains a NUL octet, which ${whoCan} carry`)
}
