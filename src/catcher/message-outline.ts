import { parseStructuredValue } from '../message/parse/parameters.ts'

/** The index's view of a message from one pass over its bytes: no body is decoded. */
export interface MessageOutline {
  /** The top-level header block (up to {@link MAX_HEAD_BYTES}), without the blank line after it. */
  readonly head: Buffer
  /** Attachments offered as files: what the list marks (see {@link isFileAttachment}). */
  readonly attachments: number
  /** False when the scan stopped early (a part header too large to read); `attachments` is then a lower bound. */
  readonly isComplete: boolean
}

/** A header block larger than this (the top one or a part's) is cut: the index needs only a few fields. */
export const MAX_HEAD_BYTES = 64 * 1024

// A body line longer than this cannot be a boundary line (RFC 2046 §5.1.1: at most 70 characters,
// with "--" on each side and some trailing white space).
const MAX_BOUNDARY_LINE = 1024
const LF = 0x0a
const CR = 0x0d
const DASH = 0x2d

interface Multipart {
  /** `--` and the boundary. */
  readonly delimiter: Buffer
  /** multipart/digest: a part without Content-Type is message/rfc822 (RFC 2046 §5.1.5). */
  readonly isDigest: boolean
}

/**
 * Reads the MIME structure of a message as its bytes go by, for the list's attachment mark: the
 * header of each part is read, the bodies are only searched for their boundary lines (RFC 2046
 * §5.1.1) with `indexOf`, and nothing is decoded or kept but the top-level header. An attached
 * message (message/rfc822) counts as one attachment and is not looked into, as in parseMessage.
 */
export class OutlineScanner {
  #state: 'header' | 'body' | 'done' = 'header'
  #header: Buffer[] = []
  #headerBytes = 0
  #head: Buffer | undefined
  readonly #open: Multipart[] = []
  // The multipart whose part header is being read; undefined for the top-level header.
  #parent: Multipart | undefined
  // An unfinished line from the previous chunk that may still matter.
  #carry: Buffer | undefined
  #atLineStart = true
  #attachments = 0
  #isComplete = true

  /** Feeds the next bytes of the message. */
  write(chunk: Uint8Array): void {
    if (this.#state === 'done') return
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
    if (this.#carry !== undefined) {
      data = Buffer.concat([this.#carry, data])
      this.#carry = undefined
    }
    let pos = 0
    while (pos < data.length && !this.isDone) pos = this.#state === 'header' ? this.#readHeader(data, pos) : this.#skipBody(data, pos)
  }

  /** True once nothing more can be learnt: the rest of the message need not be read. */
  get isDone(): boolean {
    return this.#state === 'done'
  }

  /** Ends the message and gives what was learnt. */
  end(): MessageOutline {
    if (this.#state === 'header') {
      // A header block that ends the message without a blank line.
      if (this.#carry !== undefined) this.#header.push(this.#carry)
      this.#headerBytes += this.#carry?.length ?? 0
      this.#carry = undefined
      this.#endHeader()
    }
    this.#state = 'done'
    return { head: this.#head ?? Buffer.alloc(0), attachments: this.#attachments, isComplete: this.#isComplete }
  }

  // Reads header lines from `pos`; returns where it stopped.
  #readHeader(data: Buffer, pos: number): number {
    const nl = data.indexOf(LF, pos)
    const line = data.subarray(pos, nl === -1 ? data.length : nl + 1)
    if (nl === -1) {
      if (this.#headerBytes + line.length > MAX_HEAD_BYTES) return this.#giveUp()
      this.#carry = Buffer.from(line)
      return data.length
    }
    if (line.length === 1 || (line.length === 2 && line[0] === CR)) {
      this.#endHeader()
      return nl + 1
    }
    if (this.#headerBytes + line.length > MAX_HEAD_BYTES) return this.#giveUp()
    this.#header.push(line)
    this.#headerBytes += line.length
    return nl + 1
  }

  // A header this large is hostile or broken: stop learning, keep what was read.
  #giveUp(): number {
    this.#head ??= Buffer.concat(this.#header, this.#headerBytes)
    this.#header = []
    this.#isComplete = false
    this.#state = 'done'
    return Number.MAX_SAFE_INTEGER
  }

  #endHeader(): void {
    const block = Buffer.concat(this.#header, this.#headerBytes)
    this.#header = []
    this.#headerBytes = 0
    const parent = this.#parent
    if (this.#head === undefined) this.#head = block
    const fields = readPartFields(block)
    const type = fields.contentType === undefined ? undefined : parseStructuredValue(fields.contentType)
    const contentType = type?.value || (parent?.isDigest ? 'message/rfc822' : 'text/plain')
    const boundary = contentType.startsWith('multipart/') ? type?.parameters.get('boundary') : undefined
    if (boundary) {
      this.#open.push({ delimiter: Buffer.from(`--${boundary}`, 'latin1'), isDigest: contentType === 'multipart/digest' })
    } else if (isFileAttachment(contentType, fields.disposition, fields.contentId)) {
      this.#attachments++
    }
    // A single-part message has nothing more to show.
    this.#state = this.#open.length === 0 ? 'done' : 'body'
  }

  // Skips body bytes from `pos` up to the next boundary line of an open multipart.
  #skipBody(data: Buffer, pos: number): number {
    // A line starting at `pos` itself is a candidate only if `pos` is known to start a line.
    let start = this.#atLineStart && data[pos] === DASH ? pos : -1
    let from = pos
    for (;;) {
      if (start === -1) {
        const found = data.indexOf('\n--', from)
        if (found === -1) {
          this.#keepTail(data, from)
          return data.length
        }
        start = found + 1
      }
      const nl = data.indexOf(LF, start)
      if (nl === -1) {
        // The candidate line goes on in the next chunk.
        this.#atLineStart = data.length - start < MAX_BOUNDARY_LINE
        if (this.#atLineStart) this.#carry = Buffer.from(data.subarray(start))
        return data.length
      }
      this.#atLineStart = true
      if (this.#atBoundary(data.subarray(start, nl))) return nl + 1
      from = nl
      start = -1
    }
  }

  // No candidate after `from`: keep a short last line that starts with "-" (it may be one).
  #keepTail(data: Buffer, from: number): void {
    const nl = data.lastIndexOf(LF)
    // No line break: the line under way did not start with "--" (or it was a candidate already).
    if (nl < from) return void (this.#atLineStart = false)
    const tail = nl + 1
    this.#atLineStart = tail === data.length || (data[tail] === DASH && data.length - tail < MAX_BOUNDARY_LINE)
    if (this.#atLineStart && tail < data.length) this.#carry = Buffer.from(data.subarray(tail))
  }

  // True when `line` (without its LF) is a delimiter or close delimiter of an open multipart.
  #atBoundary(line: Buffer): boolean {
    let end = line.length
    while (end > 0 && (line[end - 1] === CR || line[end - 1] === 0x20 || line[end - 1] === 0x09)) end--
    for (let k = this.#open.length - 1; k >= 0; k--) {
      const { delimiter } = this.#open[k]!
      if (end < delimiter.length || line.compare(delimiter, 0, delimiter.length, 0, delimiter.length) !== 0) continue
      if (end === delimiter.length) {
        // The next part of multipart k; any inner one left open ends here (RFC 2046 §5.1.2).
        this.#open.length = k + 1
        this.#parent = this.#open[k]
        this.#state = 'header'
        return true
      }
      if (end === delimiter.length + 2 && line[end - 1] === DASH && line[end - 2] === DASH) {
        this.#open.length = k
        if (k === 0) this.#state = 'done'
        return true
      }
    }
    return false
  }
}

/**
 * True for a part the page offers as a file, decided from its header as parseMessage's
 * `describePart` and the API's `Inline` rule do: text/plain and text/html are the message's text
 * unless their disposition is `attachment`; a part with a Content-ID and no `attachment`
 * disposition is shown inside the HTML (`cid:`), not as a file.
 */
export function isFileAttachment(contentType: string, disposition: string | undefined, contentId: string | undefined): boolean {
  const type = disposition === undefined ? undefined : parseStructuredValue(disposition).value
  const dispositionType = type === undefined ? undefined : type === 'inline' ? 'inline' : 'attachment'
  const isText = contentType === 'text/plain' || contentType === 'text/html'
  if (isText && dispositionType !== 'attachment') return false
  return !(contentId !== undefined && contentId.trim() !== '' && dispositionType !== 'attachment')
}

/** The three fields that shape a part, unfolded, from a raw header block. */
function readPartFields(block: Buffer): { contentType?: string; disposition?: string; contentId?: string } {
  const text = block.toString('latin1')
  const fields: { contentType?: string; disposition?: string; contentId?: string } = {}
  for (const match of text.matchAll(/^(content-type|content-disposition|content-id)[ \t]*:((?:[^\r\n]*(?:\r?\n[ \t])?)*)/gim)) {
    const name = match[1]!.toLowerCase()
    const value = match[2]!.replace(/\r?\n/g, '').trim()
    if (name === 'content-type') fields.contentType ??= value
    else if (name === 'content-disposition') fields.disposition ??= value
    else fields.contentId ??= value
  }
  return fields
}
