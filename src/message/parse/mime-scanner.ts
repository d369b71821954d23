import type { Entity } from './entity.ts'
import { parseStructuredValue } from './parameters.ts'
import { parseHeaderBlock } from './parsed-headers.ts'

/** What the scanner tells its receiver, in order. */
export interface ScanSink {
  /** Whether to keep the raw bytes of `entity` (asked as it begins, before its header is read). */
  keepsRaw(entity: Entity): boolean
  /** The header of `entity` has been read and its kind decided. */
  start(entity: Entity): void
  /** Body bytes of a leaf, still transfer-encoded. */
  data(entity: Entity, bytes: Buffer): void
  /** `entity` and everything in it has ended. */
  end(entity: Entity): void
  /** Something was wrong with the input and was read as well as it could be. */
  defect(entity: Entity, text: string): void
}

/** Bounds on what the scanner reads; see ParseMessageOptions for their meaning. */
export interface ScanLimits {
  readonly maxDepth: number
  readonly maxParts: number
  readonly maxHeaderBytes: number
  readonly maxLineBytes: number
}

const CR = 0x0d
const LF = 0x0a
const DASH = 0x2d
const DASHES = Buffer.from('--')
const EMPTY = Buffer.alloc(0)
const NO_PARAMETERS: ReadonlyMap<string, string> = new Map()
// Transport padding allowed after a boundary (RFC 2046 §5.1.1) before we stop waiting for the line end.
const MAX_PADDING = 1000
// RFC 2046 §5.1.1 allows 70 characters; longer ones occur, far longer ones are not boundaries.
const MAX_BOUNDARY = 998
const IDENTITY_ENCODINGS = new Set(['', '7bit', '8bit', 'binary'])
// How much of a chunk is joined to what the chunk before left unread.
const JOIN_BYTES = 4096

type DelimiterMatch = { readonly owner: Entity; readonly isClose: boolean; readonly end: number } | 'no' | 'more'

/**
 * Reads a MIME message (RFC 2045, RFC 2046 §5.1, RFC 5322) pushed chunk by chunk and tells a
 * ScanSink about each entity: header, body bytes, end. Synchronous and streaming: bodies pass
 * through as subarrays of the input, and what is held back between chunks is bounded (a header
 * line, or the start of a possible boundary line).
 *
 * Line ends may be CRLF, LF or CR, even mixed. A boundary line is `--boundary`, optionally `--`,
 * optional spaces or tabs, then the line end; the line break before it belongs to it
 * (RFC 2046 §5.1.1). A boundary of an enclosing multipart also ends the parts inside it. A
 * missing close-delimiter, a boundary never seen, a header with no body, a part with no blank
 * line after its header: all are read, with a defect where the input was wrong.
 */
export class MimeScanner {
  readonly #sink: ScanSink
  readonly #limits: ScanLimits
  #pending: Buffer = EMPTY
  readonly #stack: Entity[] = []
  #mode: 'header' | 'body' = 'header'
  // In header mode: the header lines read so far, and whether the current line is being skipped.
  #header: Buffer[] = []
  #headerBytes = 0
  #isSkippingLine = false
  // In body mode: true while nothing of the body has been consumed, so a boundary needs no line break before it.
  #isAtBodyStart = false
  #entityCount = 0
  // How many entities on the stack keep their raw bytes.
  #rawKeepers = 0
  #isEnded = false
  #hasSkippedParts = false
  /** Set when a limit made the scanner skip content. */
  isTruncated = false

  constructor(sink: ScanSink, limits: ScanLimits) {
    this.#sink = sink
    this.#limits = limits
    this.#open(undefined, 0)
  }

  /** Reads the next chunk of the message. */
  push(chunk: Uint8Array): void {
    if (this.#isEnded) throw new Error('MimeScanner: push after end')
    if (chunk.length === 0) return
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.#pending.length === 0) {
      this.#pending = bytes
      this.#run(false)
      return
    }
    // What the last chunk left (a line break, the start of what may be a boundary line, part of
    // a header line) is joined with the start of this chunk only, so that a large chunk is not
    // copied whole; most of the time that settles it, and the rest is read where it is.
    const head = Math.min(bytes.length, JOIN_BYTES)
    this.#pending = Buffer.concat([this.#pending, bytes.subarray(0, head)])
    this.#run(false)
    if (head === bytes.length) return
    const left = this.#pending.length
    this.#pending = left <= head ? bytes.subarray(head - left) : Buffer.concat([this.#pending, bytes.subarray(head)])
    this.#run(false)
  }

  /** Reads what is left and ends every open entity. */
  end(): void {
    if (this.#isEnded) return
    this.#run(true)
    this.#isEnded = true
    if (this.#mode === 'header') this.#finishHeader()
    while (this.#stack.length > 0) {
      const entity = this.#stack[this.#stack.length - 1]!
      if (entity.kind === 'multipart' && !entity.isClosed) this.#sink.defect(entity, 'multipart ends without its close-delimiter')
      this.#close()
    }
  }

  #top(): Entity {
    return this.#stack[this.#stack.length - 1]!
  }

  #open(parent: Entity | undefined, index: number): void {
    this.#entityCount++
    const entity: Entity = {
      parent,
      depth: parent === undefined ? 0 : parent.depth + 1,
      index,
      headers: undefined,
      contentType: 'text/plain',
      parameters: NO_PARAMETERS,
      kind: 'leaf',
      boundary: undefined,
      isClosed: false,
      childCount: 0,
      isHeaderTruncated: false,
      raw: undefined,
      slot: undefined,
    }
    if (this.#sink.keepsRaw(entity)) {
      entity.raw = []
      this.#rawKeepers++
    }
    this.#stack.push(entity)
    this.#mode = 'header'
    this.#header = []
    this.#headerBytes = 0
    this.#isSkippingLine = false
  }

  #close(): void {
    const entity = this.#stack.pop()!
    if (entity.raw !== undefined) this.#rawKeepers--
    this.#sink.end(entity)
  }

  // Bytes consumed while `entity`s are open belong to the raw form of each of them that keeps it.
  #keepRaw(buf: Buffer, from: number, to: number): void {
    if (this.#rawKeepers === 0 || from === to) return
    const bytes = buf.subarray(from, to)
    for (const entity of this.#stack) entity.raw?.push(bytes)
  }

  #run(isEnd: boolean): void {
    let pos = 0
    for (;;) {
      const next = this.#mode === 'header' ? this.#readHeader(pos, isEnd) : this.#readBody(pos, isEnd)
      if (next < 0) {
        pos = -next - 1
        break
      }
      pos = next
    }
    this.#pending = pos >= this.#pending.length ? EMPTY : this.#pending.subarray(pos)
  }

  // Each reader returns the new position to go on from (mode may have changed), or -(pos + 1)
  // when it needs more input.

  #readHeader(pos: number, isEnd: boolean): number {
    const buf = this.#pending
    const entity = this.#top()
    // The field lines read in this call, kept as one slice [kept, keptEnd) of `buf`: the whole
    // header block when it arrived in one chunk.
    let kept = -1
    let keptEnd = -1
    const keep = (): void => {
      if (kept >= 0) this.#header.push(buf.subarray(kept, keptEnd))
      kept = -1
    }
    while (pos < buf.length || isEnd) {
      let end = pos
      while (end < buf.length && buf[end] !== CR && buf[end] !== LF) end++
      if (end === buf.length && !isEnd) {
        keep()
        // No line end yet: wait, unless the line is already too long to keep.
        if (end - pos > this.#limits.maxLineBytes) {
          this.#truncateHeader(entity, 'a header line is longer than maxLineBytes')
          this.#keepRaw(buf, pos, end)
          this.#isSkippingLine = true
          return -(end + 1)
        }
        return -(pos + 1)
      }
      if (buf[end] === CR && end + 1 === buf.length && !isEnd) {
        keep()
        return -(pos + 1)
      }
      const lineEnd = end === buf.length ? end : buf[end] === CR && buf[end + 1] === LF ? end + 2 : end + 1
      if (this.#isSkippingLine) {
        this.#isSkippingLine = false
        this.#keepRaw(buf, pos, lineEnd)
        pos = lineEnd
        continue
      }
      if (end === pos) {
        // The empty line ends the header block (RFC 5322 §2.1); at the end of input, there is no body.
        keep()
        this.#keepRaw(buf, pos, lineEnd)
        this.#finishHeader()
        return lineEnd
      }
      // Every field line kept has at least one byte.
      const hasField = this.#headerBytes > 0
      if (!isFieldLine(buf, pos, end, hasField)) {
        keep()
        // An mbox "From " line before the message is not part of it.
        if (entity.parent === undefined && !hasField && buf.toString('latin1', pos, Math.min(end, pos + 5)) === 'From ') {
          this.#keepRaw(buf, pos, lineEnd)
          pos = lineEnd
          continue
        }
        if (!(buf[pos] === DASH && buf[pos + 1] === DASH && typeof this.#matchDelimiter(buf, pos, true) === 'object')) {
          this.#sink.defect(entity, 'header block does not end with an empty line; the body starts at the first line that is not a field')
        }
        this.#finishHeader()
        return pos
      }
      if (this.#headerBytes + (lineEnd - pos) > this.#limits.maxHeaderBytes) {
        this.#truncateHeader(entity, 'header block is larger than maxHeaderBytes')
      } else if (end - pos > this.#limits.maxLineBytes) {
        this.#truncateHeader(entity, 'a header line is longer than maxLineBytes')
      } else if (!entity.isHeaderTruncated) {
        if (kept < 0 || keptEnd !== pos) {
          keep()
          kept = pos
        }
        keptEnd = lineEnd
        this.#headerBytes += lineEnd - pos
      }
      this.#keepRaw(buf, pos, lineEnd)
      pos = lineEnd
      if (pos >= buf.length && isEnd) break
    }
    keep()
    if (isEnd) {
      this.#finishHeader()
      return pos
    }
    return -(pos + 1)
  }

  #truncateHeader(entity: Entity, why: string): void {
    if (entity.isHeaderTruncated) return
    entity.isHeaderTruncated = true
    this.isTruncated = true
    this.#sink.defect(entity, `${why}; the fields after it were dropped`)
  }

  #finishHeader(): void {
    const entity = this.#top()
    const defect = (text: string): void => this.#sink.defect(entity, text)
    const headers = parseHeaderBlock(this.#header.length === 1 ? this.#header[0]! : Buffer.concat(this.#header), defect)
    this.#header = []
    entity.headers = headers
    const contentType = headers.get('content-type')
    const parsed = contentType === undefined ? undefined : parseStructuredValue(contentType, defect)
    if (parsed !== undefined && /^[^/\s]+\/[^/\s]+$/.test(parsed.value)) {
      entity.contentType = parsed.value
      entity.parameters = parsed.parameters
    } else {
      if (parsed !== undefined) this.#sink.defect(entity, `invalid Content-Type ${JSON.stringify(contentType)}; read as the default`)
      entity.contentType = entity.parent?.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain'
      if (parsed !== undefined) entity.parameters = parsed.parameters
    }
    const encoding = (headers.get('content-transfer-encoding') ?? '').trim().toLowerCase()
    if (entity.contentType.startsWith('multipart/')) {
      const boundary = entity.parameters.get('boundary')
      if (boundary === undefined || boundary === '' || boundary.length > MAX_BOUNDARY) {
        this.#sink.defect(entity, `${entity.contentType} without a usable boundary; read as a single part`)
      } else if (entity.depth >= this.#limits.maxDepth) {
        this.isTruncated = true
        this.#sink.defect(entity, `parts nested deeper than maxDepth (${this.#limits.maxDepth}) are not read`)
      } else {
        entity.kind = 'multipart'
        entity.boundary = Buffer.from(boundary, 'utf8')
      }
    } else if ((entity.contentType === 'message/rfc822' || entity.contentType === 'message/global') && IDENTITY_ENCODINGS.has(encoding)) {
      if (entity.depth >= this.#limits.maxDepth) {
        this.isTruncated = true
        this.#sink.defect(entity, `messages nested deeper than maxDepth (${this.#limits.maxDepth}) are not read`)
      } else if (this.#entityCount >= this.#limits.maxParts) {
        this.#skipParts(entity)
      } else {
        entity.kind = 'message'
      }
    }
    this.#sink.start(entity)
    if (entity.kind === 'message') {
      this.#open(entity, 0)
      return
    }
    this.#mode = 'body'
    this.#isAtBodyStart = true
  }

  #skipParts(entity: Entity): void {
    if (!this.#hasSkippedParts) this.#sink.defect(entity, `more than maxParts (${this.#limits.maxParts}) parts; the rest are not read`)
    this.#hasSkippedParts = true
    this.isTruncated = true
  }

  #readBody(pos: number, isEnd: boolean): number {
    const buf = this.#pending
    let from = pos
    for (;;) {
      const at = buf.indexOf(DASHES, from)
      if (at === -1) break
      let lineBreak: number
      if (at === pos && this.#isAtBodyStart) lineBreak = at
      else if (at > pos && (buf[at - 1] === LF || buf[at - 1] === CR)) lineBreak = buf[at - 1] === LF && at - 2 >= pos && buf[at - 2] === CR ? at - 2 : at - 1
      else {
        from = at + 1
        continue
      }
      const match = this.#matchDelimiter(buf, at, isEnd)
      if (match === 'no') {
        from = at + 1
        continue
      }
      if (match === 'more') {
        this.#emit(buf, pos, lineBreak)
        return -(lineBreak + 1)
      }
      this.#emit(buf, pos, lineBreak)
      this.#delimiter(match.owner, match.isClose, buf, lineBreak, match.end)
      return match.end
    }
    if (isEnd) {
      this.#emit(buf, pos, buf.length)
      return -(buf.length + 1)
    }
    // Hold back a final line break (and a lone "-" after it): a boundary line may follow.
    let safe = buf.length
    let tailStart = buf.length
    if (buf[safe - 1] === DASH) tailStart = safe - 1
    const before = tailStart - 1
    if (tailStart === pos && this.#isAtBodyStart) {
      safe = pos
    } else if (before >= pos && buf[before] === LF) {
      safe = before - 1 >= pos && buf[before - 1] === CR ? before - 1 : before
    } else if (before >= pos && buf[before] === CR) {
      safe = before
    }
    this.#emit(buf, pos, safe)
    return -(safe + 1)
  }

  // Body bytes of the innermost open entity: data for a leaf, preamble or epilogue for a multipart.
  #emit(buf: Buffer, from: number, to: number): void {
    if (from === to) return
    this.#isAtBodyStart = false
    this.#keepRaw(buf, from, to)
    const entity = this.#top()
    if (entity.kind === 'leaf') this.#sink.data(entity, buf.subarray(from, to))
  }

  // Is there a delimiter line at `at` (which starts with "--") for a multipart still open?
  #matchDelimiter(buf: Buffer, at: number, isEnd: boolean): DelimiterMatch {
    let result: DelimiterMatch = 'no'
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const owner = this.#stack[i]!
      const boundary = owner.boundary
      if (owner.kind !== 'multipart' || owner.isClosed || boundary === undefined) continue
      const boundaryEnd = at + 2 + boundary.length
      if (buf.length < boundaryEnd) {
        if (!isEnd && buf.compare(boundary, 0, buf.length - at - 2, at + 2) === 0) result = 'more'
        continue
      }
      if (buf.compare(boundary, 0, boundary.length, at + 2, boundaryEnd) !== 0) continue
      let p = boundaryEnd
      let isClose = false
      if (buf[p] === DASH) {
        if (p + 1 >= buf.length && !isEnd) return 'more'
        if (buf[p + 1] === DASH) {
          isClose = true
          p += 2
        }
      }
      while (p < buf.length && (buf[p] === 0x20 || buf[p] === 0x09) && p - boundaryEnd < MAX_PADDING) p++
      if (p === buf.length) {
        if (isEnd) return { owner, isClose, end: p }
        return 'more'
      }
      if (buf[p] === LF) return { owner, isClose, end: p + 1 }
      if (buf[p] === CR) {
        if (p + 1 === buf.length && !isEnd) return 'more'
        return { owner, isClose, end: buf[p + 1] === LF ? p + 2 : p + 1 }
      }
    }
    return result
  }

  // The delimiter line is buf[from, to), with the line break before it.
  #delimiter(owner: Entity, isClose: boolean, buf: Buffer, from: number, to: number): void {
    while (this.#top() !== owner) {
      const inner = this.#top()
      if (inner.kind === 'multipart' && !inner.isClosed) this.#sink.defect(inner, 'multipart ends without its close-delimiter')
      this.#close()
    }
    this.#keepRaw(buf, from, to)
    // The line break that ended the delimiter line also starts the next line: a boundary of an
    // enclosing multipart may follow at once.
    const endsLine = buf[to - 1] === LF || buf[to - 1] === CR
    if (isClose) {
      owner.isClosed = true
      this.#mode = 'body'
      this.#isAtBodyStart = endsLine
      return
    }
    if (this.#entityCount >= this.#limits.maxParts) {
      this.#skipParts(owner)
      this.#mode = 'body'
      this.#isAtBodyStart = endsLine
      return
    }
    this.#open(owner, owner.childCount++)
  }
}

// A header field line (buf[start, end), not empty): a name of printable ASCII but ":"
// (RFC 5322 §3.6.8), optional spaces (obsolete syntax, RFC 5322 §4.5), then ":"; or a
// continuation line when a field came before.
function isFieldLine(buf: Buffer, start: number, end: number, hasField: boolean): boolean {
  const first = buf[start]!
  if (first === 0x20 || first === 0x09) return hasField
  let i = start
  while (i < end && buf[i]! > 0x20 && buf[i]! < 0x7f && buf[i] !== 0x3a) i++
  if (i === start) return false
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++
  return i < end && buf[i] === 0x3a
}
