import { Buffer } from 'node:buffer'
import { MAX_TEXT_LINE_OCTETS } from './limits.ts'

const CR = 0x0d
const LF = 0x0a
const DOT = 0x2e
const CRLF = Buffer.from('\r\n', 'latin1')
const LF_ONLY = Buffer.from('\n', 'latin1')
const DOT_ONLY = Buffer.from('.', 'latin1')

function toBuffer(chunk: Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (!(chunk instanceof Uint8Array)) throw new TypeError(`chunk must be a Uint8Array, got ${typeof chunk}`)
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * The line-ending repair shared by DotEncoder and CrlfNormalizer: bare CR and bare LF become
 * CRLF (RFC 5321 §2.3.8), and with `stuffDots` a '.' starting a line is doubled (RFC 5321 §4.5.2).
 * A CR ending a chunk is passed on at once; if the next chunk does not start with LF, an LF is
 * put in front of it. So nothing is ever held back.
 */
class LineEndingFixer {
  readonly #stuffDots: boolean
  #atLineStart = true
  #afterCr = false
  #ended = false

  constructor(stuffDots: boolean) {
    this.#stuffDots = stuffDots
  }

  encode(chunk: Uint8Array, name: string): Buffer {
    if (this.#ended) throw new Error(`${name}.encode() called after end()`)
    const buf = toBuffer(chunk)
    const n = buf.length
    if (n === 0) return buf
    let parts: Buffer[] | undefined
    let from = 0
    let i = 0
    let atLineStart = this.#atLineStart
    if (this.#afterCr) {
      this.#afterCr = false
      atLineStart = true
      if (buf[0] === LF) i = 1
      else parts = [LF_ONLY]
    }
    let cr = buf.indexOf(CR, i)
    let lf = buf.indexOf(LF, i)
    for (;;) {
      if (atLineStart) {
        if (i === n) break
        atLineStart = false
        if (this.#stuffDots && buf[i] === DOT) {
          parts ??= []
          parts.push(buf.subarray(from, i), DOT_ONLY)
          from = i
        }
      }
      if (cr !== -1 && cr < i) cr = buf.indexOf(CR, i)
      if (lf !== -1 && lf < i) lf = buf.indexOf(LF, i)
      if (lf !== -1 && (cr === -1 || lf < cr)) {
        // No CR since i, so this LF is bare (a CRLF's LF is skipped below).
        parts ??= []
        parts.push(buf.subarray(from, lf), CRLF)
        from = i = lf + 1
      } else if (cr === -1) {
        break
      } else if (cr + 1 === n) {
        this.#afterCr = true
        break
      } else if (buf[cr + 1] === LF) {
        i = cr + 2
      } else {
        parts ??= []
        parts.push(buf.subarray(from, cr + 1), LF_ONLY)
        from = i = cr + 1
      }
      atLineStart = true
    }
    this.#atLineStart = atLineStart
    if (parts === undefined) return buf
    parts.push(buf.subarray(from))
    return Buffer.concat(parts)
  }

  end(name: string): Buffer {
    if (this.#ended) throw new Error(`${name}.end() called twice`)
    this.#ended = true
    let tail = ''
    if (this.#afterCr) tail = '\n'
    else if (!this.#atLineStart) tail = '\r\n'
    if (this.#stuffDots) tail += '.\r\n'
    return Buffer.from(tail, 'latin1')
  }
}

/**
 * Encodes a message body for DATA (client side), one chunk at a time: a '.' starting a line is
 * doubled (RFC 5321 §4.5.2), and bare CR and bare LF become CRLF, since RFC 5321 §2.3.8 forbids
 * sending them. Correct across any chunk boundary.
 *
 * `encode` returns this chunk's bytes; a chunk that needs no change comes back as the same memory,
 * not a copy, so it must not be modified until written. `end` returns what finishes the data: a
 * CRLF if the body did not end with one, then `.CRLF`. An empty body encodes to `.CRLF` alone.
 */
export class DotEncoder {
  readonly #fixer = new LineEndingFixer(true)

  /** Encodes the next chunk of the body. Throws after {@link DotEncoder.end}. */
  encode(chunk: Uint8Array): Buffer {
    return this.#fixer.encode(chunk, 'DotEncoder')
  }

  /** Finishes the body: the final line ending if missing, then the terminating `.CRLF`. */
  end(): Buffer {
    return this.#fixer.end('DotEncoder')
  }
}

/**
 * Normalises line endings of a message body for BDAT (RFC 3030), which has no dot-stuffing: bare
 * CR and bare LF become CRLF, chunk by chunk. Same contract as {@link DotEncoder}, except that
 * `end` returns only a final CRLF if a non-empty body lacked one (so a server stores the same
 * bytes whether the message came by DATA or BDAT).
 */
export class CrlfNormalizer {
  readonly #fixer = new LineEndingFixer(false)

  /** Normalises the next chunk of the body. Throws after {@link CrlfNormalizer.end}. */
  encode(chunk: Uint8Array): Buffer {
    return this.#fixer.encode(chunk, 'CrlfNormalizer')
  }

  /** Finishes the body: a CRLF if it did not end with a line ending, else nothing. */
  end(): Buffer {
    return this.#fixer.end('CrlfNormalizer')
  }
}

/**
 * Dot-stuffs a whole body for DATA with a {@link DotEncoder}, terminator included. Empty chunks
 * are skipped; chunks are not coalesced, so feed it chunks of a useful size.
 */
export async function* dotEncode(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  const encoder = new DotEncoder()
  for await (const chunk of source) {
    const out = encoder.encode(chunk)
    if (out.length > 0) yield out
  }
  yield encoder.end()
}

/**
 * A whole message with every line ending made CRLF by a {@link CrlfNormalizer}: the form SMTP
 * carries and DKIM hashes (RFC 6376 §5.3), from a copy that may have Unix line endings.
 */
export async function* crlfNormalize(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  const normalizer = new CrlfNormalizer()
  for await (const chunk of source) {
    const out = normalizer.encode(chunk)
    if (out.length > 0) yield out
  }
  const tail = normalizer.end()
  if (tail.length > 0) yield tail
}

/** Options of {@link DotDecoder} and {@link BdatDecoder}. */
export interface BodyDecoderOptions {
  /**
   * The longest line, CRLF included and a stuffed dot not counted, before `sawLongLine` is set.
   * Default 1000 (RFC 5321 §4.5.3.1.6); `Infinity` turns the check off.
   */
  readonly maxLineBytes?: number | undefined
  /** The most body bytes before `exceededMaxBytes` is set. Default `Infinity`. */
  readonly maxBytes?: number | undefined
  /**
   * Deliver each bare CR and bare LF as CRLF, as {@link CrlfNormalizer} would (RFC 5321 §2.3.8
   * forbids them; a server that accepts them anyway stores them repaired). They still set
   * `sawBareLineEnding`, and never end a line or the data. Default false: delivered as they came.
   */
  readonly normalizeLineEndings?: boolean | undefined
}

/** Options of {@link DotDecoder}. */
export type DotDecoderOptions = BodyDecoderOptions

/** Defaults of {@link BodyDecoderOptions}. */
export const dotDecoderDefaults = Object.freeze({ maxLineBytes: MAX_TEXT_LINE_OCTETS, maxBytes: Infinity, normalizeLineEndings: false })

/** What {@link DotDecoder.decode} found in one chunk. */
export interface DecodeResult {
  /** Unstuffed body bytes from this chunk, in order; mostly views into the chunk, not copies. */
  readonly body: Buffer[]
  /** -1 while the data goes on; else the index in the chunk just after the terminating `.CRLF`. */
  readonly end: number
}

// Line endings the decoder adds to a body are new buffers each: the consumer owns what it is given.
const crlf = (): Buffer => Buffer.from([CR, LF])
const lfOnly = (): Buffer => Buffer.from([LF])
// Nothing to add: an empty buffer has no bytes to change, so one serves every body.
const NOTHING = Buffer.alloc(0)

// Where the decoder is in the byte stream; a chunk can end in any of these.
const LINE_START = 0 // just after CRLF (or at the start of the body); DATA only
const DOT_SEEN = 1 // after a '.' that began a line
const DOT_CR = 2 // after '.' CR at a line start: the terminator if LF follows
const IN_LINE = 3
const AFTER_CR = 4 // after a CR inside a line, already passed on

/**
 * The one pass over a message body that the server makes, shared by DATA ({@link DotDecoder})
 * and BDAT ({@link BdatDecoder}): line ends, dot-unstuffing and the end of data (DATA only),
 * bare CR and LF, NUL, long lines and the byte count, all found in the same call per chunk.
 * The searches are the Buffer's native `indexOf` for CR, LF and NUL, each resumed only once the
 * scan has passed what it last found, so JavaScript never visits the bytes one at a time; the
 * NUL search runs once per chunk until it finds one.
 *
 * State between chunks is a few numbers: nothing is buffered, and any split of the input into
 * chunks gives the same body, the same findings and the same end.
 */
export abstract class BodyDecoder {
  readonly #dotStuffed: boolean
  readonly #maxLineBytes: number
  readonly #maxBytes: number
  readonly #normalize: boolean
  #state: number
  #lineBytes = 0
  #done = false
  #bytes = 0
  #lastByte = -1
  #sawBareLineEnding = false
  #sawLongLine = false
  #sawNul = false

  constructor(dotStuffed: boolean, options: BodyDecoderOptions) {
    const max = options.maxLineBytes ?? dotDecoderDefaults.maxLineBytes
    if (!(max === Infinity || (Number.isSafeInteger(max) && max >= 2))) {
      throw new RangeError(`maxLineBytes must be an integer of at least 2 or Infinity, got ${max}`)
    }
    const maxBytes = options.maxBytes ?? dotDecoderDefaults.maxBytes
    if (!(maxBytes === Infinity || (Number.isSafeInteger(maxBytes) && maxBytes >= 0))) {
      throw new RangeError(`maxBytes must be a non-negative integer or Infinity, got ${maxBytes}`)
    }
    this.#dotStuffed = dotStuffed
    this.#maxLineBytes = max
    this.#maxBytes = maxBytes
    this.#normalize = options.normalizeLineEndings ?? dotDecoderDefaults.normalizeLineEndings
    this.#state = dotStuffed ? LINE_START : IN_LINE
  }

  /** True once the end of the body was found (DATA's `.CRLF`, or {@link BdatDecoder.finish}). */
  get done(): boolean {
    return this.#done
  }

  /** Body bytes delivered so far. */
  get bytes(): number {
    return this.#bytes
  }

  /** True once more than `maxBytes` body bytes were delivered. */
  get exceededMaxBytes(): boolean {
    return this.#bytes > this.#maxBytes
  }

  /** True when the body had a CR not followed by LF, or an LF not preceded by CR (RFC 5321 §2.3.8). */
  get sawBareLineEnding(): boolean {
    return this.#sawBareLineEnding
  }

  /** True when a line was longer than `maxLineBytes` (RFC 5321 §4.5.3.1.6). */
  get sawLongLine(): boolean {
    return this.#sawLongLine
  }

  /** True when the body held a NUL octet, which neither 7bit nor 8bit text may (RFC 2045 §2.7, §2.8). */
  get sawNul(): boolean {
    return this.#sawNul
  }

  protected decodeChunk(chunk: Uint8Array, name: string): DecodeResult {
    if (this.#done) throw new Error(`${name}.decode() called after the end of the body`)
    const buf = toBuffer(chunk)
    const n = buf.length
    const max = this.#maxLineBytes
    const normalize = this.#normalize
    const dotStuffed = this.#dotStuffed
    const afterLine = dotStuffed ? LINE_START : IN_LINE
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
        // The common line: ends in CRLF with no bare CR or LF before it. Runs of such lines pass
        // through this tight loop, not through the state switch once per line; it stops at the
        // end of the chunk, at a line starting with a dot (DATA), or at anything unusual, which
        // the general code below handles with the positions found.
        if (lf === cr + 1 && cr !== -1) {
          for (;;) {
            if (lineBytes + (cr - lineFrom) + 2 > max) this.#sawLongLine = true
            lineBytes = 0
            lineFrom = i = lf + 1
            if (i === n || (dotStuffed && buf[i] === DOT)) break
            cr = buf.indexOf(CR, i)
            lf = buf.indexOf(LF, i)
            if (lf !== cr + 1 || cr === -1) break
          }
          if (i === n || (dotStuffed && buf[i] === DOT)) {
            state = afterLine
            continue
          }
        }
        if (lf !== -1 && (cr === -1 || lf < cr)) {
          this.#sawBareLineEnding = true
          if (normalize) {
            body.push(buf.subarray(from, lf), crlf())
            from = lf + 1
          }
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
          state = afterLine
        } else {
          this.#sawBareLineEnding = true
          if (normalize) {
            body.push(buf.subarray(from, cr + 1), lfOnly())
            from = cr + 1
          }
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
        body.push(normalize ? crlf() : Buffer.from([CR]))
        lineBytes += 1
        state = IN_LINE
      } else {
        // AFTER_CR: the chunk began right after a CR that ended the previous one.
        if (buf[i] === LF) {
          if (lineBytes - 1 + 2 > max) this.#sawLongLine = true
          lineBytes = 0
          lineFrom = ++i
          state = afterLine
        } else {
          this.#sawBareLineEnding = true
          if (normalize) body.push(lfOnly())
          state = IN_LINE
        }
      }
    }
    if (end === -1) {
      // The whole chunk, the common case, goes on as it came: no view to allocate.
      if (from < n) body.push(from === 0 ? buf : buf.subarray(from))
      lineBytes += n - lineFrom
      // The line is already too long even if it ends right now.
      if ((state === AFTER_CR ? lineBytes - 1 : lineBytes) + 2 > max) this.#sawLongLine = true
      if (n > 0) this.#lastByte = buf[n - 1]!
    }
    // One native search per chunk until the first NUL; bytes after the terminator are not body.
    if (!this.#sawNul) {
      const nul = buf.indexOf(0)
      if (nul !== -1 && (end === -1 || nul < end)) this.#sawNul = true
    }
    this.#state = state
    this.#lineBytes = lineBytes
    for (const part of body) this.#bytes += part.length
    return { body, end }
  }

  protected finishBody(name: string): Buffer {
    if (this.#done) throw new Error(`${name}.finish() called twice`)
    this.#done = true
    if (this.#state !== AFTER_CR) return this.#normalize && this.#lastByte !== -1 && this.#lastByte !== LF ? this.#count(crlf()) : NOTHING
    // A CR as the very last byte was a bare one.
    this.#sawBareLineEnding = true
    return this.#normalize ? this.#count(lfOnly()) : NOTHING
  }

  #count(tail: Buffer): Buffer {
    this.#bytes += tail.length
    return tail
  }
}

/**
 * Decodes the body of DATA (server side), one chunk at a time, from the first byte after the
 * DATA command's CRLF: finds the end of data and removes dot-stuffing (RFC 5321 §4.5.2), the
 * inverse of {@link DotEncoder}, and in the same pass notes what a server refuses (bare line
 * endings, NUL, long lines, too many bytes).
 *
 * Data ends only at CRLF `.` CRLF, where the first CRLF may be the DATA line's own. Bare CR and
 * bare LF never end a line: they neither end the data nor make a following '.' a stuffed one, so
 * `\n.\n`, `\r.\r`, `\r\n.\n` and the other SMTP smuggling forms are body bytes (and set
 * {@link BodyDecoder.sawBareLineEnding}, which a server should reject by default). The delivered
 * body ends with the CRLF before the dot; an empty message delivers no bytes.
 *
 * `decode` never throws on any bytes, only when called again after the end was found.
 */
export class DotDecoder extends BodyDecoder {
  constructor(options: DotDecoderOptions = {}) {
    super(true, options)
  }

  /**
   * Decodes the next chunk. Bytes after the terminator are not looked at: the caller handles
   * `chunk.subarray(end)` as pipelined commands. Throws once the end has been found.
   */
  decode(chunk: Uint8Array): DecodeResult {
    return this.decodeChunk(chunk, 'DotDecoder')
  }
}

/**
 * Reads the body of a BDAT message (server side, RFC 3030) chunk by chunk: no dot-stuffing and
 * no terminator, as the sizes are declared, but the same findings as {@link DotDecoder} (bare
 * line endings, NUL, long lines), so a message refused over DATA is refused over BDAT too; the
 * inverse of {@link CrlfNormalizer} when `normalizeLineEndings` is set. `decode` returns the
 * bytes to deliver (with `end` always -1); {@link BdatDecoder.finish} ends the body.
 */
export class BdatDecoder extends BodyDecoder {
  constructor(options: BodyDecoderOptions = {}) {
    super(false, options)
  }

  /** Reads the next bytes of the body. Throws after {@link BdatDecoder.finish}. */
  decode(chunk: Uint8Array): DecodeResult {
    return this.decodeChunk(chunk, 'BdatDecoder')
  }

  /**
   * The end of the body (after `BDAT ... LAST`): a CR as its last byte is a bare one. Returns the
   * bytes that finish the body: with `normalizeLineEndings`, the LF of a final bare CR or the
   * CRLF of a last line that had none (as {@link CrlfNormalizer.end}); otherwise nothing.
   */
  finish(): Buffer {
    return this.finishBody('BdatDecoder')
  }
}
