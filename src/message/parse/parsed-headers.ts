import { isAscii } from 'node:buffer'
import { decodeHeaderBytes } from './charset.ts'
import { decodeWords } from './decode-words.ts'

/** One header field as it arrived. */
export interface HeaderField {
  /** The name as written (`Subject`, `X-Mailer`). */
  readonly name: string
  /** The value unfolded (RFC 5322 §2.2.3), trimmed, with RFC 2047 encoded-words decoded. */
  readonly value: string
  /** The whole field as written, folded, without the final line break (bytes read as UTF-8, else windows-1252). */
  readonly raw: string
}

/**
 * The header fields of a message or MIME part, in order, repeated fields kept. Names are looked
 * up case-insensitively; `get` gives the decoded value of the first field of a name, `getAll`
 * every one of them, and iterating gives each field with its raw text.
 */
export class ParsedHeaders implements Iterable<HeaderField> {
  readonly #fields: readonly HeaderField[]
  #byName: Map<string, HeaderField[]> | undefined

  constructor(fields: readonly HeaderField[]) {
    this.#fields = fields
  }

  /** How many fields there are. */
  get size(): number {
    return this.#fields.length
  }

  /** Whether a field of this name is present. */
  has(name: string): boolean {
    return this.#index().has(name.toLowerCase())
  }

  /** The decoded value of the first field named `name`, or undefined. */
  get(name: string): string | undefined {
    return this.#index().get(name.toLowerCase())?.[0]?.value
  }

  /** The decoded values of every field named `name`, top to bottom. */
  getAll(name: string): string[] {
    return (this.#index().get(name.toLowerCase()) ?? []).map((field) => field.value)
  }

  /** The fields named `name` with their raw text, top to bottom. */
  getFields(name: string): readonly HeaderField[] {
    return this.#index().get(name.toLowerCase()) ?? []
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.#fields[Symbol.iterator]()
  }

  #index(): Map<string, HeaderField[]> {
    if (this.#byName === undefined) {
      this.#byName = new Map()
      for (const field of this.#fields) {
        const key = field.name.toLowerCase()
        const list = this.#byName.get(key)
        if (list) list.push(field)
        else this.#byName.set(key, [field])
      }
    }
    return this.#byName
  }
}

const CR = 0x0d
const LF = 0x0a
// A line break as the header block may have it: CRLF, LF or CR (RFC 5322 §2.2, and what real mail sends).
const LINE_BREAK = /\r\n|\r|\n/

/**
 * Splits a header block (every line with its line break, CRLF, LF or CR) into fields. A line
 * that starts with a space or tab continues the field before it; a continuation before any field
 * is dropped. The raw text keeps the folding, with each line break written as CRLF. `onDefect`
 * hears of encoded-words in a charset Node does not know (decoded by a fallback).
 */
export function parseHeaderBlock(block: Uint8Array, onDefect?: (text: string) => void): ParsedHeaders {
  const fields: HeaderField[] = []
  const lines = headerLines(block)
  // The empty "line" after the block's last line break holds nothing.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  // The lines of the field being read: from `first` to before `next`.
  let first = 0
  for (let next = 1; next <= lines.length; next++) {
    if (next < lines.length && isContinuation(lines[next]!)) continue
    const field = readField(lines, first, next, onDefect)
    if (field !== undefined) fields.push(field)
    first = next
  }
  return new ParsedHeaders(fields)
}

// The block's lines, each decoded as decodeHeaderBytes says. An all-ASCII block, as nearly every
// header is, is read as one string and split.
function headerLines(block: Uint8Array): string[] {
  if (isAscii(block)) return Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('latin1').split(LINE_BREAK)
  // Line by line: one line may be UTF-8 and the next windows-1252.
  const lines: string[] = []
  let start = 0
  const length = block.length
  while (start <= length) {
    let end = start
    while (end < length && block[end] !== CR && block[end] !== LF) end++
    lines.push(decodeHeaderBytes(block.subarray(start, end)))
    start = end + (block[end] === CR && block[end + 1] === LF ? 2 : 1)
  }
  return lines
}

// A line that starts with a space or tab continues the field before it (RFC 5322 §2.2.3).
function isContinuation(line: string): boolean {
  return line.length > 0 && (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09)
}

// The field written on lines[first] to lines[next - 1] (a field line and its continuation
// lines); undefined for a line that is not a field (an empty line, a continuation with no field
// before it, no colon).
function readField(lines: readonly string[], first: number, next: number, onDefect: ((text: string) => void) | undefined): HeaderField | undefined {
  const line = lines[first]!
  // A continuation line with no field before it (only the first line can be one) is dropped.
  if (isContinuation(line)) return undefined
  const raw = next - first === 1 ? line : lines.slice(first, next).join('\r\n')
  const colon = raw.indexOf(':')
  if (colon <= 0) return undefined
  const name = raw.slice(0, colon).trimEnd()
  // Unfolding removes the line breaks (RFC 5322 §2.2.3).
  const unfolded = (next - first === 1 ? raw.slice(colon + 1) : raw.slice(colon + 1).replaceAll('\r\n', '')).trim()
  const value = unfolded.includes('=?') ? decodeWords(unfolded, onDefect && ((why) => onDefect(`${name}: ${why}`))) : unfolded
  return { name, value, raw }
}
