/** One header field of a message, as bytes. */
export interface HeaderField {
  /** The field name as written, without surrounding WSP (`Subject`). */
  readonly name: string
  /** The name lower-cased, for matching (`subject`). */
  readonly key: string
  /** The whole field, continuation lines included, ending in CRLF. */
  readonly raw: Buffer
  /** Offset in `raw` of the colon that ends the name. */
  readonly colon: number
}

/** Default cap on a message's header block, as bytes (1 MiB). */
export const DEFAULT_MAX_HEADER_BYTES = 1024 * 1024

const CR = 0x0d
const LF = 0x0a

// Where the splitter is in the header block: inside a line, after a CR inside a line, at the
// start of a line, or after a CR at the start of a line (which a LF makes the empty line).
const IN_LINE = 0
const IN_LINE_CR = 1
const LINE_START = 2
const LINE_START_CR = 3

/**
 * Finds the end of a message's header block in a stream of chunks split anywhere: the first
 * empty line (RFC 5322 §2.1). Keeps only the header bytes, at most `maxHeaderBytes`.
 *
 * Feed chunks to `push()` until it returns the body part of a chunk; from then on every later
 * chunk is body. If the message ends first, `end()` treats everything as header.
 */
export class HeaderBlockSplitter {
  readonly #maxHeaderBytes: number
  readonly #parts: Uint8Array[] = []
  #size = 0
  #state = LINE_START
  #block: Buffer | undefined

  constructor(maxHeaderBytes: number = DEFAULT_MAX_HEADER_BYTES) {
    this.#maxHeaderBytes = maxHeaderBytes
  }

  /** The header block, without the empty line, once found; undefined until then. */
  get block(): Buffer | undefined {
    return this.#block
  }

  /**
   * Takes the next chunk. Returns undefined while the chunk is all header, or the part of the
   * chunk after the empty line (maybe empty) once the header block ends in it.
   * Throws a RangeError when the header block grows past `maxHeaderBytes`.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (this.#block) throw new Error('HeaderBlockSplitter: header block already complete')
    let state = this.#state
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte === CR) {
        state = state === LINE_START ? LINE_START_CR : IN_LINE_CR
      } else if (byte === LF) {
        if (state === LINE_START_CR) {
          this.#take(chunk.subarray(0, i + 1))
          const all = Buffer.concat(this.#parts, this.#size)
          this.#parts.length = 0
          this.#block = all.subarray(0, all.length - 2)
          return chunk.subarray(i + 1)
        }
        state = state === IN_LINE_CR ? LINE_START : IN_LINE
      } else {
        state = IN_LINE
      }
    }
    this.#state = state
    this.#take(chunk)
    return undefined
  }

  /** Ends a message that had no empty line: all of it is header block and the body is empty. */
  end(): Buffer {
    if (!this.#block) {
      this.#block = Buffer.concat(this.#parts, this.#size)
      this.#parts.length = 0
    }
    return this.#block
  }

  #take(bytes: Uint8Array): void {
    this.#size += bytes.length
    if (this.#size > this.#maxHeaderBytes) {
      throw new RangeError(
        `message header block is larger than ${this.#maxHeaderBytes} bytes (maxHeaderBytes); ` +
          'the header must end with an empty line (CRLF CRLF)',
      )
    }
    if (bytes.length > 0) this.#parts.push(Uint8Array.prototype.slice.call(bytes))
  }
}

/** What `parseHeaderFields` found: the fields, and a description of the first malformed line. */
export interface ParsedHeaderBlock {
  readonly fields: HeaderField[]
  readonly problem: string | undefined
}

function isWsp(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09
}

/**
 * Splits a header block into fields (RFC 5322 §2.2): a field starts at a line that does not begin
 * with WSP and runs over its continuation lines. Lines are ended by CRLF only; a last line without
 * CRLF gets one, as SMTP transport would add it. A line that is neither a continuation nor
 * `name:` (name of printable ASCII, WSP allowed before the colon as in RFC 5322 §4.5) is
 * skipped and reported in `problem`.
 */
export function parseHeaderFields(block: Uint8Array): ParsedHeaderBlock {
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.length)
  const fields: HeaderField[] = []
  let problem: string | undefined
  let start = 0
  let lineNumber = 0
  while (start < bytes.length) {
    let end = start
    // A field ends at a CRLF that is not followed by WSP (RFC 5322 §2.2.3 unfolding).
    for (;;) {
      const crlf = bytes.indexOf('\r\n', end)
      if (crlf === -1) {
        end = bytes.length
        break
      }
      end = crlf + 2
      lineNumber++
      if (!isWsp(bytes[end])) break
    }
    const raw = end === bytes.length && !(bytes[end - 2] === CR && bytes[end - 1] === LF)
      ? Buffer.concat([bytes.subarray(start, end), Buffer.from('\r\n')])
      : bytes.subarray(start, end)
    const field = toField(raw)
    if (field) fields.push(field)
    else problem ??= `header line ${lineNumber || 1} is not a "name: value" field: ${JSON.stringify(raw.subarray(0, 60).toString('latin1'))}`
    start = end
  }
  return { fields, problem }
}

function toField(raw: Buffer): HeaderField | undefined {
  const colon = raw.indexOf(0x3a)
  if (colon <= 0) return undefined
  let nameEnd = colon
  while (nameEnd > 0 && isWsp(raw[nameEnd - 1])) nameEnd--
  if (nameEnd === 0) return undefined
  for (let i = 0; i < nameEnd; i++) {
    const byte = raw[i]!
    if (byte < 0x21 || byte > 0x7e) return undefined
  }
  const name = raw.toString('latin1', 0, nameEnd)
  return { name, key: name.toLowerCase(), raw, colon }
}

/**
 * Picks the fields that `names` sign, as RFC 6376 §5.4.2 says: for each name in order, the last
 * instance not yet used, from the bottom up; a name with no instance left picks nothing (so
 * listing it once more than present forbids adding one). Names match case-insensitively.
 */
export function selectSignedFields(fields: readonly HeaderField[], names: readonly string[]): HeaderField[] {
  const byKey = new Map<string, HeaderField[]>()
  for (const field of fields) {
    const list = byKey.get(field.key)
    if (list) list.push(field)
    else byKey.set(field.key, [field])
  }
  const selected: HeaderField[] = []
  for (const name of names) {
    const field = byKey.get(name.toLowerCase())?.pop()
    if (field) selected.push(field)
  }
  return selected
}

/**
 * True when `name` is a valid header field name (RFC 5322 §3.6.8 ftext: printable ASCII other
 * than colon).
 */
export function isFieldName(name: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+$/.test(name)
}
